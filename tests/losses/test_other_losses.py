import jax
import numpy as np
import pytest

from el_jax import losses
from tests.losses import reference
from tests.losses.cases import inputs


@pytest.mark.parametrize("fn", [losses.squared_error, losses.absolute_error])
def test_softmax_mirror_bonus_is_4_over_k_times_one_minus_p(fn):
  # EL §4.5: with softmax and the mirror bonus, L = (4/K)(1 - p_y) - 1.
  z, y = inputs("softmax", shape=(16, 7))
  p_y = reference.softmax(z)[np.arange(16), y]
  np.testing.assert_allclose(fn(z, y, mirror_bonus=True), 4 / 7 * (1 - p_y) - 1, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("activation", ["softmax", "sigmoid"])
def test_errors_match_reference(activation):
  z, y = inputs("softmax")
  for bonus in (False, True):
    np.testing.assert_allclose(
      losses.squared_error(z, y, activation=activation, mirror_bonus=bonus),
      reference.squared_error(z, y, activation, bonus),
      rtol=1e-5,
      atol=1e-7,
    )


def test_logit_adjusted_with_uniform_counts_is_cross_entropy():
  z, y = inputs("softmax")
  np.testing.assert_allclose(losses.logit_adjusted_loss(z, y, class_counts=np.full(5, 7)), losses.cross_entropy(z, y))
  with pytest.raises(ValueError, match="class_counts"):
    losses.logit_adjusted_loss(z, y, class_counts=[1, 2, 3])


def test_logit_norm_is_scale_invariant():
  z, y = inputs("softmax")
  np.testing.assert_allclose(losses.logit_norm_loss(z, y), losses.logit_norm_loss(10 * z, y), rtol=1e-5)
  np.testing.assert_allclose(losses.logit_norm_loss(z, y, tau=0.1), reference.logit_norm_loss(z, y, 0.1), rtol=1e-5)


def test_dice_perfect_prediction_is_zero_and_gradient_matches_reference():
  y = np.array([0, 1, 2, 1])
  z = (reference.one_hot(y, 3) * 60).astype(np.float32)
  np.testing.assert_allclose(losses.dice_loss(z, y, smooth=0.0), 0.0, atol=1e-6)
  z, y = inputs("softmax")
  with jax.enable_x64(True):
    grad = jax.grad(lambda z: losses.dice_loss(z, y))(np.asarray(z, np.float64))
  h = 1e-6
  zz = z.astype(np.float64)
  bump = np.zeros_like(zz)
  bump[2, 3] = h
  numeric = (reference.dice_loss(zz + bump, y) - reference.dice_loss(zz - bump, y)) / (2 * h)
  np.testing.assert_allclose(grad[2, 3], numeric, rtol=1e-5)
