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
  For each block of vocabulary, a loop over blocks of tokens recomputes the logit block, forms its gradient
  `dz` and accumulates :math:`\partial h \mathrel{+}= dz\, W_b^\top`, :math:`\partial W_b \mathrel{+}= h^\top dz`
  and :math:`\partial b_b \mathrel{+}= \sum_{\text{tokens}} dz`.
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

Memory: the inputs, the `[N]` statistics, one float32 `[N, D]` accumulator for the hidden states' gradient (the
gradients of `weight` and `bias` are written block by block in their own dtypes) and a few (two or three) float32
`[token_block, vocab_block]` blocks: :math:`O(N D + D V + \text{token\_block} \cdot \text{vocab\_block})`.

Vocabulary sharded over a mesh axis (`vocab_axis`, inside `jax.shard_map`): each device holds a shard of `V_s`
columns of `weight` (and of `bias`), the global columns `[i V_s, (i + 1) V_s)` for its index `i` on the axis, and
streams only those. Labels stay global ids. Per token a shard computes the label's logit when the label falls in
its columns (0 otherwise, with a count of hits) and :math:`\mathrm{lse}_{\ne y}` over its other columns; the row
statistics are combined across the axis by a `pmax` of the shards' :math:`\mathrm{lse}_{\ne y}` and one `psum`
of the stacked `[3, N]` rescaled sums, label logits and hits (`[4, N]` with the sums of logits :math:`S` when
`mean_log_p=True`): two collectives of `[N]`-sized statistics in the forward pass (a third, a `psum` of the
shards' `[2, N]` bonus sums :math:`B` and :math:`U`, with `others_bonus`), whose outputs are the same on every
shard. The backward pass recomputes the shard's logit blocks
against the combined statistics; `d weight` and `d bias` stay local to the shard, and `d hidden` (a partial sum
over the shard's columns) is summed over the axis: one `psum` of `[N, D]`, the backward's one collective. Tokens
sharded over another axis (data parallelism), with or without `vocab_axis`, need nothing: each device has its
own tokens, and under `shard_map`'s varying-axes checks the gradients of `weight` and `bias` are summed over that
axis by the transpose of `shard_map` (without the checks, the caller sums them, as for any gradient).

Blocks that do not divide `N` or `V` are handled without padding (which would copy `weight`): the last block is
moved back to end at the last row or column, and the entries it shares with the block before it are masked out
of every sum and gradient.
"""

import functools

import jax
import jax.numpy as jnp

from el_jax.losses import _inputs
from el_jax.losses._bonus import Bonus

TOKEN_BLOCK = 2048
VOCAB_BLOCK = 8192
# Defaults: a float32 logit block of 2048 x 8192 is 64 MiB (the loops hold two or three such blocks at a time, as
# measured with XLA:CPU's memory analysis), small beside a model's activations, and large enough that each block's
# matmul (2 * 2048 * 8192 * D flops) outweighs the loop's per-step cost on an accelerator.


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

  Returns:
    `(log_p_y, log_1m_p_y)`, then `mean_log_p` when asked for, then the bonus sum when asked for; each `[...]` in
    float32 (float64 for float64 inputs).
  """
  hidden, weight, bias, labels = check_inputs(hidden, weight, bias, labels, token_block, vocab_block)
  batch, width = hidden.shape[:-1], hidden.shape[-1]
  bias = jnp.zeros(weight.shape[1], accumulation_dtype(hidden, weight)) if bias is None else bias
  keep = jnp.ones(batch, bool) if where is None else _inputs.as_mask(where, batch)
  flat = (hidden.reshape(-1, width), weight, bias, labels.reshape(-1), keep.reshape(-1))
  flat, sum_d_hidden = _vary_alike(flat, vocab_axis)
  outs = _streamed(*flat, token_block, vocab_block, vocab_axis, sum_d_hidden, mean_log_p, others_bonus)
  return tuple(out.reshape(batch) for out in outs)


def check_inputs(hidden, weight, bias, labels, token_block: int, vocab_block: int):
  """`(hidden, weight, bias, labels)` as arrays, after checking their dtypes and shapes and the block sizes."""
  hidden, weight, labels = jnp.asarray(hidden), jnp.asarray(weight), jnp.asarray(labels)
  bias = None if bias is None else jnp.asarray(bias)
  for name, array in (("hidden", hidden), ("weight", weight), ("bias", bias)):
    if array is not None and not jnp.issubdtype(array.dtype, jnp.floating):
      raise TypeError(f"{name} must be a floating-point array, got dtype {array.dtype}.")
  if not jnp.issubdtype(labels.dtype, jnp.integer):
    raise TypeError(f"labels must be integer class indices, got dtype {labels.dtype}.")
  if hidden.ndim < 1 or weight.ndim != 2 or weight.shape[0] != hidden.shape[-1]:
    raise ValueError(
      f"hidden must be [..., D] and weight [D, V] with the same D, got hidden {hidden.shape} and weight {weight.shape}."
    )
  if bias is not None and bias.shape != weight.shape[1:]:
    raise ValueError(f"bias must be [V] = {weight.shape[1:]}, got {bias.shape}.")
  if labels.shape != hidden.shape[:-1]:
    raise ValueError(
      f"labels shape {labels.shape} does not match hidden shape {hidden.shape}: expected labels of shape "
      f"{hidden.shape[:-1]} (one integer class per hidden state)."
    )
  if token_block < 1 or vocab_block < 1:
    raise ValueError(f"token_block and vocab_block must be >= 1, got {token_block} and {vocab_block}.")
  return hidden, weight, bias, labels


def _vary_alike(arrays, vocab_axis: str | None):
  """`(arrays, sum_d_hidden)`: under `shard_map`'s varying-axes checks (`check_vma=True`), `arrays` each cast to
  vary over every mesh axis any of them varies over, so that each gradient the backward pass forms on a device
  has its primal's type; the casts' transposes then sum the gradients over the axes their inputs did not vary
  over (`d hidden` over `vocab_axis`, `d weight` and `d bias` over the token axes), and `sum_d_hidden` is False.
  Outside `shard_map` the arrays are returned as they are; so they are inside it without the checks, where
  `sum_d_hidden` is True when the vocabulary is sharded: the backward pass then sums `d hidden` over `vocab_axis`
  itself (and the caller sums `d weight` and `d bias` over the token axes, as for any gradient without them)."""
  varying = [_vma(a) for a in arrays]
  axes = frozenset().union(*varying)
  if vocab_axis is not None and axes and vocab_axis not in varying[1]:
    # With the checks on, a weight that does not vary over vocab_axis is replicated: each device would take the
    # whole vocabulary for its shard, and the combined statistics would count every class axis_size times.
    raise ValueError(
      f"vocab_axis={vocab_axis!r}, but weight does not vary over that mesh axis: shard weight's vocabulary "
      f"dimension over it (shard_map in_specs P(None, {vocab_axis!r}), and bias P({vocab_axis!r})), or pass "
      "vocab_axis=None for a replicated weight."
    )
  if vocab_axis is not None and vocab_axis not in axes:
    return arrays, True
  cast = tuple(
    jax.lax.pcast(a, tuple(sorted(axes - v)), to="varying") if axes - v else a
    for a, v in zip(arrays, varying, strict=True)
  )
  return cast, False


def _vma(x):
  """The mesh axes `x` varies over inside `shard_map` with `check_vma=True`; empty elsewhere."""
  aval = jax.typeof(x)
  manual = getattr(aval, "manual_axis_type", None)  # JAX >= 0.9; `aval.vma` before
  return frozenset(getattr(aval, "vma", ()) if manual is None else manual.varying)


def _vary_as(tree, like):
  """`tree`'s arrays cast to vary over the mesh axes `like` varies over (a no-op outside `shard_map`): loop carries
  start as constants but take the inputs' varying axes."""
  return jax.tree.map(
    lambda x: jax.lax.pcast(x, tuple(sorted(_vma(like) - _vma(x))), to="varying") if _vma(like) - _vma(x) else x, tree
  )


def accumulation_dtype(hidden, weight):
  """float32, or float64 when an input is float64: the dtype of the logits and of every sum."""
  return jnp.promote_types(jnp.result_type(hidden, weight), jnp.float32)


def _blocks(count: int, block: int):
  """`(block size, number of blocks)` for `count` entries: the block is clipped to `count`."""
  block = max(1, min(block, count))
  return block, -(-count // block)


def _start(index, block: int, count: int):
  """The first entry of block `index`, moved back for the last block so that it ends at entry `count - 1`."""
  return jnp.minimum(index * block, count - block)


def _fresh(index, block: int, count: int):
  """`(start, fresh)`: block `index`'s first entry and a bool `[block]` that is False on the entries the block
  shares with the block before it (the last block moved back by `_start`)."""
  start = _start(index, block, count)
  return start, start + jnp.arange(block) >= index * block


def _finite_shift(m):
  """`m`, or 0 where it is :math:`-\\infty`: a shift for :math:`e^{z - m}` free of :math:`-\\infty + \\infty`."""
  return jnp.where(m == -jnp.inf, 0.0, m)


def _logits(h, w, b, acc):
  """The logit block :math:`h W_b + b_b` in the accumulation dtype."""
  return jnp.dot(h, w, preferred_element_type=acc) + b.astype(acc)


def _combine(lse_others, z_y, hit, sum_z, vocab_axis: str):
  """The row statistics of the whole vocabulary from each shard's: `lse_others` log-sum-exp'd across the axis, the
  label's logit summed from the one shard that holds it (NaN when no shard or several do), and the sums of logits
  `sum_z` (None when not kept) summed. Two collectives: a `pmax` of `[N]` and a `psum` of `[3, N]` (`[4, N]`)."""
  shift = _finite_shift(jax.lax.pmax(lse_others, vocab_axis))
  parts = [jnp.exp(lse_others - shift), jnp.where(hit, z_y, 0.0), hit.astype(z_y.dtype)]
  total, z_y, hits, *sum_z = jax.lax.psum(jnp.stack(parts + ([] if sum_z is None else [sum_z])), vocab_axis)
  return shift + jnp.log(total), jnp.where(hits == 1, z_y, jnp.nan), (sum_z or [None])[0]


def _local_labels(labels, v: int, vocab_axis):
  """The labels as columns of this device's vocabulary shard (global ids when the vocabulary is not sharded)."""
  return labels if vocab_axis is None else labels - jax.lax.axis_index(vocab_axis) * v


def _vocab_size(v: int, vocab_axis):
  """The size of the whole vocabulary, of which this device holds `v` columns."""
  return v if vocab_axis is None else v * jax.lax.axis_size(vocab_axis)


@functools.partial(jax.custom_vjp, nondiff_argnums=(5, 6, 7, 8, 9, 10))
def _streamed(
  hidden, weight, bias, labels, keep, token_block, vocab_block, vocab_axis, sum_d_hidden, mean_log_p, others_bonus
):
  return _fwd(
    hidden, weight, bias, labels, keep, token_block, vocab_block, vocab_axis, sum_d_hidden, mean_log_p, others_bonus
  )[0]


def _fwd(
  hidden, weight, bias, labels, keep, token_block, vocab_block, vocab_axis, sum_d_hidden, mean_log_p, others_bonus
):
  del sum_d_hidden  # a backward-pass option
  (n, _), v = hidden.shape, weight.shape[1]
  acc = accumulation_dtype(hidden, weight)
  labels = _local_labels(labels, v, vocab_axis)
  tb, n_tb = _blocks(n, token_block)
  vb, n_vb = _blocks(v, vocab_block)

  def token_step(i, stats):
    t0 = _start(i, tb, n)  # rows shared with the previous block are recomputed and written again, identically
    h = jax.lax.dynamic_slice_in_dim(hidden, t0, tb)
    y = jax.lax.dynamic_slice_in_dim(labels, t0, tb)

    def vocab_step(j, carry):
      m, s, z_y, sum_z = carry  # running max and rescaled sum over the other classes, the label's logit, sum of z
      v0, fresh = _fresh(j, vb, v)
      z = _logits(h, jax.lax.dynamic_slice_in_dim(weight, v0, vb, 1), jax.lax.dynamic_slice_in_dim(bias, v0, vb), acc)
      is_label = (v0 + jnp.arange(vb) == y[:, None]) & fresh
      others = jnp.where(fresh & ~is_label, z, -jnp.inf)
      m_new = jnp.maximum(m, jnp.max(others, axis=1))
      shift = _finite_shift(m_new)
      s = s * jnp.exp(m - shift) + jnp.sum(jnp.exp(others - shift[:, None]), axis=1)
      if mean_log_p:
        sum_z = sum_z + jnp.sum(jnp.where(fresh, z, 0.0), axis=1)
      return m_new, s, z_y + jnp.sum(jnp.where(is_label, z, 0.0), axis=1), sum_z

    init = _vary_as((jnp.full(tb, -jnp.inf, acc), jnp.zeros(tb, acc), jnp.zeros(tb, acc), jnp.zeros(tb, acc)), hidden)
    m, s, z_y, sum_z = jax.lax.fori_loop(0, n_vb, vocab_step, init)
    lse_others = _finite_shift(m) + jnp.log(s)  # -inf when every other logit is -inf (s = 0)
    new = (lse_others, z_y, sum_z)
    return tuple(jax.lax.dynamic_update_slice(a, x, (t0,)) for a, x in zip(stats, new, strict=True))

  init = _vary_as((jnp.zeros(n, acc), jnp.zeros(n, acc), jnp.zeros(n, acc)), hidden)
  lse_others, z_y, sum_z = jax.lax.fori_loop(0, n_tb, token_step, init)
  hit = (labels >= 0) & (labels < v)  # the label is one of this device's columns
  if vocab_axis is None:
    z_y = jnp.where(hit, z_y, jnp.nan)  # a label that matched no column
  else:
    lse_others, z_y, sum_z = _combine(lse_others, z_y, hit, sum_z if mean_log_p else None, vocab_axis)
  d = z_y - lse_others  # log p_y - log(1 - p_y)
  out = (-jax.nn.softplus(-d), -jax.nn.softplus(d))
  lse = jnp.logaddexp(z_y, lse_others)
  if mean_log_p:  # S / V - lse
    out = (*out, sum_z / _vocab_size(v, vocab_axis) - lse)
  u_sum = jnp.zeros_like(d)
  if others_bonus is not None:
    bonus_sum, u_sum = _bonus_sums(hidden, weight, bias, labels, lse, others_bonus, tb, vb, vocab_axis)
    out = (*out, bonus_sum)
  return out, (hidden, weight, bias, labels, keep, lse_others, d, u_sum)


def _bonus_sums(hidden, weight, bias, labels, lse, bonus: Bonus, tb: int, vb: int, vocab_axis):
  """`(B, U)` `[N]`: the sums over the other classes of :math:`b(p_k)` and of :math:`u_k = p_k b'(p_k)`, with
  :math:`p_k = e^{z_k - \\mathrm{lse}}`, from a second pass over the blocks (summed over `vocab_axis`)."""
  (n, _), v = hidden.shape, weight.shape[1]
  acc = accumulation_dtype(hidden, weight)

  def token_step(i, sums):
    t0 = _start(i, tb, n)
    h, y, row_lse = (jax.lax.dynamic_slice_in_dim(a, t0, tb) for a in (hidden, labels, lse))

    def vocab_step(j, carry):
      v0, fresh = _fresh(j, vb, v)
      z = _logits(h, jax.lax.dynamic_slice_in_dim(weight, v0, vb, 1), jax.lax.dynamic_slice_in_dim(bias, v0, vb), acc)
      others = fresh & (v0 + jnp.arange(vb) != y[:, None])
      p = jnp.exp(z - row_lse[:, None])
      b_sum, u_sum = carry
      b_sum = b_sum + jnp.sum(jnp.where(others, bonus.of_p(p), 0.0), axis=1)
      return b_sum, u_sum + jnp.sum(jnp.where(others, bonus.slope_times_p(p), 0.0), axis=1)

    new = jax.lax.fori_loop(0, -(-v // vb), vocab_step, _vary_as((jnp.zeros(tb, acc), jnp.zeros(tb, acc)), hidden))
    return tuple(jax.lax.dynamic_update_slice(a, x, (t0,)) for a, x in zip(sums, new, strict=True))

  init = _vary_as((jnp.zeros(n, acc), jnp.zeros(n, acc)), hidden)
  sums = jax.lax.fori_loop(0, -(-n // tb), token_step, init)
  return sums if vocab_axis is None else tuple(jax.lax.psum(jnp.stack(sums), vocab_axis))


def _bwd(token_block, vocab_block, vocab_axis, sum_d_hidden, mean_log_p, others_bonus, residuals, cotangents):
  hidden, weight, bias, labels, keep, lse_others, d, u_sum = residuals
  g_log_p, g_log_1m_p, *extra = cotangents
  (n, width), v = hidden.shape, weight.shape[1]
  acc = accumulation_dtype(hidden, weight)
  mm = jnp.result_type(hidden, weight)  # the dtype the matmuls multiply in
  tb, n_tb = _blocks(n, token_block)
  vb, n_vb = _blocks(v, vocab_block)
  p_y, q_y = jax.nn.sigmoid(d), jax.nn.sigmoid(-d)  # p_y and 1 - p_y
  c = g_log_p * q_y - g_log_1m_p * p_y
  # dz = c_y on the label and -c_r r off it: c_y = c_r = c, and then the extra outputs' terms. The mean
  # log-probability's cotangent g_3 adds g_3 / V everywhere, -g_3 p_y to c_y and g_3 (1 - p_y) to c_r; the bonus
  # sum's g_4 adds g_4 u_k off the label, -g_4 U p_y to c_y and g_4 U (1 - p_y) to c_r.
  c_y = c_r = c
  if mean_log_p:
    g_3 = jnp.where(keep, extra[0], 0.0).astype(acc)
    c_y, c_r = c_y - g_3 * p_y, c_r + g_3 * q_y
    g_uniform = g_3 / _vocab_size(v, vocab_axis)
  if others_bonus is not None:
    g_4 = jnp.where(keep, extra[-1], 0.0).astype(acc)
    c_y, c_r = c_y - g_4 * u_sum * p_y, c_r + g_4 * u_sum * q_y
  # (masked tokens may have a NaN d: their coefficients are set to 0, not multiplied by it)
  c_y, c_r = (jnp.where(keep, x, 0.0).astype(acc) for x in (c_y, c_r))
  # r_k = exp(z_k - lse_others); when lse_others = -inf every other logit is -inf and r must be 0: exp(-inf - inf).
  r_shift = jnp.where(lse_others == -jnp.inf, jnp.inf, lse_others).astype(acc)

  def vocab_step(j, grads):
    d_hidden, d_weight, d_bias = grads
    v0, fresh_col = _fresh(j, vb, v)
    w = jax.lax.dynamic_slice_in_dim(weight, v0, vb, 1)
    b = jax.lax.dynamic_slice_in_dim(bias, v0, vb)
    columns = v0 + jnp.arange(vb)

    def token_step(i, carry):
      d_hidden, d_w, d_b = carry
      t0, fresh_row = _fresh(i, tb, n)
      row = fresh_row & jax.lax.dynamic_slice_in_dim(keep, t0, tb)
      # Masked rows read zeros, so that NaN or inf in a padding token's hidden state cannot reach d_weight.
      h = jnp.where(row[:, None], jax.lax.dynamic_slice_in_dim(hidden, t0, tb), 0)
      z = _logits(h, w, b, acc)
      is_label = columns == jax.lax.dynamic_slice_in_dim(labels, t0, tb)[:, None]
      r = jnp.exp(z - jax.lax.dynamic_slice_in_dim(r_shift, t0, tb)[:, None])
      rows = functools.partial(jax.lax.dynamic_slice_in_dim, start_index=t0, slice_size=tb)
      dz_others = -rows(c_r)[:, None] * r
      if others_bonus is not None:  # u_k = p_k b'(p_k), p_k = (1 - p_y) r_k
        dz_others = dz_others + rows(g_4)[:, None] * others_bonus.slope_times_p(r * rows(q_y)[:, None])
      dz = jnp.where(is_label, rows(c_y)[:, None], dz_others)
      if mean_log_p:
        dz = dz + rows(g_uniform)[:, None]
      dz = jnp.where(row[:, None] & fresh_col, dz, 0.0)
      dz_mm = dz.astype(mm)
      d_rows = jax.lax.dynamic_slice_in_dim(d_hidden, t0, tb) + jnp.dot(dz_mm, w.T, preferred_element_type=acc)
      d_hidden = jax.lax.dynamic_update_slice_in_dim(d_hidden, d_rows, t0, 0)
      return d_hidden, d_w + jnp.dot(h.T, dz_mm, preferred_element_type=acc), d_b + jnp.sum(dz, axis=0)

    init = (d_hidden, *_vary_as((jnp.zeros((width, vb), acc), jnp.zeros(vb, acc)), hidden))
    d_hidden, d_w, d_b = jax.lax.fori_loop(0, n_tb, token_step, init)
    # The columns shared with the previous block keep the gradient that block wrote.
    old_w = jax.lax.dynamic_slice_in_dim(d_weight, v0, vb, 1)
    d_w = jnp.where(fresh_col, d_w.astype(d_weight.dtype), old_w)
    d_b = jnp.where(fresh_col, d_b.astype(d_bias.dtype), jax.lax.dynamic_slice_in_dim(d_bias, v0, vb))
    d_weight = jax.lax.dynamic_update_slice_in_dim(d_weight, d_w, v0, 1)
    d_bias = jax.lax.dynamic_update_slice_in_dim(d_bias, d_b, v0, 0)
    return d_hidden, d_weight, d_bias

  init = _vary_as((jnp.zeros((n, width), acc), jnp.zeros_like(weight), jnp.zeros_like(bias)), hidden)
  d_hidden, d_weight, d_bias = jax.lax.fori_loop(0, n_vb, vocab_step, init)
  if vocab_axis is not None and sum_d_hidden:
    d_hidden = jax.lax.psum(d_hidden, vocab_axis)  # else the transpose of `_vary_alike`'s cast sums it
  return d_hidden.astype(hidden.dtype), d_weight, d_bias, None, None


_streamed.defvjp(_fwd, _bwd)
