"""el_jax/losses/_bonus.py: the bonus from p alone (`of_p`, the smoothing term's form) against the float64 reference."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from el_jax import losses
from tests.losses import reference


@pytest.mark.parametrize(
  "log_end, bonus_start, eps",
  [(0.75, 0.0, 1e-5), (0.5, 0.3, 1e-5), (0.75, 0.9, 1e-5), (0.99, 0.0, 0.05), (0.75, 0.0, 0.0)],
)
def test_conservative_bonus_of_p_matches_the_piecewise_definition(log_end, bonus_start, eps):
  # A grid through LE, the clamp region near p = 1 and the start of the aggressive bonus.
  p = np.concatenate([np.linspace(0.0, 1.0, 201), [log_end, np.nextafter(log_end, 1.0), 1 - 1e-6, 1.0]])
  p = p.astype(np.float32)
  bonus = losses.Bonus("log", log_end, bonus_start, eps)
  got = np.asarray(bonus.of_p(jnp.asarray(p)))
  # of_p clamps log(1 - p) at log(max(eps, 2^-126)), so that eps = 0 stays finite at p = 1
  want = reference.el_bonus(p.astype(np.float64), float(np.float32(log_end)), bonus_start, max(eps, 2.0**-126))
  np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
  if not bonus_start:  # (the aggressive bonus's shift reads a NaN p as below its start)
    assert np.isnan(bonus.of_p(jnp.asarray([np.nan]))).all()


FUSED_SLOPES = [
  {"shape": "log"},
  {"shape": "log", "log_end": 0.75},
  {"shape": "log", "eps": 0.0},
  {"shape": "log", "log_end": 0.5, "start": 0.3},
  {"shape": "log", "log_end": 0.99, "eps": 0.05},  # the clamp acts before LE
  {"shape": "power", "gamma": 1.5, "start": 0.5},
  {"shape": "cos"},
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("config", FUSED_SLOPES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_fused_slope_times_p_matches_the_derivative(config, dtype):
  # p b'(p) on a grid through LE, bs and the clamp, against the derivative of the piecewise definition.
  bonus = losses.Bonus(**config)
  p = np.concatenate([np.linspace(0.0, 1.0, 101), [bonus.log_end, bonus.start, 1 - bonus.eps, 1 - 1e-6]])
  p = p[p < 1.0] if bonus.eps == 0.0 else p  # (b' is unbounded at p = 1 without the clamp)
  p = p.astype(dtype)
  if config["shape"] == "log":
    with np.errstate(divide="ignore"):  # (the reference's unused branch at p = 1)
      want = p * reference.el_bonus_slope(p.astype(np.float64), bonus.log_end, bonus.start, bonus.eps)
    if bonus.log_end < 1 and bonus.eps >= 1 - bonus.log_end:  # b is constant where the clamp acts, up to LE
      want = np.where((1 - p <= bonus.eps) & (p <= bonus.log_end), 0.0, want)
  else:
    raw = -bonus.gamma * p**bonus.gamma if config["shape"] == "power" else -np.pi * p * np.sin(np.pi * p)
    want = np.where(p >= bonus.start, raw, 0.0)
  with jax.enable_x64(dtype == np.float64):
    got = bonus.fused_slope_times_p(jnp.asarray(p)[None], jnp.zeros(1, dtype))[0]
    assert got.dtype == dtype
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
