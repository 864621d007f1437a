"""The hand-written backward passes (smoothed EL, MM, HEM) against autodiff of float64 formulas, and the memory of
those and of the other losses with a hand-written gradient (LogitNorm, DICE, the errors read from p_y)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from el_jax import losses
from tests.losses.cases import inputs

B, K = 12, 7


def _bonus(p, shape="log", log_end=1.0, bonus_start=0.0, eps=1e-5, gamma=2.0):
  """b(p) of SPEC §2 in jnp, so that autodiff gives the reference gradient."""

  def raw(q):
    if shape == "power":
      return -(q**gamma)
    if shape == "cos":
      return jnp.cos(jnp.pi * q) - 1.0
    log_branch = jnp.log(jnp.maximum(1.0 - q, eps))
    if log_end >= 1.0:
      return log_branch
    return jnp.where(q <= log_end, log_branch, np.log1p(-log_end) - (q - log_end) / (1.0 - log_end))

  b = raw(p)
  if bonus_start > 0:
    b = jnp.where(p >= bonus_start, b - raw(jnp.asarray(bonus_start, p.dtype)), 0.0)
  return b


def _el_smoothed(z, y, s, rho, **bonus):
  p = jax.nn.softmax(z)
  q = (1.0 - s) * jax.nn.one_hot(y, z.shape[-1], dtype=z.dtype) + s / z.shape[-1]
  return jnp.sum(q * (-jnp.log(p) + rho * _bonus(p, **bonus)), axis=-1)


def _hinge(z, y, margin):
  z_y = jnp.take_along_axis(z, y[:, None], axis=-1)
  off_label = 1.0 - jax.nn.one_hot(y, z.shape[-1], dtype=z.dtype)
  return jax.nn.relu(z - z_y + margin) * off_label


def _mm(z, y, margin):
  return jnp.mean(_hinge(z, y, margin), axis=-1)


def _hem(z, y, margin):
  e = _hinge(z, y, margin)
  threshold = jax.lax.stop_gradient(jnp.mean(e, axis=-1, keepdims=True))
  kept = (e >= threshold) & (e > 0)
  return jnp.sum(jnp.where(kept, e, 0.0), axis=-1) / jnp.maximum(jnp.sum(kept, axis=-1), 1)


def _grads(fn, ref, z, y, **kwargs):
  with jax.enable_x64(True):
    z64, y = jnp.asarray(z, jnp.float64), jnp.asarray(y)
    weights = jnp.linspace(0.5, 1.5, z.shape[0], dtype=jnp.float64)  # a cotangent that differs per example
    got = jax.value_and_grad(lambda z: jnp.sum(weights * fn(z, y, **kwargs)))(z64)
    want = jax.value_and_grad(lambda z: jnp.sum(weights * ref(z, y)))(z64)
  return got, want


BONUSES = [
  {},
  {"log_end": 0.75},
  {"log_end": 0.5, "bonus_start": 0.3},
  {"bonus": "power", "bonus_gamma": 1.5},
  {"bonus": "cos", "bonus_start": 0.2},
]


def _reference_bonus(kwargs):
  out = {"shape": kwargs.get("bonus", "log"), "log_end": kwargs.get("log_end", 1.0)}
  out["bonus_start"] = kwargs.get("bonus_start", 0.0)
  return out | ({"gamma": kwargs["bonus_gamma"]} if "bonus_gamma" in kwargs else {})


@pytest.mark.parametrize("bonus", BONUSES)
@pytest.mark.parametrize("s", [0.1, 1.0])
def test_smoothed_el_gradient_matches_autodiff_of_the_formula(bonus, s):
  z, y = inputs("softmax", shape=(B, K), scale=2.0, seed=1)
  ref = lambda z, y: _el_smoothed(z, y, s, 0.7, **_reference_bonus(bonus))  # noqa: E731
  (value, grad), (want_value, want_grad) = _grads(
    losses.encouraging_loss, ref, z, y, label_smoothing=s, bonus_rho=0.7, **bonus
  )
  np.testing.assert_allclose(value, want_value, rtol=1e-10)
  np.testing.assert_allclose(grad, want_grad, rtol=1e-9, atol=1e-12)


def test_smoothed_el_gradient_in_float32_and_for_confident_predictions():
  z, y = inputs("softmax", shape=(B, K), scale=2.0, seed=2)
  z[0, y[0]] += 30.0  # p_y rounds to 1 in float32; the exact log(1 - p_y) keeps the gradient right
  z[1, (y[1] + 1) % K] += 30.0  # a confident wrong prediction: some p_k near 1, where the eps clamp acts
  fn = lambda z: jnp.sum(losses.encouraging_loss(z, y, label_smoothing=0.1))  # noqa: E731
  grad32 = jax.grad(fn)(jnp.asarray(z))
  ref = lambda z, y: _el_smoothed(z, y, 0.1, 1.0)  # noqa: E731
  (_, grad64), (_, want) = _grads(losses.encouraging_loss, ref, z, y, label_smoothing=0.1)
  assert np.isfinite(grad32).all()
  np.testing.assert_allclose(grad64, want, rtol=1e-9, atol=1e-12)
  np.testing.assert_allclose(grad32, np.asarray(want) / np.linspace(0.5, 1.5, B)[:, None], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("bonus", BONUSES)
def test_smoothed_el_when_the_label_leads_beyond_float32_range(bonus):
  # e^(z_k - z_y) underflows in float32 for every other class: the clamp or the bonus shape must carry the result.
  z, y = inputs("softmax", shape=(B, K), scale=2.0, seed=3)
  z[np.arange(0, B, 2), y[::2]] += 150.0
  ref = lambda z, y: _el_smoothed(z, y, 0.1, 0.7, **_reference_bonus(bonus))  # noqa: E731
  fn = lambda z: losses.encouraging_loss(z, y, label_smoothing=0.1, bonus_rho=0.7, **bonus)  # noqa: E731
  weights = np.linspace(0.5, 1.5, B, dtype=np.float32)
  value, grad = jax.value_and_grad(lambda z: jnp.sum(weights * fn(z)))(jnp.asarray(z))
  _, (want_value, want_grad) = _grads(losses.encouraging_loss, ref, z, y, label_smoothing=0.1, bonus_rho=0.7, **bonus)
  np.testing.assert_allclose(value, want_value, rtol=1e-5)
  np.testing.assert_allclose(grad, want_grad, rtol=1e-4, atol=1e-5)


def _away_from_hinge_kinks(z, y, margin, hem):
  with jax.enable_x64(True):
    z64 = jnp.asarray(z, jnp.float64)
    x = z64 - jnp.take_along_axis(z64, jnp.asarray(y)[:, None], axis=-1) + margin
    keep = (jnp.abs(x) > 0.05).all(1)
    if hem:
      e = _hinge(z64, jnp.asarray(y), margin)
      keep &= (jnp.abs(e - e.mean(1, keepdims=True)) > 0.05).all(1)
  return np.asarray(keep)


MARGINS = {"scalar": 0.3, "per_logit": losses.hem_plus_margins(np.array([400, 200, 100, 50, 20, 10, 5]))}


@pytest.mark.parametrize("margin", list(MARGINS))
@pytest.mark.parametrize("name", ["multiclass_margin_loss", "hem_loss"])
def test_margin_gradients_match_autodiff_of_the_formula(name, margin):
  mu = MARGINS[margin]
  z, y = inputs("softmax", shape=(40, K), scale=1.0, seed=5)
  keep = _away_from_hinge_kinks(z, y, mu, name == "hem_loss")
  assert keep.sum() >= 5
  z, y = z[keep], y[keep]
  fn, ref = getattr(losses, name), {"multiclass_margin_loss": _mm, "hem_loss": _hem}[name]
  (value, grad), (want_value, want_grad) = _grads(fn, lambda z, y: ref(z, y, mu), z, y, margin=mu)
  np.testing.assert_allclose(value, want_value, rtol=1e-12)
  np.testing.assert_allclose(grad, want_grad, rtol=1e-12, atol=1e-15)
  with jax.enable_x64(True):
    z64 = jnp.asarray(z, jnp.float64)
    mu64 = jnp.asarray(mu, jnp.float64)
    got = jax.grad(lambda m: jnp.sum(fn(z64, y, margin=m)))(mu64)
    want = jax.grad(lambda m: jnp.sum(ref(z64, jnp.asarray(y), m)))(mu64)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    check_grads(lambda z: fn(z, y, margin=mu64), (z64,), order=2, modes=["rev"], atol=1e-5, rtol=1e-5)


def _temp_arrays(fn, b, k):
  z = jnp.zeros((b, k), jnp.float32)
  y = jnp.zeros((b,), jnp.int32)
  step = jax.jit(jax.value_and_grad(lambda z, y: jnp.mean(fn(z, y))))
  analysis = step.lower(z, y).compile().memory_analysis()
  assert analysis is not None, "XLA:CPU gave no memory analysis of the compiled step"
  return analysis.temp_size_in_bytes / (b * k * 4)


@pytest.mark.parametrize(
  "fn",
  [
    lambda z, y: losses.encouraging_loss(z, y, label_smoothing=0.1),
    lambda z, y: losses.encouraging_loss(z, y, label_smoothing=0.1, log_end=0.75),
    lambda z, y: losses.multiclass_margin_loss(z, y, margin=0.2),
    lambda z, y: losses.hem_loss(z, y, margin=0.2),
    lambda z, y: losses.hem_loss(z, y, margin=losses.hem_plus_margins(np.arange(1, 1025))),
    lambda z, y: losses.logit_norm_loss(z, y),
    lambda z, y: losses.squared_error(z, y, mirror_bonus=True),
    lambda z, y: losses.absolute_error(z, y, mirror_bonus=True),
    lambda z, y: losses.dice_loss(z, y),
  ],
  ids=[
    "el_smoothed",
    "el_smoothed_le",
    "mm",
    "hem",
    "hem_plus",
    "logit_norm",
    "squared_mirror",
    "absolute_mirror",
    "dice",
  ],
)
def test_backward_pass_needs_no_extra_logits_sized_array(fn):
  if jax.default_backend() != "cpu":
    pytest.skip("the count is specific to XLA:CPU's fusion")
  assert _temp_arrays(fn, 256, 1024) < 0.5
