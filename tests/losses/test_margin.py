import jax
import numpy as np
import pytest

from el_jax import losses
from tests.losses import reference
from tests.losses.cases import inputs


def test_hem_margin_defaults():
  np.testing.assert_allclose(losses.hem_margin(50_000), 0.2)  # CIFAR-10 (HEM §4.2)
  np.testing.assert_allclose(losses.hem_margin(60_000, M=2000), np.sqrt(2000 / 60_000))
  counts = np.array([5000, 500, 50])
  np.testing.assert_allclose(losses.hem_plus_margins(counts), np.sqrt(2000 / (3 * counts)), rtol=1e-6)
  with pytest.raises(ValueError, match="positive"):
    losses.hem_plus_margins([10, 0])


def test_per_logit_margins_match_reference():
  z, y = inputs("softmax", scale=1.0)
  mu = losses.hem_plus_margins([400, 100, 50, 20, 10])
  np.testing.assert_allclose(losses.hem_loss(z, y, margin=mu), reference.hem_loss(z, y, mu), rtol=1e-5)
  np.testing.assert_allclose(
    losses.multiclass_margin_loss(z, y, margin=mu), reference.multiclass_margin_loss(z, y, mu), rtol=1e-5
  )


def test_hem_hand_example():
  # errors (label 0, margin 1): [0, max(0, 2-3+1)=0, 4-3+1=2, 3-3+1=1]; mean 0.75; kept {2, 1}: loss 1.5.
  z = np.array([[3.0, 2.0, 4.0, 3.0]], np.float32)
  np.testing.assert_allclose(losses.hem_loss(z, np.array([0]), margin=1.0), [1.5])
  np.testing.assert_allclose(losses.multiclass_margin_loss(z, np.array([0]), margin=1.0), [0.75])
  grad = jax.grad(lambda z: losses.hem_loss(z, np.array([0]), margin=1.0).sum())(z)
  np.testing.assert_allclose(grad, [[-1.0, 0.0, 0.5, 0.5]])  # the threshold is not differentiated
  grad = jax.grad(lambda z: losses.multiclass_margin_loss(z, np.array([0]), margin=1.0).sum())(z)
  np.testing.assert_allclose(grad, [[-0.5, 0.0, 0.25, 0.25]])


def test_well_separated_examples_have_zero_loss():
  z = np.array([[10.0, 0.0, 0.0]], np.float32)
  assert losses.hem_loss(z, np.array([0]), margin=0.2)[0] == 0.0


def test_hem_reduce_averages_above_zero_values():
  values = np.array([0.0, 2.0, 0.0, 4.0, 3.0])
  np.testing.assert_allclose(losses.hem_reduce(values), reference.hem_reduce(values))
  np.testing.assert_allclose(losses.hem_reduce(values, where=np.array([1, 1, 1, 0, 1], bool)), 2.5)
  assert losses.hem_reduce(np.zeros(4)) == 0.0
  grad = jax.grad(losses.hem_reduce)(values)
  np.testing.assert_allclose(grad, [0, 1 / 3, 0, 1 / 3, 1 / 3])  # the count is not differentiated


def test_bad_margin_shape():
  with pytest.raises(ValueError, match="margin"):
    losses.hem_loss(*inputs("softmax"), margin=np.ones(3))


@pytest.mark.parametrize("loss", [losses.hem_loss, losses.multiclass_margin_loss])
def test_negative_margins_raise(loss):
  z, y = inputs("softmax")
  with pytest.raises(ValueError, match=r"margin must be >= 0, got \[-0\.1\]"):
    loss(z, y, margin=-0.1)
  with pytest.raises(ValueError, match=r"margin must be >= 0, got \[-0\.5\] at index \[3\]"):
    loss(z, y, margin=np.array([0.2, 0.2, 0.2, -0.5, 0.2]))  # HEM+'s per-class margins
  with pytest.raises(ValueError, match=r"margin must be >= 0, got \[nan\]"):
    loss(z, y, margin=float("nan"))
  np.testing.assert_allclose(loss(z, y, margin=0.0), getattr(reference, loss.__name__)(z, y, 0.0), rtol=1e-5)


def test_hem_reduce_keeps_nan_unless_masked():
  values = np.array([0.0, 2.0, np.nan, 4.0])
  assert np.isnan(losses.hem_reduce(values))
  np.testing.assert_allclose(losses.hem_reduce(values, where=np.array([1, 1, 0, 1], bool)), 3.0)
