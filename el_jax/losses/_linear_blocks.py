r"""The block machinery of the fused linear losses: logits `hidden @ weight + bias` one block at a time.

A language model's classifier is a projection of `N` hidden states of width `D` onto a vocabulary of `V` tokens;
the `[N, V]` logits (and their gradient) dominate the memory of the loss. A fused loss never holds them: its
forward pass makes one or more passes over `[token_block, vocab_block]` blocks of logits, each computed in float32
(float64 for float64 inputs) from a block of `hidden` and a block of `weight`'s columns, accumulating per-token
statistics (`row_scan`); its backward pass recomputes each block once, forms that block's logit gradient `dz` from
the statistics, and accumulates :math:`\partial h \mathrel{+}= dz\, W_b^\top`, :math:`\partial W_b \mathrel{+}=
h^\top dz` and :math:`\partial b_b \mathrel{+}= \sum_{\text{tokens}} dz` (`gradients`). The matmuls of the
backward pass multiply `dz`, rounded to the inputs' dtype, with the inputs (as a materialised bfloat16 classifier
does) and accumulate in float32.

Memory: the inputs, the `[N]` statistics, one float32 `[N, D]` accumulator for the hidden states' gradient (the
gradients of `weight` and `bias` are written block by block in their own dtypes) and a few (two or three) float32
`[token_block, vocab_block]` blocks: :math:`O(N D + D V + \text{token\_block} \cdot \text{vocab\_block})`.

Blocks that do not divide `N` or `V` are handled without padding (which would copy `weight`): the last block is
moved back to end at the last row or column, and the entries it shares with the block before it are masked out
of every sum and gradient.

Vocabulary sharded over a mesh axis (`vocab_axis`, inside `jax.shard_map`): each device holds a shard of `V_s`
columns of `weight` (and of `bias`), the global columns `[i V_s, (i + 1) V_s)` for its index `i` on the axis, and
streams only those; labels are global ids (`local_labels` gives this shard's columns). The statistics of the shards
are combined by the caller; `d hidden` (a partial sum over the shard's columns) is summed over the axis, either
here (`sum_d_hidden`) or by the transpose of `vary_alike`'s casts. Tokens sharded over another axis (data
parallelism), with or without `vocab_axis`, need nothing: each device has its own tokens, and under `shard_map`'s
varying-axes checks the gradients of `weight` and `bias` are summed over that axis by the transpose of `shard_map`
(without the checks, the caller sums them, as for any gradient).
"""

import functools

import jax
import jax.numpy as jnp

from el_jax.losses import _inputs

TOKEN_BLOCK = 2048
VOCAB_BLOCK = 8192
# Defaults: a float32 logit block of 2048 x 8192 is 64 MiB (the loops hold two or three such blocks at a time, as
# measured with XLA:CPU's memory analysis), small beside a model's activations, and large enough that each block's
# matmul (2 * 2048 * 8192 * D flops) outweighs the loop's per-step cost on an accelerator.


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


def flat_inputs(hidden, weight, bias, labels, where, token_block: int, vocab_block: int):
  """`(flat, batch)`: the inputs checked (`check_inputs`) as `(hidden [N, D], weight, bias, labels [N], keep [N])`,
  with `bias` zeros when None and `keep` the mask `where` (all True when None), and the tokens' batch shape."""
  hidden, weight, bias, labels = check_inputs(hidden, weight, bias, labels, token_block, vocab_block)
  batch, width = hidden.shape[:-1], hidden.shape[-1]
  bias = jnp.zeros(weight.shape[1], accumulation_dtype(hidden, weight)) if bias is None else bias
  keep = jnp.ones(batch, bool) if where is None else _inputs.as_mask(where, batch)
  return (hidden.reshape(-1, width), weight, bias, labels.reshape(-1), keep.reshape(-1)), batch


def vary_alike(arrays, vocab_axis: str | None):
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


def vary_as(tree, like):
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


def block_sizes(hidden, weight, token_block: int, vocab_block: int) -> tuple[int, int]:
  """`(tb, vb)`: the token and vocabulary block sizes for `hidden [N, D]` and `weight [D, V]`, clipped to N and V."""
  return _blocks(hidden.shape[0], token_block)[0], _blocks(weight.shape[1], vocab_block)[0]


def _start(index, block: int, count: int):
  """The first entry of block `index`, moved back for the last block so that it ends at entry `count - 1`."""
  return jnp.minimum(index * block, count - block)


def _fresh(index, block: int, count: int):
  """`(start, fresh)`: block `index`'s first entry and a bool `[block]` that is False on the entries the block
  shares with the block before it (the last block moved back by `_start`)."""
  start = _start(index, block, count)
  return start, start + jnp.arange(block) >= index * block


def finite_shift(m):
  """`m`, or 0 where it is :math:`-\\infty`: a shift for :math:`e^{z - m}` free of :math:`-\\infty + \\infty`."""
  return jnp.where(m == -jnp.inf, 0.0, m)


def _logits(h, w, b, acc):
  """The logit block :math:`h W_b + b_b` in the accumulation dtype."""
  return jnp.dot(h, w, preferred_element_type=acc) + b.astype(acc)


def local_labels(labels, v: int, vocab_axis):
  """The labels as columns of this device's vocabulary shard (global ids when the vocabulary is not sharded)."""
  return labels if vocab_axis is None else labels - jax.lax.axis_index(vocab_axis) * v


def vocab_size(v: int, vocab_axis):
  """The size of the whole vocabulary, of which this device holds `v` columns."""
  return v if vocab_axis is None else v * jax.lax.axis_size(vocab_axis)


def local_columns(values, v: int, vocab_axis):
  """This device's `v` entries of a `[V]` array over the whole vocabulary (all of it when it is not sharded)."""
  if vocab_axis is None:
    return values
  return jax.lax.dynamic_slice_in_dim(values, jax.lax.axis_index(vocab_axis) * v, v)


def label_logits(z_y, hit, vocab_axis, summed=()):
  """`(z_y, *summed)`: the labels' logits `[N]`, NaN for a label no column holds (or, with `vocab_axis`, that no
  shard or several shards hold), and the `[N]` arrays `summed` summed over `vocab_axis`; one `psum` in all.

  `z_y` is each token's label logit as this device's pass found it (0 where `hit`, the label being one of this
  device's columns, is False)."""
  if vocab_axis is None:
    return (jnp.where(hit, z_y, jnp.nan), *summed)
  parts = jnp.stack([jnp.where(hit, z_y, 0.0), hit.astype(z_y.dtype), *summed])
  z_y, hits, *summed = jax.lax.psum(parts, vocab_axis)
  return (jnp.where(hits == 1, z_y, jnp.nan), *summed)


def row_scan(hidden, weight, bias, labels, init, update, *, tb: int, vb: int, rows=(), finish=None):
  """Per-token statistics `[N]` from one pass over the blocks of logits (see the module's docstring).

  Args:
    hidden, weight, bias: `[N, D]`, `[D, V]` and `[V]` (this device's shard of the vocabulary).
    labels: `[N]` columns of this device's shard (out of `[0, V)` when the label is on another shard).
    init: `init(size)`, the initial statistics: a tuple of arrays of shape `[size]`.
    update: `update(carry, z, fresh, is_label, v0, row_values) -> carry` for a block of tokens: `z` is the
      `[tb, vb]` logit block (accumulation dtype) of the columns starting at `v0`, `fresh` `[vb]` False on the
      columns the block shares with the previous one, `is_label` `[tb, vb]` True at each token's label among the
      fresh columns, and `row_values` the arrays `rows` (each `[N]`) sliced to the block's tokens.
    tb, vb: the token and vocabulary block sizes (`blocks`).
    rows: `[N]` arrays `update` reads per token.
    finish: `finish(carry)` -> the block of tokens' statistics to write; the carry itself by default.

  Returns:
    the tuple of statistics, each `[N]`.
  """
  (n, _), v = hidden.shape, weight.shape[1]
  acc = accumulation_dtype(hidden, weight)
  finish = finish or (lambda carry: carry)

  def token_step(i, stats):
    t0 = _start(i, tb, n)  # rows shared with the previous block are recomputed and written again, identically
    h, y, *row_values = (jax.lax.dynamic_slice_in_dim(a, t0, tb) for a in (hidden, labels, *rows))

    def vocab_step(j, carry):
      v0, fresh = _fresh(j, vb, v)
      z = _logits(h, jax.lax.dynamic_slice_in_dim(weight, v0, vb, 1), jax.lax.dynamic_slice_in_dim(bias, v0, vb), acc)
      is_label = (v0 + jnp.arange(vb) == y[:, None]) & fresh
      return update(carry, z, fresh, is_label, v0, tuple(row_values))

    new = finish(jax.lax.fori_loop(0, -(-v // vb), vocab_step, vary_as(tuple(init(tb)), hidden)))
    return tuple(jax.lax.dynamic_update_slice(a, x, (t0,)) for a, x in zip(stats, new, strict=True))

  stats = tuple(jnp.zeros_like(x) for x in finish(init(n)))  # the shapes and dtypes of what is written
  return jax.lax.fori_loop(0, -(-n // tb), token_step, vary_as(stats, hidden))


def gradients(hidden, weight, bias, labels, keep, dz_block, *, tb: int, vb: int, vocab_axis, sum_d_hidden: bool):
  """`(d_hidden, d_weight, d_bias)` for the logit gradient `dz_block` gives block by block (module docstring).

  `dz_block(z, is_label, v0, rows)` returns the `[tb, vb]` gradient of the loss with respect to the logit block `z`
  of the columns starting at `v0`, with `is_label` `[tb, vb]` True at each token's label and `rows(x)` slicing an
  `[N]` array to the block's tokens. Entries of tokens `keep` masks and of columns shared with the previous block
  are zeroed here, and masked tokens' hidden states are read as zeros, so that NaN or inf in a padding token cannot
  reach `d_weight`.
  """
  (n, width), v = hidden.shape, weight.shape[1]
  acc = accumulation_dtype(hidden, weight)
  mm = jnp.result_type(hidden, weight)  # the dtype the matmuls multiply in

  def vocab_step(j, grads):
    d_hidden, d_weight, d_bias = grads
    v0, fresh_col = _fresh(j, vb, v)
    w = jax.lax.dynamic_slice_in_dim(weight, v0, vb, 1)
    b = jax.lax.dynamic_slice_in_dim(bias, v0, vb)
    columns = v0 + jnp.arange(vb)

    def token_step(i, carry):
      d_hidden, d_w, d_b = carry
      t0, fresh_row = _fresh(i, tb, n)
      rows = functools.partial(jax.lax.dynamic_slice_in_dim, start_index=t0, slice_size=tb)
      row = fresh_row & rows(keep)
      h = jnp.where(row[:, None], rows(hidden), 0)
      z = _logits(h, w, b, acc)
      dz = dz_block(z, columns == rows(labels)[:, None], v0, rows)
      dz = jnp.where(row[:, None] & fresh_col, dz, 0.0)
      dz_mm = dz.astype(mm)
      d_rows = rows(d_hidden) + jnp.dot(dz_mm, w.T, preferred_element_type=acc)
      d_hidden = jax.lax.dynamic_update_slice_in_dim(d_hidden, d_rows, t0, 0)
      return d_hidden, d_w + jnp.dot(h.T, dz_mm, preferred_element_type=acc), d_b + jnp.sum(dz, axis=0)

    init = (d_hidden, *vary_as((jnp.zeros((width, vb), acc), jnp.zeros(vb, acc)), hidden))
    d_hidden, d_w, d_b = jax.lax.fori_loop(0, -(-n // tb), token_step, init)
    # The columns shared with the previous block keep the gradient that block wrote.
    old_w = jax.lax.dynamic_slice_in_dim(d_weight, v0, vb, 1)
    d_w = jnp.where(fresh_col, d_w.astype(d_weight.dtype), old_w)
    d_b = jnp.where(fresh_col, d_b.astype(d_bias.dtype), jax.lax.dynamic_slice_in_dim(d_bias, v0, vb))
    d_weight = jax.lax.dynamic_update_slice_in_dim(d_weight, d_w, v0, 1)
    d_bias = jax.lax.dynamic_update_slice_in_dim(d_bias, d_b, v0, 0)
    return d_hidden, d_weight, d_bias

  init = vary_as((jnp.zeros((n, width), acc), jnp.zeros_like(weight), jnp.zeros_like(bias)), hidden)
  d_hidden, d_weight, d_bias = jax.lax.fori_loop(0, -(-v // vb), vocab_step, init)
  if vocab_axis is not None and sum_d_hidden:
    d_hidden = jax.lax.psum(d_hidden, vocab_axis)  # else the transpose of `vary_alike`'s cast sums it
  return d_hidden.astype(hidden.dtype), d_weight, d_bias
