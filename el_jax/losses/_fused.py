"""Element-wise building blocks that let XLA fuse a loss's row reductions without writing `[..., K]` arrays.

On XLA:CPU a row sum or max of an element-wise expression runs as one fused loop only when the expression uses
arithmetic, `min`/`max`, `abs` and the usual transcendental functions; a comparison or a `select` makes XLA write
the whole `[..., K]` operand to memory first, so `without_label` knocks the label out of a row max with
arithmetic. XLA:CPU also writes out a broadcast (a constant or a per-row value) that two fused reductions share,
and may fuse a row reduction with the broadcast of its result: `row_values` keeps a per-row value apart from its
reduction, and the callers keep the constants of their reductions distinct. On other backends all of these fuse
like any element-wise expression.
"""

import jax
import jax.numpy as jnp


def without_label(logits, labels):
  """`logits` `[..., K]` with the label's entry replaced by a large negative number, for a row max.

  :math:`\\min(z_k, 2^{126} |k - y| - 2^{125})`: :math:`z_k` off the label (where the bound is at least
  :math:`2^{125}`) and :math:`-2^{125}` at it.
  """
  classes = jax.lax.broadcasted_iota(logits.dtype, logits.shape, logits.ndim - 1)
  distance = jnp.abs(classes - labels[..., None].astype(logits.dtype))
  return jnp.minimum(logits, distance * 2.0**126 - 2.0**125)


def is_label(labels, shape):
  """:math:`[k = y]` as a bool array of `shape` `[..., K]`, for element-wise (non-reduced) outputs."""
  return jax.lax.broadcasted_iota(jnp.int32, shape, len(shape) - 1) == labels[..., None].astype(jnp.int32)


def row_values(values, after=None):
  """`values` `[...]`, reduced from a `[..., K]` array, with a select that keeps them out of the reduction's fusion.

  The select returns `values` unchanged (NaN included). Without it XLA:CPU may fuse a row reduction with the
  broadcast of its result into one fusion whose output is a whole `[..., K]` array. With `after` (`[...]`), the
  result is NaN where `after` is NaN, and XLA computes `after` first: a `[..., K]` array built from the result
  is then written only once the reductions that produce `after` are done with the arrays they read.
  """
  flag = jnp.isnan(values) if after is None else jnp.isnan(values) | jnp.isnan(after)
  return jnp.where(flag, jnp.nan, values)
