r"""LogitNorm (Wei et al. 2022; HEM paper §3.3) of the logits `hidden @ weight + bias`, streamed over blocks.

`logit_norm_loss` is cross-entropy on :math:`x = z\, r`, :math:`r = 1 / (\tau (\lVert z \rVert_2 + 10^{-7}))`:
:math:`L = \mathrm{lse}(x) - x_y`. Without materialising the `[N, V]` logits:

- forward: a first pass over the blocks sums :math:`\lVert z \rVert^2` per token (a :math:`-\infty` logit counts
  as 0, as in `logit_norm_loss`); a second, with :math:`r` known, keeps an online (running-max rescaled)
  :math:`\mathrm{lse}(x)`, the label's logit :math:`z_y` and :math:`\sum_k z_k e^{x_k - m}`, whence
  :math:`\sum_k p_k z_k` with :math:`p = \mathrm{softmax}(x)`;
- backward: for a cotangent `g`, :math:`\partial L / \partial z = g\, r\, (p - e_y) + a\, z` with
  :math:`a = -\tau r^2 g (\sum_k p_k z_k - z_y) / \lVert z \rVert` (0 below the floor of the squared norm, as in
  `logit_norm_loss`), formed in one recomputation of each block.

Vocabulary sharded over a mesh axis (`vocab_axis`): the squared norms are summed over the axis (one `psum`), and the
second pass's statistics combined by a `pmax` of the shards' running maxima and one `psum` of the rescaled sums,
label logits and hits: three collectives, then the backward pass's `psum` of `d hidden`.
"""

import functools

import jax
import jax.numpy as jnp

from el_jax.losses._linear_blocks import (
  accumulation_dtype,
  block_sizes,
  finite_shift,
  flat_inputs,
  gradients,
  label_logits,
  local_labels,
  row_scan,
  vary_alike,
)
from el_jax.losses._logit_norm import NORM_EPS, SQUARED_NORM_FLOOR


def linear_logit_norm_loss(
  hidden, weight, bias, labels, where=None, *, tau: float, token_block: int, vocab_block: int, vocab_axis=None
):
  """Per-token LogitNorm losses `[...]` of :math:`z = h W + b` (see the module's docstring), with exact gradients
  with respect to `hidden`, `weight` and `bias`; arguments as for `linear_label_log_probs`, and `tau > 0`."""
  flat, batch = flat_inputs(hidden, weight, bias, labels, where, token_block, vocab_block)
  flat, sum_d_hidden = vary_alike(flat, vocab_axis)
  return _logit_norm(*flat, float(tau), token_block, vocab_block, vocab_axis, sum_d_hidden).reshape(batch)


@functools.partial(jax.custom_vjp, nondiff_argnums=(5, 6, 7, 8, 9))
def _logit_norm(hidden, weight, bias, labels, keep, tau, token_block, vocab_block, vocab_axis, sum_d_hidden):
  return _fwd(hidden, weight, bias, labels, keep, tau, token_block, vocab_block, vocab_axis, sum_d_hidden)[0]


def _finite(z):
  """`z` with its :math:`-\\infty` entries set to 0: what the norm sums."""
  return jnp.where(z == -jnp.inf, 0.0, z)


def _fwd(hidden, weight, bias, labels, keep, tau, token_block, vocab_block, vocab_axis, sum_d_hidden):
  del sum_d_hidden  # a backward-pass option
  v, acc = weight.shape[1], accumulation_dtype(hidden, weight)
  labels = local_labels(labels, v, vocab_axis)
  tb, vb = block_sizes(hidden, weight, token_block, vocab_block)

  def zeros(size):
    return (jnp.zeros(size, acc),)

  def add_squares(carry, z, fresh, is_label, v0, row_values):
    return (carry[0] + jnp.sum(jnp.where(fresh, jnp.square(_finite(z)), 0.0), axis=1),)

  (squared,) = row_scan(hidden, weight, bias, labels, zeros, add_squares, tb=tb, vb=vb)
  if vocab_axis is not None:
    squared = jax.lax.psum(squared, vocab_axis)
  root = jnp.sqrt(jnp.maximum(squared, SQUARED_NORM_FLOOR))
  r = 1.0 / (tau * (root + NORM_EPS))

  def init(size):  # running max of x, rescaled sums of e^x and of z e^x, the label's logit
    return jnp.full(size, -jnp.inf, acc), jnp.zeros(size, acc), jnp.zeros(size, acc), jnp.zeros(size, acc)

  def update(carry, z, fresh, is_label, v0, row_values):
    (row_r,), (m, s, t, z_y) = row_values, carry
    x = jnp.where(fresh[None, :], z * row_r[:, None], -jnp.inf)
    m_new = jnp.maximum(m, jnp.max(x, axis=1))
    shift = finite_shift(m_new)
    e = jnp.exp(x - shift[:, None])
    rescale = jnp.exp(m - shift)
    s, t = s * rescale + jnp.sum(e, axis=1), t * rescale + jnp.sum(e * _finite(z), axis=1)
    return m_new, s, t, z_y + jnp.sum(jnp.where(is_label, z, 0.0), axis=1)

  m, s, t, z_y = row_scan(hidden, weight, bias, labels, init, update, tb=tb, vb=vb, rows=(r,))
  hit = (labels >= 0) & (labels < v)  # the label is one of this device's columns
  if vocab_axis is None:
    (z_y,) = label_logits(z_y, hit, None)
  else:  # the shards' sums rescaled to their largest running max, then summed with the labels' logits
    shift = finite_shift(jax.lax.pmax(m, vocab_axis))
    rescale = jnp.exp(m - shift)
    m, (z_y, s, t) = shift, label_logits(z_y, hit, vocab_axis, (s * rescale, t * rescale))
  lse = finite_shift(m) + jnp.log(s)
  mean_z = t / s  # sum_k p_k z_k
  loss = lse - z_y * r
  return loss, (hidden, weight, bias, labels, keep, squared, root, r, lse, mean_z, z_y)


def _bwd(tau, token_block, vocab_block, vocab_axis, sum_d_hidden, residuals, g):
  hidden, weight, bias, labels, keep, squared, root, r, lse, mean_z, z_y = residuals
  acc = accumulation_dtype(hidden, weight)
  g = jnp.where(keep, g, 0.0).astype(acc)  # (masked tokens may have NaN statistics)
  a = jnp.where(keep & (squared > SQUARED_NORM_FLOOR), -tau * r * r * g * (mean_z - z_y) / root, 0.0)
  g_r = jnp.where(keep, g * r, 0.0)
  tb, vb = block_sizes(hidden, weight, token_block, vocab_block)

  def dz_block(z, is_label, v0, rows):
    p = jnp.exp(z * rows(r)[:, None] - rows(lse)[:, None])
    return rows(g_r)[:, None] * (p - is_label) + rows(a)[:, None] * _finite(z)

  grads = gradients(
    hidden, weight, bias, labels, keep, dz_block, tb=tb, vb=vb, vocab_axis=vocab_axis, sum_d_hidden=sum_d_hidden
  )
  return *grads, None, None


_logit_norm.defvjp(_fwd, _bwd)
