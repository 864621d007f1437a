r"""`(log p_y, log(1 - p_y))` of the logits `hidden @ weight + bias`, streamed over blocks, never holding them all.

A language model's classifier is a projection of `N` hidden states of width `D` onto a vocabulary of `V` tokens;
the `[N, V]` logits (and their gradient) dominate the memory of the loss. `linear_label_log_probs` computes what
the :math:`p_y` family of losses needs from them (see `label_log_probs`) one `[token_block, vocab_block]` block
at a time:

- forward: for each block of tokens, a loop over blocks of vocabulary computes the logit block in float32 and
  keeps, per token, the label's logit :math:`z_y` and an online (running-max rescaled) sum over the other classes,
  :math:`\mathrm{lse}_{\ne y} = \log \sum_{k \ne y} e^{z_k}`. The sum over all classes is never accumulated on its
  own: :math:`\mathrm{lse} = \mathrm{logaddexp}(z_y, \mathrm{lse}_{\ne y})`, so that
  :math:`\log(1 - p_y) = \mathrm{lse}_{\ne y} - \mathrm{lse}` is formed without subtracting nearly equal sums
  (which would cancel as :math:`p_y \to 1`). With :math:`d = z_y - \mathrm{lse}_{\ne y}` (EL paper Eq. 8),
  :math:`\log p_y = -\mathrm{softplus}(-d)` and :math:`\log(1 - p_y) = -\mathrm{softplus}(d)`, as in
  `label_log_probs`.
- backward: for cotangents :math:`(g_1, g_2)` the logit gradient is :math:`c\,(e_y - r)` with
  :math:`c = g_1 (1 - p_y) - g_2 p_y` and :math:`r_k = e^{z_k - \mathrm{lse}_{\ne y}}` off the label,
  :math:`r_y = 0` (derived in `label_log_probs`: :math:`\partial \log p_y / \partial z = (1 - p_y)(e_y - r)` and
  :math:`\partial \log(1 - p_y) / \partial z = -p_y (e_y - r)`, because :math:`p_k = (1 - p_y) r_k` off the label).
  The backward pass recomputes each logit block once and accumulates the gradients from it (`_linear_blocks`).
- optional third output (`mean_log_p=True`, for label smoothing): the mean over the vocabulary of the
  log-probabilities, :math:`\bar\ell = \tfrac{1}{V} \sum_k \log p_k = S / V - \mathrm{lse}` with
  :math:`S = \sum_k z_k` accumulated per token alongside the other sums (the overlapping columns of the last
  block masked out) and :math:`\mathrm{lse} = \mathrm{logaddexp}(z_y, \mathrm{lse}_{\ne y})`. Its gradient is
  :math:`\partial \bar\ell / \partial z_k = 1/V - p_k`, so for a cotangent :math:`g_3` the logit gradient gains
  :math:`g_3 / V - g_3 p_k`, with :math:`p_y = \sigma(d)` on the label and :math:`p_k = \sigma(-d)\, r_k` off
  it: still one :math:`e^{z - \mathrm{lse}_{\ne y}}` per entry, in the same block loops.
- optional last output (`others_bonus=b`, for EL with label smoothing): the sum of a bonus over the other classes,
  :math:`B = \sum_{k \ne y} b(p_k)`. Each :math:`p_k = e^{z_k - \mathrm{lse}}` needs the whole row's
  log-sum-exp, so the forward pass makes a second pass over the blocks once the first has finished, summing
  :math:`b(p_k)` and :math:`u_k = p_k b'(p_k)` (:math:`U = \sum_{k \ne y} u_k`). Its gradient is
  :math:`\partial B / \partial z_j = [j \ne y]\, u_j - p_j U`, so for a cotangent :math:`g_4` the backward pass's
  one recomputation of each block adds :math:`g_4 u_k` off the label and folds :math:`-g_4 U p` into the
  coefficients of the label and of :math:`r`: five block matmuls in all, against four without it.
- optional last output (`others_collision=True`, for the softmax's squared error): the collision probability of
  the other classes' distribution, :math:`\rho = \sum_{k \ne y} r_k^2`, so that
  :math:`\sum_{k \ne y} p_k^2 = (1 - p_y)^2 \rho`. It comes from one more running sum in the same pass,
  :math:`\sum_{k \ne y} e^{2 (z_k - m)}` rescaled by :math:`e^{2 (m_{old} - m)}` as the max :math:`m` grows
  (the square of the terms already exponentiated), and :math:`\rho = s_2 / s^2`. Its gradient is
  :math:`\partial \rho / \partial z_k = 2 r_k (r_k - \rho)` off the label and 0 on it, so for a cotangent
  :math:`g_5` the backward pass adds :math:`2 g_5 r_k^2` off the label and :math:`2 g_5 \rho` to the
  coefficient of :math:`r`.

The blocks, their memory bound and the blocks that do not divide `N` or `V`: see `_linear_blocks`.

Vocabulary sharded over a mesh axis (`vocab_axis`, inside `jax.shard_map`): each device holds a shard of `V_s`
columns of `weight` (and of `bias`), the global columns `[i V_s, (i + 1) V_s)` for its index `i` on the axis, and
streams only those. Labels stay global ids. Per token a shard computes the label's logit when the label falls in
its columns (0 otherwise, with a count of hits) and :math:`\mathrm{lse}_{\ne y}` over its other columns; the row
statistics are combined across the axis by a `pmax` of the shards' :math:`\mathrm{lse}_{\ne y}` and one `psum`
of the stacked `[3, N]` rescaled sums, label logits and hits (`[4, N]` with the sums of logits :math:`S` when
`mean_log_p=True`): two collectives of `[N]`-sized statistics in the forward pass (a third, a `psum` of the
shards' `[2, N]` bonus sums :math:`B` and :math:`U`, with `others_bonus`), whose outputs are the same on every
shard. The backward pass recomputes the shard's logit blocks against the combined statistics; `d weight` and
`d bias` stay local to the shard, and `d hidden` (a partial sum over the shard's columns) is summed over the axis:
one `psum` of `[N, D]`, the backward's one collective.
"""

import functools

import jax
import jax.numpy as jnp

from el_jax.losses._bonus import Bonus
from el_jax.losses._linear_blocks import (
  TOKEN_BLOCK,
  VOCAB_BLOCK,
  accumulation_dtype,
  block_sizes,
  finite_shift,
  flat_inputs,
  gradients,
  label_logits,
  local_labels,
  row_scan,
  vary_alike,
  vocab_size,
)


def linear_label_log_probs(
  hidden,
  weight,
  bias,
  labels,
  where=None,
  *,
  token_block: int = TOKEN_BLOCK,
  vocab_block: int = VOCAB_BLOCK,
  vocab_axis: str | None = None,
  mean_log_p: bool = False,
  others_bonus: Bonus | None = None,
  others_collision: bool = False,
):
  r"""`(log p_y, log(1 - p_y))` `[...]` of the logits :math:`z = h W + b`, without materialising `[N, V]` logits.

  Exact (no approximation) values and gradients with respect to `hidden`, `weight` and `bias` for any cotangents
  of the two outputs; see the module's docstring for the formulas and the memory bound. Logits are accumulated
  in float32 (float64 for float64 inputs) whatever the inputs' dtype; the backward pass multiplies the logit
  gradient, rounded to the inputs' dtype, with the inputs (as a materialised bfloat16 classifier does) and
  accumulates in float32. Gradients come in the inputs' dtypes.

  When every logit but the label's is :math:`-\infty` (or `V = 1`), :math:`p_y = 1` exactly: the outputs are
  `(0, -inf)`, as for `label_log_probs`. A label outside `[0, V)` gives NaN outputs (and NaN gradients) for its
  token unless `where` masks it.

  Args:
    hidden: `[..., D]` floating hidden states.
    weight: `[D, V]` floating output projection.
    bias: `[V]` floating bias, or None.
    labels: `[...]` integer labels in `[0, V)`.
    where: optional bool `[...]`; tokens where it is False get a zero gradient (their outputs are unspecified:
      mask them in the loss), whatever their hidden states (NaN included) and labels.
    token_block: tokens per block (clipped to the number of tokens).
    vocab_block: vocabulary entries per block (clipped to `V`).
    vocab_axis: None, or the name of the mesh axis over which `weight`'s vocabulary dimension and `bias` are
      sharded, when called inside `jax.shard_map` over that axis: `weight` is then this device's `[D, V_s]` shard,
      holding the global columns `[i V_s, (i + 1) V_s)` for the device's index `i` on the axis (the layout of
      `P(None, vocab_axis)`), and `labels` are global ids in `[0, V_s * axis size)`. The outputs are the same
      on every device of the axis; see the module's docstring for the collectives.
    mean_log_p: also return :math:`\tfrac{1}{V} \sum_k \log p_k` (what label smoothing needs), from one more
      per-token sum, that of the logits, in the same pass (with exact gradients too).
    others_bonus: None, or an EL bonus `b` (a checked `Bonus`): also return :math:`\sum_{k \ne y} b(p_k)` (what
      EL with label smoothing needs), from a second pass over the blocks (with exact gradients too).
    others_collision: also return :math:`\rho = \sum_{k \ne y} p_k^2 / (1 - p_y)^2` (what the softmax's squared
      error needs; 0 when every other logit is :math:`-\infty`), from one more per-token sum in the same pass
      (with exact gradients too).

  Returns:
    `(log_p_y, log_1m_p_y)`, then `mean_log_p`, the bonus sum and :math:`\rho` when asked for, in that order;
    each `[...]` in float32 (float64 for float64 inputs).
  """
  flat, batch = flat_inputs(hidden, weight, bias, labels, where, token_block, vocab_block)
  flat, sum_d_hidden = vary_alike(flat, vocab_axis)
  options = (mean_log_p, others_bonus, others_collision)
  outs = _streamed(*flat, token_block, vocab_block, vocab_axis, sum_d_hidden, *options)
  return tuple(out.reshape(batch) for out in outs)


@functools.partial(jax.custom_vjp, nondiff_argnums=(5, 6, 7, 8, 9, 10, 11))
def _streamed(hidden, weight, bias, labels, keep, token_block, vocab_block, vocab_axis, sum_d_hidden, *options):
  return _fwd(hidden, weight, bias, labels, keep, token_block, vocab_block, vocab_axis, sum_d_hidden, *options)[0]


def _fwd(
  hidden,
  weight,
  bias,
  labels,
  keep,
  token_block,
  vocab_block,
  vocab_axis,
  sum_d_hidden,
  mean_log_p,
  others_bonus,
  others_collision,
):
  del sum_d_hidden  # a backward-pass option
  v, acc = weight.shape[1], accumulation_dtype(hidden, weight)
  labels = local_labels(labels, v, vocab_axis)
  tb, vb = block_sizes(hidden, weight, token_block, vocab_block)

  def init(size):  # running max, rescaled sums of e^z and e^2z over the other classes, the label's logit, sum of z
    return jnp.full(size, -jnp.inf, acc), *(jnp.zeros(size, acc) for _ in range(4))

  def update(carry, z, fresh, is_label, v0, row_values):
    m, s, s_2, z_y, sum_z = carry
    others = jnp.where(fresh & ~is_label, z, -jnp.inf)
    m_new = jnp.maximum(m, jnp.max(others, axis=1))
    shift = finite_shift(m_new)
    scale, e = jnp.exp(m - shift), jnp.exp(others - shift[:, None])
    s = s * scale + jnp.sum(e, axis=1)
    if others_collision:
      s_2 = s_2 * jnp.square(scale) + jnp.sum(jnp.square(e), axis=1)
    if mean_log_p:
      sum_z = sum_z + jnp.sum(jnp.where(fresh, z, 0.0), axis=1)
    return m_new, s, s_2, z_y + jnp.sum(jnp.where(is_label, z, 0.0), axis=1), sum_z

  def finish(carry):  # lse_others is -inf and rho 0 when every other logit is -inf (s = 0); else s >= 1
    m, s, s_2, z_y, sum_z = carry
    return finite_shift(m) + jnp.log(s), jnp.where(s > 0, s_2 / jnp.square(s), 0.0), z_y, sum_z

  lse_others, rho, z_y, sum_z = row_scan(hidden, weight, bias, labels, init, update, tb=tb, vb=vb, finish=finish)
  hit = (labels >= 0) & (labels < v)  # the label is one of this device's columns
  if vocab_axis is None:
    (z_y,) = label_logits(z_y, hit, None)
  else:  # the shards' lse_others log-sum-exp'd (a pmax, then one psum with the labels' logits and the other sums)
    shift = finite_shift(jax.lax.pmax(lse_others, vocab_axis))
    share = jnp.exp(lse_others - shift)  # a shard's sum of e^(z - shift); its sum of e^2(z - shift) is share^2 rho
    summed = (share, *([sum_z] if mean_log_p else []), *([jnp.square(share) * rho] if others_collision else []))
    z_y, total, *rest = label_logits(z_y, hit, vocab_axis, summed)
    lse_others = shift + jnp.log(total)
    sum_z = rest[0] if mean_log_p else None
    rho = jnp.where(total > 0, rest[-1] / jnp.square(total), 0.0) if others_collision else rho
  d = z_y - lse_others  # log p_y - log(1 - p_y)
  out = (-jax.nn.softplus(-d), -jax.nn.softplus(d))
  lse = jnp.logaddexp(z_y, lse_others)
  if mean_log_p:  # S / V - lse
    out = (*out, sum_z / vocab_size(v, vocab_axis) - lse)
  u_sum = jnp.zeros_like(d)
  if others_bonus is not None:
    bonus_sum, u_sum = _bonus_sums(hidden, weight, bias, labels, lse, others_bonus, tb, vb, vocab_axis)
    out = (*out, bonus_sum)
  if others_collision:
    out = (*out, rho)
  return out, (hidden, weight, bias, labels, keep, lse_others, d, u_sum, rho)


def _bonus_sums(hidden, weight, bias, labels, lse, bonus: Bonus, tb: int, vb: int, vocab_axis):
  """`(B, U)` `[N]`: the sums over the other classes of :math:`b(p_k)` and of :math:`u_k = p_k b'(p_k)`, with
  :math:`p_k = e^{z_k - \\mathrm{lse}}`, from a second pass over the blocks (summed over `vocab_axis`)."""
  acc = accumulation_dtype(hidden, weight)

  def update(carry, z, fresh, is_label, v0, row_values):
    (row_lse,), (b_sum, u_sum) = row_values, carry
    others, p = fresh & ~is_label, jnp.exp(z - row_lse[:, None])
    b_sum = b_sum + jnp.sum(jnp.where(others, bonus.of_p(p), 0.0), axis=1)
    return b_sum, u_sum + jnp.sum(jnp.where(others, bonus.slope_times_p(p), 0.0), axis=1)

  def init(size):
    return jnp.zeros(size, acc), jnp.zeros(size, acc)

  sums = row_scan(hidden, weight, bias, labels, init, update, tb=tb, vb=vb, rows=(lse,))
  return sums if vocab_axis is None else tuple(jax.lax.psum(jnp.stack(sums), vocab_axis))


def _bwd(
  token_block, vocab_block, vocab_axis, sum_d_hidden, mean_log_p, others_bonus, others_collision, residuals, cotangents
):
  hidden, weight, bias, labels, keep, lse_others, d, u_sum, rho = residuals
  g_log_p, g_log_1m_p, *extra = cotangents
  extra = iter(extra)  # the cotangents of the optional outputs, in their order
  v, acc = weight.shape[1], accumulation_dtype(hidden, weight)
  p_y, q_y = jax.nn.sigmoid(d), jax.nn.sigmoid(-d)  # p_y and 1 - p_y
  c = g_log_p * q_y - g_log_1m_p * p_y
  # dz = c_y on the label and -c_r r off it: c_y = c_r = c, and then the extra outputs' terms. The mean
  # log-probability's cotangent g_3 adds g_3 / V everywhere, -g_3 p_y to c_y and g_3 (1 - p_y) to c_r; the bonus
  # sum's g_4 adds g_4 u_k off the label, -g_4 U p_y to c_y and g_4 U (1 - p_y) to c_r; rho's g_5 adds
  # 2 g_5 r_k^2 off the label and 2 g_5 rho to c_r.
  c_y = c_r = c
  if mean_log_p:
    g_3 = jnp.where(keep, next(extra), 0.0).astype(acc)
    c_y, c_r = c_y - g_3 * p_y, c_r + g_3 * q_y
    g_uniform = g_3 / vocab_size(v, vocab_axis)
  if others_bonus is not None:
    g_4 = jnp.where(keep, next(extra), 0.0).astype(acc)
    c_y, c_r = c_y - g_4 * u_sum * p_y, c_r + g_4 * u_sum * q_y
  if others_collision:
    g_5 = 2.0 * jnp.where(keep, next(extra), 0.0).astype(acc)
    c_r = c_r + g_5 * rho
  # (masked tokens may have a NaN d: their coefficients are set to 0, not multiplied by it)
  c_y, c_r = (jnp.where(keep, x, 0.0).astype(acc) for x in (c_y, c_r))
  # r_k = exp(z_k - lse_others); when lse_others = -inf every other logit is -inf and r must be 0: exp(-inf - inf).
  r_shift = jnp.where(lse_others == -jnp.inf, jnp.inf, lse_others).astype(acc)

  def dz_block(z, is_label, v0, rows):
    r = jnp.exp(z - rows(r_shift)[:, None])
    dz_others = -rows(c_r)[:, None] * r
    if others_bonus is not None:  # u_k = p_k b'(p_k), p_k = (1 - p_y) r_k
      dz_others = dz_others + rows(g_4)[:, None] * others_bonus.slope_times_p(r * rows(q_y)[:, None])
    if others_collision:
      dz_others = dz_others + rows(g_5)[:, None] * jnp.square(r)
    dz = jnp.where(is_label, rows(c_y)[:, None], dz_others)
    return dz + rows(g_uniform)[:, None] if mean_log_p else dz

  tb, vb = block_sizes(hidden, weight, token_block, vocab_block)
  grads = gradients(
    hidden, weight, bias, labels, keep, dz_block, tb=tb, vb=vb, vocab_axis=vocab_axis, sum_d_hidden=sum_d_hidden
  )
  return *grads, None, None


_streamed.defvjp(_fwd, _bwd)
