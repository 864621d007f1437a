import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from el_jax import losses
from tests.losses import reference
from tests.losses.cases import inputs


def test_expectation_is_one_minus_p_and_bounded_by_cross_entropy():
  z, y = inputs("softmax", scale=4.0)
  p_y = reference.softmax(z)[np.arange(len(y)), y]
  out = losses.expectation_loss(z, y)
  np.testing.assert_allclose(out, 1 - p_y, rtol=1e-5, atol=1e-7)
  assert (np.asarray(out) <= np.asarray(losses.cross_entropy(z, y)) + 1e-6).all()  # 1 - p <= -log p


def test_expectation_is_exact_near_p_one():
  z = np.array([[25.0, 0.0, 0.0]], np.float32)  # 1 - p_y = 2 e^-25, below float32 resolution at 1
  np.testing.assert_allclose(losses.expectation_loss(z, np.array([0])), 2 * np.exp(-25.0), rtol=1e-5)


@pytest.mark.parametrize("alpha,beta", [(1.0, 1.0), (1.0, 2.5), (0.0, 1.0), (0.3, 0.7)])
def test_gradient_is_eq13(alpha, beta):
  z, y = inputs("softmax")
  grad = np.asarray(jax.grad(lambda z: losses.mixed_ce_expectation(z, y, alpha=alpha, beta=beta).sum())(z))
  p = reference.softmax(z)
  p_y = p[np.arange(len(y)), y][:, None]
  expected = p * (beta * p_y + alpha)  # j != y
  at_label = beta * p_y**2 + (alpha - beta) * p_y - alpha  # j = y
  onehot = reference.one_hot(y, 5).astype(bool)
  expected[onehot] = at_label[:, 0]
  np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("alpha,beta", [(1.0, 1.0), (1.0, 2.5), (2.0, 0.5)])
def test_equals_alpha_times_poly1(alpha, beta):
  z, y = inputs("softmax")
  poly = optax.losses.poly_loss_cross_entropy(z, jax.nn.one_hot(y, 5), epsilon=beta / alpha)
  np.testing.assert_allclose(losses.mixed_ce_expectation(z, y, alpha=alpha, beta=beta), alpha * poly, rtol=1e-5)


def test_alpha_beta_may_be_traced():
  z, y = inputs("softmax")
  fn = jax.jit(lambda a, b: losses.mixed_ce_expectation(z, y, alpha=a, beta=b))
  np.testing.assert_allclose(fn(jnp.float32(1.0), jnp.float32(2.5)), reference.mixed_ce_expectation(z, y, 1, 2.5), 1e-5)
