"""el_jax/losses/_bonus.py: the bonus from p alone (`of_p`, the smoothing term's form) against the float64 reference."""

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
