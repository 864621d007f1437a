"""Encouraging Loss (Zhao et al., AAAI 2022, §3 and appendix C; SPEC-losses §2).

EL adds to cross-entropy a concave, non-positive bonus `b(p_y)` that keeps rewarding a correct prediction as it
grows more confident, so well-classified examples keep a gradient instead of fading out as they do under CE.
"""

import functools

import jax
import jax.numpy as jnp

from el_jax.losses import _fused, _inputs
from el_jax.losses._bonus import Bonus
from el_jax.losses._label_probs import label_log_probs, set_at_label


def encouraging_of_logs(log_p_y, log_1m_p_y, *, bonus: Bonus, rho):
  r"""EL without smoothing from :math:`(\log p_y, \log(1 - p_y))`: :math:`L = -\log p_y + \rho\, b(p_y)`.

  The bonus `b` reads the exact :math:`\log(1 - p_y)` (EL paper Eq. 6 and 8); `rho` may be traced.
  """
  rho = jnp.asarray(rho, log_p_y.dtype)
  return -log_p_y + rho * bonus.of_logs(log_1m_p_y, jnp.exp(log_p_y))


def encouraging_loss(
  logits,
  labels,
  *,
  log_end: float = 1.0,
  bonus_start: float = 0.0,
  bonus_rho=1.0,
  eps: float = 1e-5,
  bonus: str = "log",
  bonus_gamma: float = 2.0,
  label_smoothing: float = 0.0,
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
  - the released code's other shapes: `bonus="power"`, :math:`b(p) = -p^\gamma`, and `bonus="cos"`,
    :math:`b(p) = \cos(\pi p) - 1` (both shifted the same way by `bonus_start`).

  With label smoothing `s` (as the released timm/fairseq variants):
  :math:`L = \sum_k q_k (-\log p_k + \rho\, b(p_k))`, :math:`q = (1 - s) e_y + s / K`. The label's term is exact;
  in the others' terms :math:`\log(1 - p_k)` is clamped below at :math:`\log\max(\epsilon, 2^{-126})`.

  Without smoothing the gradient is the cross-entropy gradient rescaled per example,
  :math:`\nabla_z L = (1 - \rho\, p_y\, b'(p_y))\,(p - e_y)`: with the normal bonus and :math:`\rho = 1`,
  :math:`\partial L / \partial z_y = -1` (Eq. 7) and :math:`\partial L / \partial z_k = p_k / (1 - p_y)` (Eq. 9).
  Both forms run with one `[..., K]` array in the backward pass, as cross-entropy does.

  Args:
    logits: `[..., K]` unnormalised scores.
    labels: `[...]` integer classes in `[0, K)`.
    log_end: `LE` in `(0, 1]` (log bonus only); the paper recommends 0.75 for high-accuracy tasks, 0.5 as a
      safe default.
    bonus_start: `bs` in `[0, 1)`; 0 turns the aggressive bonus off.
    bonus_rho: `rho`, the weight of the bonus; may be a traced scalar (a schedule).
    eps: the clamp of `1 - p` in the log bonus (the paper's 1e-5); 0 disables it.
    bonus: the bonus shape, `"log"`, `"power"` or `"cos"`.
    bonus_gamma: the exponent of the `"power"` bonus.
    label_smoothing: `s` in `[0, 1]`.
    where: optional bool `[...]` mask; masked entries give 0 and no gradient.

  Returns:
    float32 per-example losses of shape `[...]`.
  """
  b = Bonus(bonus, log_end, bonus_start, eps, bonus_gamma).check()
  _inputs.check_unit("label_smoothing", label_smoothing)
  logits, labels = _inputs.prepare(logits, labels)
  rho = jnp.asarray(bonus_rho, logits.dtype)
  if label_smoothing == 0.0:
    log_p_y, log_1m_p_y = label_log_probs(logits, labels)
    loss = encouraging_of_logs(log_p_y, log_1m_p_y, bonus=b, rho=rho)
  else:
    s, k = label_smoothing, logits.shape[-1]
    log_p_y, log_1m_p_y, others = _smoothed_terms(b, logits, labels, rho)
    label_term = encouraging_of_logs(log_p_y, log_1m_p_y, bonus=b, rho=rho)
    loss = (1.0 - s + s / k) * label_term + (s / k) * others
  return _inputs.apply_where(loss, where)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _smoothed_terms(bonus, logits, labels, rho):
  r"""`(log p_y, log(1 - p_y), T)` with :math:`T = \sum_{k \ne y} (-\log p_k + \rho\, b(p_k))`.

  With :math:`e_k = e^{z_k - m}` off the label and 0 at it, :math:`s = \sum_k e_k` and
  :math:`p_k = e_k / (e^{z_y - m} + s)`, the gradient of `T` is
  :math:`(K - 1) p - (1 - e_y) + \rho (u - p \sum_k u_k)` with :math:`u_k = [k \ne y]\, b'(p_k)\, p_k`.
  The forward pass writes `e` and sums it, the bonus and `u` (`Bonus.fused_slope_times_p`, which fuses into its
  sum); the backward pass computes `u` again from `e` and overwrites `e` with the gradient. One `[..., K]` array is
  live throughout, as for cross-entropy.

  The stabiliser `m` is the row's largest logit, label included, which needs no pass that knocks the label out.
  When the label's logit leads the others by more than float32's exponent range, `s` underflows and
  :math:`\log(1 - p_y)` reads :math:`-\infty`: exact once the bonus clamps it at :math:`\log\epsilon` or does
  not use it. Only the unclamped log bonus (`eps` below 1e-30, `log_end = 1`) needs its exact value; it takes `m`
  as the largest other logit, so that :math:`s \ge 1`.
  """
  return _smoothed_fwd(bonus, logits, labels, rho)[0]


def _needs_others_max(bonus) -> bool:
  return bonus.shape == "log" and bonus.log_end >= 1.0 and bonus.eps < 1e-30


def _smoothed_fwd(bonus, logits, labels, rho):
  k = logits.shape[-1]
  z_y = jnp.take_along_axis(logits, labels[..., None], axis=-1)[..., 0]
  stabilised = _fused.without_label(logits, labels) if _needs_others_max(bonus) else logits
  m = _fused.row_values(jax.lax.stop_gradient(jnp.max(stabilised, axis=-1)))
  e = set_at_label(jnp.exp(logits - m[..., None]), labels, jnp.zeros_like(z_y))
  s = jnp.sum(e, axis=-1)
  log_s = jnp.log(s)
  d = (z_y - m) - log_s  # log p_y - log(1 - p_y)
  log_z = m + jnp.logaddexp(z_y - m, log_s)
  inv_z = _fused.row_values(1.0 / (jnp.exp(z_y - m) + s))  # p_k = e_k / Z
  bonus_sum = jnp.sum(bonus.of_p(e * inv_z[..., None]), axis=-1)
  # sum(u), u_k = p_k b'(p_k), in a loop of its own once the bonus has been summed.
  u_sum = jnp.sum(bonus.fused_slope_times_p(e * _fused.row_values(inv_z, after=bonus_sum)[..., None], bonus_sum), -1)
  neg_log_p_sum = (k - 1) * log_z - (jnp.sum(logits, axis=-1) - z_y)
  out = (-jax.nn.softplus(-d), -jax.nn.softplus(d), neg_log_p_sum + rho * bonus_sum)
  return out, (e, labels, rho, s, inv_z, d, bonus_sum, u_sum)


def _smoothed_bwd(bonus, residuals, cotangents):
  e, labels, rho, s, inv_z, d, bonus_sum, u_sum = residuals
  g_log_p, g_log_1m_p, g_others = cotangents
  p_y = jax.nn.sigmoid(d)
  c = g_log_p * jax.nn.sigmoid(-d) - g_log_1m_p * p_y
  k = e.shape[-1]
  a = jnp.where(c == 0.0, 0.0, -c / s) + g_others * inv_z * ((k - 1) - rho * u_sum)
  # Off the label, grad_k = e_k A + g (rho u_k - 1): the label terms' -c p_k / (1 - p_y) = -c e_k / s, and T's
  # g ((K - 1) p_k - rho p_k sum(u)). c is 0 wherever s underflows to 0 (the clamp holds log(1 - p_y) there).
  u = bonus.fused_slope_times_p(e * _fused.row_values(inv_z, after=u_sum)[..., None], u_sum)
  grad = e * _fused.row_values(a)[..., None] + g_others[..., None] * (rho * u - 1.0)
  at_label = c + g_others * ((k - 1) * p_y - rho * p_y * u_sum)
  grad_rho = jnp.sum(g_others * bonus_sum).reshape(jnp.shape(rho)).astype(rho.dtype)
  return set_at_label(grad, labels, at_label), None, grad_rho


_smoothed_terms.defvjp(_smoothed_fwd, _smoothed_bwd)


def sigmoid_encouraging_loss(
  logits,
  targets,
  *,
  log_end: float = 1.0,
  bonus_start: float = 0.0,
  bonus_rho=1.0,
  eps: float = 1e-5,
  bonus: str = "log",
  bonus_gamma: float = 2.0,
  where=None,
):
  r"""Element-wise encouraging loss on sigmoid outputs, for multi-label classification and detection.

  .. math::  L = -\log p_t + \rho\, b(p_t), \quad p_t = \sigma(z) \text{ if } t = 1 \text{ else } 1 - \sigma(z)

  with the bonus `b` of :func:`encouraging_loss` (EL paper §3 applied per binary decision; SPEC-losses §2).
  :math:`\log p_t = -\mathrm{softplus}(-s z)` and :math:`\log(1 - p_t) = -\mathrm{softplus}(s z)`, `s = 2t - 1`,
  so both are exact for any logit.

  Args:
    logits: `[...]` unnormalised scores, one per binary decision.
    targets: `[...]` 0/1 targets of the same shape. Concrete targets outside {0, 1} raise a ValueError; traced
      ones (inside `jit`) are not checked, and a value other than 0 or 1 there gives a meaningless loss.
    log_end, bonus_start, bonus_rho, eps, bonus, bonus_gamma: as in :func:`encouraging_loss`.
    where: optional bool `[...]` mask; masked entries give 0 and no gradient.

  Returns:
    float32 per-element losses of shape `[...]`.
  """
  b = Bonus(bonus, log_end, bonus_start, eps, bonus_gamma).check()
  logits, targets = _inputs.prepare_binary(logits, targets)
  signed = (2.0 * targets - 1.0) * logits
  log_p_t, log_1m_p_t = -jax.nn.softplus(-signed), -jax.nn.softplus(signed)
  loss = -log_p_t + jnp.asarray(bonus_rho, logits.dtype) * b.of_logs(log_1m_p_t, jax.nn.sigmoid(signed))
  return _inputs.apply_where(loss, where)
