"""The label's log-probability and log-complement, computed stably and with a CE-cost gradient.

Most losses of this package depend on the logits only through :math:`p_y`. For them the gradient is a
per-example rescaling of the cross-entropy gradient, so they can cost what cross-entropy costs if
:math:`\\log p_y` and :math:`\\log(1 - p_y)` come from one primitive whose backward pass writes a single
`[..., K]` array. `label_log_probs` is that primitive (EL paper Eq. 8 and SPEC-losses §2).
"""

import jax
import jax.numpy as jnp


def _others(logits, labels):
  """`(e, s, z_y, lse_others)` with :math:`e_k = e^{z_k - m}` off the label and 0 at it (:math:`m` the largest
  other logit), :math:`s = \\sum_k e_k \\ge 1`, :math:`z_y` and :math:`\\mathrm{logsumexp}_{k \\ne y} z_k`.
  When every other logit is :math:`-\\infty` (masked-out classes), `m` is 0 instead, `e` and `s` are 0 and
  `lse_others` is :math:`-\\infty`: :math:`p_y = 1` exactly.

  The label is knocked out with a scatter into a copy rather than a mask, so that the reductions read a plain
  array; `e` is kept for the backward pass (as cross-entropy keeps its exponentials), which then needs no `exp`.
  """
  shape = logits.shape
  flat, flat_labels = logits.reshape(-1, shape[-1]), labels.reshape(-1).astype(jnp.int32)
  rows = jnp.arange(flat.shape[0])
  z_y = flat[rows, flat_labels]
  others = flat.at[rows, flat_labels].set(-jnp.inf)
  m = jax.lax.stop_gradient(jnp.max(others, axis=-1))
  m = jnp.where(m == -jnp.inf, 0.0, m)  # (-inf) - (-inf) would be NaN; a NaN m stays NaN
  e = jnp.exp(others - m[:, None])
  s = jnp.sum(e, axis=-1)
  batch = shape[:-1]
  return e.reshape(shape), s.reshape(batch), z_y.reshape(batch), (m + jnp.log(s)).reshape(batch)


def set_at_label(values, labels, at_label):
  """`values` `[..., K]` with the entries at `labels` replaced by `at_label` `[...]`."""
  shape = values.shape
  flat = values.reshape(-1, shape[-1])
  rows = jnp.arange(flat.shape[0])
  flat = flat.at[rows, labels.reshape(-1).astype(jnp.int32)].set(at_label.reshape(-1))
  return flat.reshape(shape)


@jax.custom_vjp
def label_log_probs(logits, labels):
  r"""`(log p_y, log(1 - p_y))` for float logits `[..., K]` and integer labels `[...]`.

  With :math:`d = z_y - \mathrm{logsumexp}_{k \ne y} z_k` (Eq. 8 of the EL paper),
  :math:`\log p_y = -\mathrm{softplus}(-d)` and :math:`\log(1 - p_y) = -\mathrm{softplus}(d)`: both exact for
  logits anywhere, including :math:`p_y` within float precision of 0 or 1.

  The backward pass uses :math:`\partial \log p_y / \partial z = e_y - p` and
  :math:`\partial \log(1 - p_y) / \partial z = -\frac{p_y}{1 - p_y} (e_y - p)`. For cotangents :math:`(g_1, g_2)`
  the gradient is :math:`c\,(e_y - r)` with :math:`c = g_1 (1 - p_y) - g_2 p_y` and
  :math:`r_k = e^{z_k - \mathrm{logsumexp}_{j \ne y} z_j}` for :math:`k \ne y`, :math:`r_y = 0`
  (so that :math:`p = (1 - p_y) r` off the label): one `[..., K]` write from the exponentials the forward
  pass kept, as for cross-entropy, with no overflow for any :math:`p_y`. When every other logit is
  :math:`-\infty`, `r` is 0 and the gradient is `c` at the label (0 for cross-entropy).
  """
  return _fwd(logits, labels)[0]


def _fwd(logits, labels):
  e, s, z_y, lse_others = _others(logits, labels)
  d = z_y - lse_others
  return (-jax.nn.softplus(-d), -jax.nn.softplus(d)), (e, labels, s, d)


def _bwd(residuals, cotangents):
  e, labels, s, d = residuals
  g_log_p, g_log_1m_p = cotangents
  c = g_log_p * jax.nn.sigmoid(-d) - g_log_1m_p * jax.nn.sigmoid(d)
  scale = jnp.where(s == 0.0, 0.0, -c / s)  # s = 0 only when every other logit is -inf (then e = 0)
  return set_at_label(scale[..., None] * e, labels, c), None


label_log_probs.defvjp(_fwd, _bwd)
