"""Loss-weight schedules: pure functions of training progress `t = step / total_steps` in `[0, 1]`.

Every function takes `progress` as a Python float or a traced JAX scalar and uses no Python control flow on it,
so a schedule can be evaluated inside a jitted train step.
"""

import jax.numpy as jnp

FOCUS_SCHEDULES = ("F=0", "F=0,0.5", "F=0-0.5")


def training_progress(step, total_steps: int):
  """`step / total_steps` as float32, clipped to `[0, 1]`."""
  if total_steps <= 0:
    raise ValueError(f"total_steps must be > 0, got {total_steps}.")
  return jnp.clip(jnp.asarray(step, jnp.float32) / total_steps, 0.0, 1.0)


def check_focus_schedule(name: str) -> str:
  """Returns `name` if it is one of `FOCUS_SCHEDULES`, else raises a ValueError listing them."""
  if name not in FOCUS_SCHEDULES:
    raise ValueError(f"Unknown focus schedule {name!r}. Valid: {', '.join(map(repr, FOCUS_SCHEDULES))}.")
  return name


def focus(schedule: str, progress):
  r"""The focus `F` of the mixing paper's schedules (§ Scheduling) at training progress `t`.

  - `"F=0"`: `F = 0` throughout (equal weights of CE and the expectation loss).
  - `"F=0,0.5"`: `F = 0` for the first 95% of training, `F = 0.5` (expectation loss only) for the last 5%.
  - `"F=0-0.5"`: six equal phases with `F = 0, 0.1, 0.2, 0.3, 0.4, 0.5`.
  """
  check_focus_schedule(schedule)
  t = jnp.asarray(progress, jnp.float32)
  if schedule == "F=0":
    return jnp.zeros_like(t)
  if schedule == "F=0,0.5":
    return jnp.where(t < 0.95, 0.0, 0.5).astype(jnp.float32)
  phase = jnp.clip(jnp.floor(t * 6.0), 0.0, 5.0)
  return phase / 10.0


def focus_weights(f):
  r"""`(alpha, beta)` of `mixed_ce_expectation` for focus `F` in `[0, 0.5]` (mixing paper Eq. 14).

  :math:`\alpha = 1, \beta = 1 / (1 - 2F)` for :math:`F < 0.5`; :math:`\alpha = 0, \beta = 1` at :math:`F = 0.5`.
  `F` may be traced; a Python `F` outside `[0, 0.5]` raises a ValueError.
  """
  if isinstance(f, int | float) and not 0.0 <= f <= 0.5:
    raise ValueError(f"focus F must lie in [0, 0.5], got {f}.")
  f = jnp.asarray(f, jnp.float32)
  at_half = f >= 0.5
  alpha = jnp.where(at_half, 0.0, 1.0)
  beta = jnp.where(at_half, 1.0, 1.0 / jnp.where(at_half, 1.0, 1.0 - 2.0 * f))
  return alpha, beta


def bonus_weight(progress, *, defer: float = 0.0, ramp: float = 0.0):
  r"""The factor on EL's `bonus_rho` at training progress `t`: the deferred and ramped bonus.

  0 before `defer` (the bonus is off, training is plain cross-entropy), then a linear ramp to 1 over the next
  `ramp` of training, then 1:

  .. math::  w(t) = \mathrm{clip}\big((t - \text{defer}) / \text{ramp}, 0, 1\big)

  (a step at `defer` when `ramp = 0`). `defer` and `ramp` are fractions of training with `defer + ramp <= 1`.
  """
  if not (0.0 <= defer < 1.0 and 0.0 <= ramp <= 1.0 and defer + ramp <= 1.0):
    raise ValueError(
      f"bonus_defer must lie in [0, 1) and bonus_ramp in [0, 1] with bonus_defer + bonus_ramp <= 1 (fractions of "
      f"training), got bonus_defer={defer}, bonus_ramp={ramp}."
    )
  t = jnp.asarray(progress, jnp.float32)
  if ramp == 0.0:
    return jnp.where(t >= defer, 1.0, 0.0).astype(jnp.float32)
  return jnp.clip((t - defer) / ramp, 0.0, 1.0)
