import jax
import numpy as np
import optax
import pytest

from el_jax import losses
from tests.losses import reference
from tests.losses.cases import inputs


def _two_class(p):
  """Logits [n, 2] with p_y = p for label 0."""
  p = np.asarray(p, np.float64)
  return np.stack([np.log(p / (1 - p)), np.zeros_like(p)], 1).astype(np.float32), np.zeros(len(p), int)


def test_focal_with_gamma_zero_is_cross_entropy():
  z, y = inputs("softmax")
  np.testing.assert_allclose(losses.focal_loss(z, y, gamma=0.0), losses.cross_entropy(z, y), rtol=1e-6)


def test_focal_class_weights():
  z, y = inputs("softmax")
  alpha = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
  np.testing.assert_allclose(losses.focal_loss(z, y, alpha=alpha), reference.focal_loss(z, y, 2.0, alpha), rtol=1e-5)
  np.testing.assert_allclose(losses.focal_loss(z, y, alpha=0.25), reference.focal_loss(z, y, 2.0, 0.25), rtol=1e-5)


@pytest.mark.parametrize("gamma,threshold", [(2.0, 0.5), (1.0, 0.3), (3.0, 0.8)])
def test_halted_focal_is_continuous_at_the_threshold(gamma, threshold):
  h = 1e-4
  z, y = _two_class([threshold - h, threshold, threshold + h])
  values = np.asarray(losses.halted_focal_loss(z, y, gamma=gamma, threshold=threshold))
  np.testing.assert_allclose(values[0], values[2], atol=1e-3)
  np.testing.assert_allclose(values[1], -((1 - threshold) ** gamma) * np.log(threshold), rtol=1e-5)


def test_halted_focal_has_the_cross_entropy_gradient_above_the_threshold():
  z, y = _two_class([0.6, 0.8, 0.95])
  grad = jax.grad(lambda z: losses.halted_focal_loss(z, y, threshold=0.5).sum())(z)
  np.testing.assert_allclose(grad, reference.softmax(z) - reference.one_hot(y, 2), atol=1e-6)
  # and the focal gradient below it
  z, y = _two_class([0.2, 0.4])
  grad = jax.grad(lambda z: losses.halted_focal_loss(z, y, threshold=0.5).sum())(z)
  np.testing.assert_allclose(grad, jax.grad(lambda z: losses.focal_loss(z, y).sum())(z), atol=1e-6)


@pytest.mark.parametrize("alpha", [None, 0.25])
@pytest.mark.parametrize("gamma", [0.0, 2.0])
def test_sigmoid_focal_matches_optax(alpha, gamma):
  z, t = inputs("sigmoid", shape=(6, 4))
  expected = optax.sigmoid_focal_loss(z, t, alpha=alpha, gamma=gamma)
  np.testing.assert_allclose(losses.sigmoid_focal_loss(z, t, alpha=alpha, gamma=gamma), expected, rtol=1e-5, atol=1e-7)


def test_sigmoid_halted_focal_switches_at_logit_zero():
  z = np.array([-3.0, -0.01, 0.01, 3.0], np.float32)
  t = np.ones(4, np.float32)
  out = losses.sigmoid_halted_focal_loss(z, t)
  np.testing.assert_allclose(out, reference.sigmoid_halted_focal_loss(z, t), rtol=1e-5)
  np.testing.assert_allclose(out[1], out[2], atol=1e-2)
  grad = jax.grad(lambda z: losses.sigmoid_halted_focal_loss(z, t).sum())(z)
  np.testing.assert_allclose(grad[3], -1 / (1 + np.exp(3.0)), rtol=1e-5)  # CE's gradient sigma(z) - 1


@pytest.mark.parametrize("kwargs", [{"gamma": -1.0}, {"threshold": 0.0}, {"threshold": 1.0}])
def test_bad_hyper_parameters(kwargs):
  with pytest.raises(ValueError, match=next(iter(kwargs))):
    losses.halted_focal_loss(*inputs("softmax"), **kwargs)


@pytest.mark.parametrize(
  "alpha,got", [(np.ones(4), "length 4"), (np.ones(6), "length 6"), (np.ones((5, 1)), r"shape \(5, 1\)")]
)
def test_focal_alpha_of_the_wrong_length_raises(alpha, got):
  z, y = inputs("softmax")  # K = 5
  with pytest.raises(ValueError, match=rf"alpha must be a scalar or a \[K\] array.*K = 5 classes, but alpha has {got}"):
    losses.focal_loss(z, y, alpha=alpha)
  with pytest.raises(ValueError, match="K = 5 classes"):
    losses.get_objective("focal_loss", alpha=alpha)(z, y)
