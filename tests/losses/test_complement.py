"""Complement entropy and the one-pass COT sum against numpy references written from Chen et al.'s formula."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from el_jax import losses
from tests.losses import reference
from tests.losses.cases import inputs


def test_uniform_wrong_classes_give_minus_log_k_minus_1_over_k_minus_1():
  # z = (3, 0, 0, 0, 0): the four wrong classes share 1 - p_y equally, H = log 4, L = -log(4) / 4.
  z = np.array([[3.0, 0.0, 0.0, 0.0, 0.0]], np.float32)
  np.testing.assert_allclose(losses.complement_entropy_loss(z, np.array([0])), [-np.log(4) / 4], rtol=1e-6)
  # released-code normalisation divides by K = 5
  out = losses.complement_entropy_loss(z, np.array([0]), normalization="classes")
  np.testing.assert_allclose(out, [-np.log(4) / 5], rtol=1e-6)


def test_two_classes_and_confident_predictions():
  # K = 2: one wrong class takes all of 1 - p_y, so the complement entropy is 0 with a zero gradient.
  z, y = inputs("softmax", shape=(4, 2))
  np.testing.assert_array_equal(losses.complement_entropy_loss(z, y), 0.0)
  np.testing.assert_array_equal(jax.grad(lambda z: losses.complement_entropy_loss(z, y).sum())(z), 0.0)
  # p_y -> 1 (1 - p_y underflows in float32): q is the softmax of the other logits, still exact
  z = np.array([[200.0, 1.0, 0.0, -1.0]], np.float32)
  q = reference.softmax(z[0, 1:])
  np.testing.assert_allclose(losses.complement_entropy_loss(z, np.array([0])), [(q * np.log(q)).sum() / 3], rtol=1e-5)


def test_gradient_matches_finite_differences_and_the_closed_form():
  z, y = inputs("softmax", shape=(6, 5), scale=1.5, seed=7)
  with jax.enable_x64(True):
    z64 = jnp.asarray(z, jnp.float64)
    check_grads(lambda z: losses.complement_entropy_loss(z, y), (z64,), order=1, modes=["rev"], atol=1e-6, rtol=1e-6)
  # closed form: with q the softmax of the wrong classes' logits and h = sum_j q_j log q_j,
  # dL/dz_j = q_j (log q_j - h) / (K - 1) off the label and 0 at it.
  grad = np.asarray(jax.grad(lambda z: losses.complement_entropy_loss(z, y).sum())(z))
  for n in range(len(y)):
    others = [j for j in range(5) if j != y[n]]
    q = reference.softmax(z[n, others])
    h = (q * np.log(q)).sum()
    np.testing.assert_allclose(grad[n, others], q * (np.log(q) - h) / 4, rtol=1e-4, atol=1e-6)
    assert grad[n, y[n]] == 0.0


def test_cot_sum_is_ce_plus_weighted_complement_and_checks_its_weight():
  z, y = inputs("softmax", shape=(6, 5), seed=2)
  expected = reference.cross_entropy(z, y) + 2.0 * reference.complement_entropy_loss(z, y)
  np.testing.assert_allclose(losses.cot_sum_loss(z, y, complement_weight=2.0), expected, rtol=2e-5, atol=2e-6)
  with pytest.raises(ValueError, match="complement_weight must be >= 0"):
    losses.cot_sum_loss(z, y, complement_weight=-1.0)
  with pytest.raises(ValueError, match="Unknown normalization 'k'.*'complement_classes', 'classes'"):
    losses.complement_entropy_loss(z, y, normalization="k")
