import itertools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from absl.testing import parameterized
from jax.test_util import check_grads

from el_jax import losses
from tests.losses import reference

jax.config.update("jax_enable_x64", False)

# (log_end, bonus_start, bonus_rho): normal, conservative, aggressive, both, weighted.
VARIANTS = [
  (1.0, 0.0, 1.0),
  (0.75, 0.0, 1.0),
  (0.5, 0.0, 1.0),
  (1.0, 0.5, 1.0),
  (0.75, 0.5, 1.0),
  (0.5, 0.75, 1.0),
  (0.75, 0.0, 0.3),
]


def _logits(shape=(64, 10), scale=3.0, seed=0):
  rng = np.random.default_rng(seed)
  return (rng.normal(size=shape) * scale).astype(np.float32), rng.integers(0, shape[-1], shape[:-1])


class EncouragingLossTest(parameterized.TestCase):
  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(*VARIANTS)
  def test_values_match_reference(self, log_end, bonus_start, rho):
    z, y = _logits()
    fn = self.variant(
      lambda z, y: losses.encouraging_loss(z, y, log_end=log_end, bonus_start=bonus_start, bonus_rho=rho)
    )
    np.testing.assert_allclose(
      fn(z, y), reference.encouraging_loss(z, y, log_end, bonus_start, rho), rtol=2e-5, atol=2e-5
    )

  @parameterized.parameters(*VARIANTS)
  def test_gradients_match_closed_form(self, log_end, bonus_start, rho):
    z, y = _logits()
    grad = jax.grad(
      lambda z: losses.encouraging_loss(z, y, log_end=log_end, bonus_start=bonus_start, bonus_rho=rho).sum()
    )(z)
    expected = reference.encouraging_loss_grad(z, y, log_end, bonus_start, rho)
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-5)

  def test_eq7_and_eq9(self):
    # Normal bonus, rho = 1: dL/dz_y = -1 exactly and dL/dz_k = p_k / (1 - p_y) for k != y.
    z, y = _logits(scale=2.0)
    grad = np.asarray(jax.grad(lambda z: losses.encouraging_loss(z, y, eps=0.0).sum())(z))
    rows = np.arange(len(y))
    np.testing.assert_allclose(grad[rows, y], -1.0, atol=1e-5)
    p = reference.softmax(z)
    expected = p / (1 - p[rows, y])[:, None]
    mask = ~reference.one_hot(y, 10).astype(bool)
    np.testing.assert_allclose(grad[mask], expected[mask], rtol=1e-4)

  def test_eq7_holds_for_confident_examples(self):
    # p_y within 1e-6 of 1: 1 - p_y is computed from the other logits (Eq. 8), not by cancellation.
    z = np.zeros((3, 10), np.float32)
    z[:, 0] = [15.0, 18.0, 20.0]
    y = np.zeros(3, int)
    value = losses.encouraging_loss(z, y, eps=0.0)
    expected = -z[:, 0] + np.log(9.0)  # -z_y + logsumexp_{k != y} z_k
    np.testing.assert_allclose(value, expected, rtol=1e-6)
    grad = jax.grad(lambda z: losses.encouraging_loss(z, y, eps=0.0).sum())(z)
    np.testing.assert_allclose(grad[:, 0], -1.0, atol=1e-6)

  @parameterized.parameters(0.5, 0.75, 0.9)
  def test_tangent_continuation_at_log_end(self, log_end):
    # b and b' are continuous at LE: sample p just below and above LE via two-class logits.
    def bonus_part(p):
      z = np.array([[np.log(p / (1 - p)), 0.0]], np.float32)
      return losses.encouraging_loss(z, np.array([0]), log_end=log_end)[0] + np.log(p)

    # On both sides of LE the bonus follows the tangent line to O(h^2): no jump in value or slope.
    h = 1e-3
    for p in (log_end - h, log_end + h):
      tangent = np.log(1 - log_end) - (p - log_end) / (1 - log_end)
      np.testing.assert_allclose(bonus_part(p), tangent, atol=1e-4)
    np.testing.assert_allclose(bonus_part(log_end), np.log(1 - log_end), atol=1e-5)
    # Beyond LE the bonus is the straight line with slope -1 / (1 - LE).
    p1, p2 = log_end + 0.05, log_end + 0.08
    slope = (bonus_part(p2) - bonus_part(p1)) / (p2 - p1)
    np.testing.assert_allclose(slope, -1 / (1 - log_end), rtol=2e-3)

  def test_aggressive_bonus_is_zero_below_start_and_continuous(self):
    z = np.array([[np.log(p / (1 - p)), 0.0] for p in (0.3, 0.49, 0.51, 0.9)], np.float32)
    y = np.zeros(4, int)
    bonus = losses.encouraging_loss(z, y, bonus_start=0.5) - losses.cross_entropy(z, y)
    np.testing.assert_allclose(bonus[:2], 0.0, atol=1e-6)
    assert abs(bonus[2]) < 0.05
    np.testing.assert_allclose(bonus[3], np.log(0.1) - np.log(0.5), rtol=1e-4)

  def test_bonus_clamp_at_eps(self):
    z = np.array([[30.0, 0.0, 0.0]], np.float32)  # 1 - p_y ~ 2e-13 < eps
    value = losses.encouraging_loss(z, np.array([0]), eps=1e-5)
    np.testing.assert_allclose(value, reference.cross_entropy(z, [0]) + np.log(1e-5), rtol=1e-5)

  @parameterized.parameters(*VARIANTS[:4])
  def test_check_grads(self, log_end, bonus_start, rho):
    # Away from the kinks at LE, bonus_start and the eps clamp.
    z, y = _logits(shape=(8, 5), scale=1.0, seed=1)
    p_y = reference.softmax(z)[np.arange(8), y]
    keep = np.all(np.abs(p_y[:, None] - np.array([log_end, bonus_start])) > 0.05, axis=1)
    z, y = jnp.asarray(z[keep], jnp.float64 if jax.config.jax_enable_x64 else jnp.float32), y[keep]
    fn = lambda z: losses.encouraging_loss(z, y, log_end=log_end, bonus_start=bonus_start, bonus_rho=rho)  # noqa: E731
    check_grads(fn, (z,), order=2, modes=["rev"], atol=5e-2, rtol=5e-2)

  def test_extreme_logits_are_finite(self):
    rng = np.random.default_rng(2)
    z = rng.choice([-1e4, 1e4, 0.0], size=(32, 6)).astype(np.float32)
    y = rng.integers(0, 6, 32)
    for log_end, bonus_start, eps in itertools.product([1.0, 0.75], [0.0, 0.5], [1e-5, 0.0]):
      fn = lambda z: losses.encouraging_loss(z, y, log_end=log_end, bonus_start=bonus_start, eps=eps)  # noqa: E731,B023
      assert np.isfinite(fn(z)).all()
      assert np.isfinite(jax.grad(lambda z: fn(z).sum())(z)).all()  # noqa: B023

  def test_where_and_bf16(self):
    z, y = _logits(shape=(4, 3, 5))
    where = np.array([[True, False, True]] * 4)
    out = losses.encouraging_loss(jnp.asarray(z, jnp.bfloat16), y, log_end=0.75, where=where)
    assert out.dtype == jnp.float32 and out.shape == (4, 3)
    np.testing.assert_array_equal(out[~where], 0.0)
    grad = jax.grad(lambda z: losses.encouraging_loss(z, y, where=where).sum())(z)
    np.testing.assert_array_equal(np.asarray(grad)[~where], 0.0)

  def test_no_retrace_for_new_values(self):
    fn = jax.jit(chex.assert_max_traces(lambda z, y: losses.encouraging_loss(z, y, log_end=0.75), n=1))
    for seed in range(3):
      fn(*_logits(seed=seed))

  @parameterized.parameters(
    {"log_end": 0.0}, {"log_end": 1.5}, {"bonus_start": 1.0}, {"bonus_start": -0.1}, {"eps": -1.0}
  )
  def test_bad_hyper_parameters(self, **kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
      losses.encouraging_loss(*_logits(), **kwargs)
