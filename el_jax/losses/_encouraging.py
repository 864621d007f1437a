"""Encouraging Loss (Zhao et al., AAAI 2022, §3 and appendix C; SPEC-losses §2).

EL adds to cross-entropy a concave, non-positive bonus `b(p_y)` that keeps rewarding a correct prediction as it
grows more confident, so well-classified examples keep a gradient instead of fading out as they do under CE.
"""

import math

import jax
import jax.numpy as jnp

from el_jax.losses import _inputs


def _log_bonus(log_1m_p, p, *, log_end: float, eps: float):
  r"""The conservative log bonus :math:`b_{LE}` on arrays of :math:`\log(1-p)` and :math:`p`.

  :math:`b(p) = \log\max(1 - p, \epsilon)` for :math:`p \le LE` and its tangent at `LE`,
  :math:`\log(1 - LE) - (p - LE) / (1 - LE)`, beyond (EL Fig. 3). `log_end = 1` is the normal bonus (Eq. 6).
  """
  log_branch = jnp.maximum(log_1m_p, math.log(eps)) if eps > 0 else log_1m_p
  if log_end >= 1.0:
    return log_branch
  tangent = math.log1p(-log_end) - (p - log_end) / (1.0 - log_end)
  return jnp.where(p <= log_end, log_branch, tangent)


def _log_bonus_at(p: float, *, log_end: float, eps: float) -> float:
  """`_log_bonus` at a single Python float `p < 1` (used to anchor the aggressive bonus)."""
  if p <= log_end:
    return math.log(max(1.0 - p, eps))
  return math.log1p(-log_end) - (p - log_end) / (1.0 - log_end)


def _check_hparams(log_end, bonus_start, eps):
  if not 0.0 < log_end <= 1.0:
    raise ValueError(f"log_end must lie in (0, 1], got {log_end} (1 gives the normal bonus).")
  if not 0.0 <= bonus_start < 1.0:
    raise ValueError(f"bonus_start must lie in [0, 1), got {bonus_start} (0 rewards every p).")
  if eps < 0.0:
    raise ValueError(f"eps must be >= 0, got {eps} (0 gives the exact, unclamped log bonus).")


def encouraging_loss(
  logits,
  labels,
  *,
  log_end: float = 1.0,
  bonus_start: float = 0.0,
  bonus_rho: float = 1.0,
  eps: float = 1e-5,
  where=None,
):
  r"""Encouraging loss: cross-entropy plus a bonus for confident correct predictions.

  .. math::  L = -\log p_y + \rho\, b(p_y)

  with the bonus (EL paper Eq. 6 and Fig. 3; SPEC-losses §2)

  - normal (`log_end = 1`): :math:`b(p) = \log\max(1 - p, \epsilon)`. :math:`\log(1 - p_y)` is computed as
    :math:`\mathrm{logsumexp}_{k \ne y} z_k - \mathrm{logsumexp}_k z_k` (Eq. 8), exact even when
    :math:`p_y` rounds to 1; `eps = 0` gives the unbounded loss :math:`-z_y + \mathrm{logsumexp}_{k\ne y} z_k`.
  - conservative (`log_end = LE < 1`): the log curve up to `LE`, then its tangent
    :math:`\log(1 - LE) - (p - LE) / (1 - LE)`, continuous with a continuous slope.
  - aggressive (`bonus_start = bs > 0`): the bonus only rewards :math:`p \ge bs`:
    :math:`b(p) = b_{LE}(p) - b_{LE}(bs)` for :math:`p \ge bs`, 0 below. When `bs <= LE` this is
    :math:`b_{LE}(p) - \log(1 - bs)`; anchoring at :math:`b_{LE}(bs)` keeps `b` continuous for any `bs`, `LE`.

  The gradient is the cross-entropy gradient rescaled per example:
  :math:`\nabla_z L = (1 - \rho\, p_y\, b'(p_y))\,(p - e_y)`. With the normal bonus and :math:`\rho = 1`,
  :math:`\partial L / \partial z_y = -1` (Eq. 7) and :math:`\partial L / \partial z_k = p_k / (1 - p_y)` (Eq. 9).

  Args:
    logits: `[..., K]` unnormalised scores.
    labels: `[...]` integer classes in `[0, K)`.
    log_end: `LE` in `(0, 1]`; the paper recommends 0.75 for high-accuracy tasks, 0.5 as a safe default.
    bonus_start: `bs` in `[0, 1)`; 0 turns the aggressive bonus off.
    bonus_rho: `rho`, the weight of the bonus.
    eps: the clamp of `1 - p` in the log bonus (the paper's 1e-5); 0 disables it.
    where: optional bool `[...]` mask; masked entries give 0 and no gradient.

  Returns:
    float32 per-example losses of shape `[...]`.
  """
  _check_hparams(log_end, bonus_start, eps)
  logits = _inputs.as_float32(logits)
  labels = jnp.asarray(labels)
  _inputs.check_shapes(logits, labels)

  is_label = jax.nn.one_hot(labels, logits.shape[-1], dtype=bool)
  log_z = jax.nn.logsumexp(logits, axis=-1)
  log_z_others = jax.nn.logsumexp(jnp.where(is_label, -jnp.inf, logits), axis=-1)
  z_y = jnp.sum(jnp.where(is_label, logits, 0.0), axis=-1)
  log_p_y = z_y - log_z
  log_1m_p_y = log_z_others - log_z
  p_y = jnp.exp(log_p_y)

  bonus = _log_bonus(log_1m_p_y, p_y, log_end=log_end, eps=eps)
  if bonus_start > 0.0:
    anchor = _log_bonus_at(bonus_start, log_end=log_end, eps=eps)
    bonus = jnp.where(p_y >= bonus_start, bonus - anchor, 0.0)
  return _inputs.apply_where(-log_p_y + bonus_rho * bonus, where)
