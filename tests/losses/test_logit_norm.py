"""el_jax/losses/_logit_norm.py: LogitNorm's scale invariance, its reference values, and -inf (masked-out) logits."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from el_jax import losses
from tests.losses import reference
from tests.losses.cases import inputs


def test_logit_norm_is_scale_invariant():
  z, y = inputs("softmax")
  np.testing.assert_allclose(losses.logit_norm_loss(z, y), losses.logit_norm_loss(10 * z, y), rtol=1e-5)
  np.testing.assert_allclose(losses.logit_norm_loss(z, y, tau=0.1), reference.logit_norm_loss(z, y, 0.1), rtol=1e-5)


def _with_minus_inf():
  """Logits [6, 6] with -inf classes (never the label): a few, most, all but the label, none."""
  z, y = inputs("softmax", shape=(6, 6), seed=4)
  masked = np.zeros(z.shape, bool)
  masked[0, [1, 4]] = True
  masked[1, :] = True  # all but the label
  masked[2, :4] = True
  masked[3, ::2] = True
  masked[4, 5] = True  # row 5: none
  masked[np.arange(6), y] = False
  return np.where(masked, -np.inf, z).astype(np.float32), y, masked


@pytest.mark.parametrize("tau", [0.01, 0.04, 0.5])  # 1 / tau beyond 32 shifts the exponents by the largest logit
def test_minus_inf_logits_are_left_out(tau):
  z, y, masked = _with_minus_inf()
  expected = reference.logit_norm_loss_without_masked(z, y, tau)
  value = losses.logit_norm_loss(z, y, tau=tau)
  np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-6)
  assert value[1] == 0.0  # only the label is left: p_y = 1

  grad = np.asarray(jax.jit(jax.grad(lambda z: losses.logit_norm_loss(z, y, tau=tau).sum()))(z))
  assert np.isfinite(grad).all()
  np.testing.assert_array_equal(grad[masked], 0.0)
  np.testing.assert_array_equal(grad[1], 0.0)
  # The gradient at the finite logits: central differences of the float64 reference.
  h = 1e-4 if tau == 0.5 else 1e-6 if tau == 0.04 else 1e-7
  numeric = np.zeros(z.shape)
  for n, k in zip(*np.nonzero(~masked), strict=True):
    bump = np.zeros(z.shape)
    bump[n, k] = h
    up = reference.logit_norm_loss_without_masked(z + bump, y, tau)
    down = reference.logit_norm_loss_without_masked(z - bump, y, tau)
    numeric[n, k] = (up[n] - down[n]) / (2 * h)
  np.testing.assert_allclose(grad, numeric, rtol=2e-3, atol=2e-4)


def test_minus_inf_logits_leave_the_other_rows_unchanged():
  z, y, _ = _with_minus_inf()
  finite_z, finite_y = inputs("softmax", shape=(4, 6), seed=9)
  both = losses.logit_norm_loss(np.concatenate([z, finite_z]), np.concatenate([y, finite_y]))
  np.testing.assert_allclose(both[6:], reference.logit_norm_loss(finite_z, finite_y), rtol=1e-5)


@pytest.mark.parametrize("tau", [0.01, 0.04])
def test_values_and_gradients_match_the_definition_for_confident_predictions(tau):
  # 1 - p_y from about 1e-7 to 0.9: the value is exact where p_y rounds to 1, and the gradient (written by hand)
  # matches central differences of the float64 reference, in float32 and float64.
  z, y = inputs("softmax", shape=(5, 7), scale=1.0, seed=6)
  z[np.arange(5), y] += np.array([0.0, 1.0, 2.0, 3.0, 6.0]) * tau / 0.04
  want = reference.logit_norm_loss(z, y, tau)
  assert want.min() < 1e-8 and want.max() > 1.0
  np.testing.assert_allclose(losses.logit_norm_loss(z, y, tau=tau), want, rtol=2e-5)
  weights = np.linspace(0.5, 1.5, 5)
  h, numeric = 1e-6, np.zeros(z.shape)
  for index in np.ndindex(*z.shape):
    bump = np.zeros(z.shape)
    bump[index] = h
    up, down = reference.logit_norm_loss(z + bump, y, tau), reference.logit_norm_loss(z - bump, y, tau)
    numeric[index] = weights @ (up - down) / (2 * h)
  objective = lambda z: jnp.sum(jnp.asarray(weights, z.dtype) * losses.logit_norm_loss(z, y, tau=tau))  # noqa: E731
  np.testing.assert_allclose(jax.grad(objective)(z), numeric, rtol=1e-3, atol=1e-5 * np.abs(numeric).max())
  with jax.enable_x64(True):
    grad64 = jax.grad(objective)(jnp.asarray(z, jnp.float64))
  np.testing.assert_allclose(grad64, numeric, rtol=1e-5, atol=1e-8 * np.abs(numeric).max())
