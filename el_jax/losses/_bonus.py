"""The bonus shapes of the Encouraging Loss (EL paper Eq. 6, Fig. 3, Table 3; SPEC-losses §2).

A bonus `b(p)` is a non-positive function of a probability that decreases as `p` grows, so that adding
`rho * b(p_y)` to `-log p_y` keeps rewarding confident correct predictions. `Bonus` holds the static
configuration of one shape and evaluates it on arrays.
"""

import math
from typing import NamedTuple

import jax.numpy as jnp

from el_jax.losses import _fused

SHAPES = ("log", "power", "cos")

# The smallest 1 - p the smoothing term evaluates log(1 - p) at when eps = 0 (float32's smallest normal).
_TINY = float(jnp.finfo(jnp.float32).tiny)


class Bonus(NamedTuple):
  r"""One bonus shape with its hyper-parameters (hashable, so it can be a static argument).

  - `"log"`: :math:`b(p) = \log\max(1 - p, \epsilon)` up to `log_end` (LE) and its tangent
    :math:`\log(1 - LE) - (p - LE) / (1 - LE)` beyond (Eq. 6 and the conservative bonus of Fig. 3).
  - `"power"`: :math:`b(p) = -p^\gamma`.
  - `"cos"`: :math:`b(p) = \cos(\pi p) - 1`.

  With `start = bs > 0` (the aggressive bonus of Table 3) the shape is shifted to start at 0:
  :math:`b(p) - b(bs)` for :math:`p \ge bs` and 0 below, continuous for every shape and `LE`.
  """

  shape: str = "log"
  log_end: float = 1.0
  start: float = 0.0
  eps: float = 1e-5
  gamma: float = 2.0

  def check(self):
    """Raises a ValueError naming the hyper-parameter that is out of range."""
    if self.shape not in SHAPES:
      raise ValueError(f"bonus must be one of {', '.join(map(repr, SHAPES))}, got {self.shape!r}.")
    if not 0.0 < self.log_end <= 1.0:
      raise ValueError(f"log_end must lie in (0, 1], got {self.log_end} (1 gives the normal bonus).")
    if self.log_end < 1.0 and self.shape != "log":
      raise ValueError(f"log_end < 1 applies to the 'log' bonus only, got bonus={self.shape!r}; set log_end=1.0.")
    if not 0.0 <= self.start < 1.0:
      raise ValueError(f"bonus_start must lie in [0, 1), got {self.start} (0 rewards every p).")
    if self.eps < 0.0:
      raise ValueError(f"eps must be >= 0, got {self.eps} (0 gives the exact, unclamped log bonus).")
    if self.gamma < 1.0:
      raise ValueError(f"bonus_gamma must be >= 1 (so that -p^gamma is concave), got {self.gamma}.")
    return self

  def _shape(self, log_1m_p, p):
    if self.shape == "power":
      return -(p**self.gamma)
    if self.shape == "cos":
      return jnp.cos(math.pi * p) - 1.0
    log_branch = jnp.maximum(log_1m_p, math.log(self.eps)) if self.eps > 0 else log_1m_p
    if self.log_end >= 1.0:
      return log_branch
    tangent = math.log1p(-self.log_end) - (p - self.log_end) / (1.0 - self.log_end)
    return jnp.where(p <= self.log_end, log_branch, tangent)

  def _anchor(self) -> float:
    """:math:`b(bs)` before the shift, as a Python float."""
    bs = self.start
    if self.shape == "power":
      return -(bs**self.gamma)
    if self.shape == "cos":
      return math.cos(math.pi * bs) - 1.0
    if bs <= self.log_end:
      return math.log(max(1.0 - bs, self.eps))
    return math.log1p(-self.log_end) - (bs - self.log_end) / (1.0 - self.log_end)

  def _shifted(self, b, p):
    """The shape's values `b` at `p` shifted by `bonus_start` (unchanged when it is 0)."""
    if self.start > 0.0:
      b = jnp.where(p >= self.start, b - self._anchor(), 0.0)
    return b

  def of_logs(self, log_1m_p, p):
    """`b(p)` from :math:`\\log(1 - p)` (exact near `p = 1`) and `p`, elementwise."""
    return self._shifted(self._shape(log_1m_p, p), p)

  def slope_times_p(self, p):
    """:math:`p\\, b'(p)` from `p` alone, written out so that it fuses into one element-wise loop."""
    if self.shape == "power":
      out = -self.gamma * p**self.gamma
    elif self.shape == "cos":
      out = -math.pi * p * jnp.sin(math.pi * p)
    else:
      one_minus_p = 1.0 - p
      out = -p / jnp.maximum(one_minus_p, max(self.eps, _TINY))
      if self.eps > 0:
        out = jnp.where(one_minus_p > self.eps, out, 0.0)
      if self.log_end < 1.0:
        out = jnp.where(p <= self.log_end, out, -p / (1.0 - self.log_end))
    if self.start > 0.0:
      out = jnp.where(p >= self.start, out, 0.0)
    return out

  def fused_slope_times_p(self, p, after):
    """`slope_times_p(p)` written for a row sum that XLA:CPU fuses into one loop over `p` `[..., K]`.

    It uses arithmetic, `min`, `max` and `abs` only (each select of `slope_times_p` becomes a step, below), and no
    constant broadcast to `[..., K]`: each constant enters as a per-row value `_fused.row_values(c, after=after)`
    (`after` `[...]`), so that this sum and another use of it with another `after` share no `[..., K]` operand,
    which XLA:CPU would write out (see `_fused`).
    """
    big = 2.0 ** (126 if p.dtype == jnp.float32 else 1022)

    def const(value):
      return _fused.row_values(jnp.full(after.shape, value, p.dtype), after=after)[..., None]

    def step(x):
      # 1 where x > 0 and 0 where x <= 0, for x in [-1, 1] that is 0 or at least 2^-126 in magnitude (differences
      # of probabilities and hyper-parameters are): (v + |v|) / 2 with v = min(x 2^126, 1). NaN stays NaN.
      v = jnp.minimum(x * const(big), const(1.0))
      return (v + jnp.abs(v)) * const(0.5)

    if self.shape == "power":
      out = jnp.power(p, const(self.gamma)) * const(-self.gamma)
    elif self.shape == "cos":
      out = p * const(-math.pi) * jnp.sin(p * const(math.pi))
    elif self.log_end < 1.0 and max(self.eps, _TINY) < 1.0 - self.log_end:
      # -p / max(1 - p, 1 - LE): -p / (1 - p) up to LE and the tangent's -p / (1 - LE) beyond, where the clamp at
      # eps (1 - p <= eps) also lies.
      out = p / jnp.minimum(p - const(1.0), const(self.log_end - 1.0))
    else:
      gap = p - const(1.0)  # -(1 - p)
      out = p / jnp.minimum(gap, const(-max(self.eps, _TINY)))
      if self.eps > 0:  # 0 where the clamp holds b constant: 1 - p <= eps
        out = out * step(-gap - const(self.eps))
      if self.log_end < 1.0:  # the tangent beyond LE
        beyond = step(p - const(self.log_end))
        out = out * (const(1.0) - beyond) + p * const(-1.0 / (1.0 - self.log_end)) * beyond
    if self.start > 0.0:  # 0 below bs
      out = out * (const(1.0) - step(const(self.start) - p))
    return out

  def of_p(self, p):
    """`b(p)` from `p` alone, with :math:`\\log(1 - p)` clamped below at :math:`\\log\\max(\\epsilon, 2^{-126})`.

    :math:`\\log(1 - p)` is evaluated as `log1p(-p)`, whose only constant is the clamp, so that a sum of `of_p`
    fuses into its reduction beside element-wise uses of `slope_times_p` (see `_fused`). For the same reason the
    conservative log bonus is written without a select: with :math:`q = \\min(p, LE)`,
    :math:`b(p) = \\log(1 - q) - (p - q) / (1 - LE)`, which is :math:`\\log(1 - p)` up to `LE` and the tangent
    :math:`\\log(1 - LE) - (p - LE) / (1 - LE)` beyond, when the clamp acts only beyond `LE`
    (:math:`\\epsilon < 1 - LE`, as for the paper's values).
    """
    clamp = math.log(max(self.eps, _TINY))
    if self.shape != "log" or self.log_end >= 1.0 or max(self.eps, _TINY) >= 1.0 - self.log_end:
      return self.of_logs(jnp.maximum(jnp.log1p(-p), clamp), p)
    # -q = max(-p, -LE) and the factor -1 / (1 - LE): constants that `slope_times_p` (LE, 1 / (1 - LE)) does not
    # use, so that XLA:CPU does not share them between the two and write them out as [..., K] arrays.
    neg_q = jnp.maximum(-p, -self.log_end)
    tangent_slope = -1.0 / (1.0 - self.log_end)
    return self._shifted(jnp.maximum(jnp.log1p(neg_q), clamp) + (p + neg_q) * tangent_slope, p)
