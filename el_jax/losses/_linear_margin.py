r"""The hinge-error sums of MM and HEM (HEM paper Eq. 7-8) of the logits `hidden @ weight + bias`, streamed over blocks.

With the hinge errors :math:`e_k = \max(0, z_k - z_y + \mu_k)` for :math:`k \ne y` (:math:`e_y = 0`), MM is
:math:`\frac{1}{V} \sum_k e_k` and HEM the mean of the kept errors, :math:`e_k \ge \bar e = \frac{1}{V} \sum_k e_k`
and :math:`e_k > 0` (see `multiclass_margin_loss` and `hem_loss`). `linear_hinge_sums` gives, per token, the sum and
the number of the kept errors (every positive error for MM) without materialising the `[N, V]` logits:

- the label's logit first: every error needs :math:`z_y`, so it is computed before any block, per token, as
  :math:`h \cdot W_{:, y} + b_y` from a gather of the labels' columns of `weight` (`[N, D]`, the size of `hidden`);
- forward: one pass over the blocks sums the errors and counts the positive ones (MM's sums; HEM's threshold
  :math:`\bar e`), and HEM makes a second pass that sums and counts the errors at or above :math:`\bar e`;
- the margin of the label's class (HEM+ read as `margin_of="label"`) adds the same :math:`\mu_y` to every error of a
  token, :math:`e_k = \max(0, z_k - (z_y - \mu_y))`: a per-token `label_margin` subtracted from :math:`z_y` once;
- backward: the gradient of the sum is :math:`[k \text{ kept}]` off the label and :math:`-\mathrm{count}` at it
  (the count and the threshold are not differentiated, as in `hem_loss`), formed in the one recomputation of each
  block (`_linear_blocks.gradients`). The margins are constants here: they get no gradient.

Vocabulary sharded over a mesh axis (`vocab_axis`): the label's logit comes from the shard that holds the label
(one `psum` of the shards' masked `[2, N]` logits and hits), and each pass's `[2, N]` sums are summed over the axis
(one `psum` each): two collectives for MM, three for HEM, then the backward pass's `psum` of `d hidden`.
"""

import functools

import jax
import jax.numpy as jnp

from el_jax.losses._linear_blocks import (
  accumulation_dtype,
  block_sizes,
  flat_inputs,
  gradients,
  label_logits,
  local_columns,
  local_labels,
  row_scan,
  vary_alike,
  vocab_size,
)


def linear_hinge_sums(
  hidden,
  weight,
  bias,
  labels,
  where=None,
  *,
  margin,
  hem: bool,
  token_block: int,
  vocab_block: int,
  vocab_axis: str | None = None,
  label_margin=None,
):
  r"""`(total, count)` `[...]`: the sum and the number of each token's kept hinge errors of :math:`z = h W + b`.

  The kept errors are every positive :math:`e_k` (MM, `hem=False`) or those at or above their mean over the `V`
  classes (HEM, `hem=True`); see the module's docstring. Exact gradients of `total` with respect to `hidden`,
  `weight` and `bias` (not of `count`, nor of the margins); float32 (float64 for float64 inputs).

  Args:
    hidden, weight, bias, labels, where, token_block, vocab_block, vocab_axis: as for `linear_label_log_probs`.
    margin: :math:`\mu \ge 0`, a scalar or a `[V]` array of per-class margins (of the whole vocabulary), added to
      the error of each class.
    hem: keep only the errors at or above the token's mean error (HEM) rather than every positive one (MM).
    label_margin: None, or a per-token margin `[...]` (the labels' shape) added to every error of its token, such
      as the margin :math:`\mu_y` of the token's label (HEM+ with `margin_of="label"`); not differentiated.
  """
  flat, batch = flat_inputs(hidden, weight, bias, labels, where, token_block, vocab_block)
  v, acc = flat[1].shape[1], accumulation_dtype(*flat[:2])
  margin = jax.lax.stop_gradient(jnp.asarray(margin, acc))
  vocab = vocab_size(v, vocab_axis)
  if margin.ndim not in (0, 1) or (margin.ndim == 1 and margin.shape[0] != vocab):
    raise ValueError(f"margin must be a scalar or a [V] array (V = {vocab}), got shape {margin.shape}.")
  if margin.ndim == 1:
    margin = local_columns(margin, v, vocab_axis)
  if label_margin is None:
    label_margin = jnp.zeros(batch, acc)
  label_margin = jnp.asarray(label_margin, acc)
  if label_margin.shape != batch:
    raise ValueError(f"label_margin must have the labels' shape {batch}, got {label_margin.shape}.")
  label_margin = jax.lax.stop_gradient(label_margin.reshape(-1))
  flat, sum_d_hidden = vary_alike((*flat, jnp.broadcast_to(margin, (v,)), label_margin), vocab_axis)
  total, count = _hinge(*flat, token_block, vocab_block, vocab_axis, sum_d_hidden, hem)
  return total.reshape(batch), count.reshape(batch)


def _label_logits(hidden, weight, bias, labels, acc, vocab_axis):
  """:math:`z_y = h \\cdot W_{:, y} + b_y` `[N]` (NaN for a label no column holds) from a gather of the labels'
  columns; with `vocab_axis`, from the shard that holds each label."""
  v = weight.shape[1]
  hit = (labels >= 0) & (labels < v)
  column = jnp.clip(labels, 0, v - 1)
  z_y = jnp.einsum("nd,dn->n", hidden, jnp.take(weight, column, axis=1), preferred_element_type=acc)
  return label_logits(z_y + bias[column].astype(acc), hit, vocab_axis)[0]


@functools.partial(jax.custom_vjp, nondiff_argnums=(7, 8, 9, 10, 11))
def _hinge(
  hidden, weight, bias, labels, keep, margin, label_margin, token_block, vocab_block, vocab_axis, sum_d_hidden, hem
):
  return _fwd(
    hidden, weight, bias, labels, keep, margin, label_margin, token_block, vocab_block, vocab_axis, sum_d_hidden, hem
  )[0]


def _errors(z, z_y, margin, v0: int, vb: int):
  """The hinge errors :math:`\\max(0, z_k - z_y + \\mu_k)` of a block of logits (the label's entry included)."""
  return jax.nn.relu(z - z_y[:, None] + jax.lax.dynamic_slice_in_dim(margin, v0, vb))


def _kept(errors, threshold):
  """`errors` with those below the row's `threshold` `[tb]` set to 0 (not `>=`, which would drop a NaN)."""
  return jnp.where(errors < threshold[:, None], 0.0, errors)


def _fwd(
  hidden, weight, bias, labels, keep, margin, label_margin, token_block, vocab_block, vocab_axis, sum_d_hidden, hem
):
  del sum_d_hidden  # a backward-pass option
  v, acc = weight.shape[1], accumulation_dtype(hidden, weight)
  labels = local_labels(labels, v, vocab_axis)
  tb, vb = block_sizes(hidden, weight, token_block, vocab_block)
  # the label's margin raises every error of the token as lowering z_y does; the errors read z_y only so
  z_y = _label_logits(hidden, weight, bias, labels, acc, vocab_axis) - label_margin

  def sums(threshold):
    """The sums and counts of the errors kept at `threshold` `[N]` (0: every positive error), summed over shards."""

    def update(carry, z, fresh, is_label, v0, row_values):
      row_z_y, row_threshold = row_values
      errors = jnp.where(fresh & ~is_label, _kept(_errors(z, row_z_y, margin, v0, vb), row_threshold), 0.0)
      return carry[0] + jnp.sum(errors, axis=1), carry[1] + jnp.sum(jnp.sign(errors), axis=1)

    def init(size):
      return jnp.zeros(size, acc), jnp.zeros(size, acc)

    out = row_scan(hidden, weight, bias, labels, init, update, tb=tb, vb=vb, rows=(z_y, threshold))
    return out if vocab_axis is None else tuple(jax.lax.psum(jnp.stack(out), vocab_axis))

  threshold = jnp.zeros(hidden.shape[0], acc)
  total, count = sums(threshold)
  if hem:  # Eq. 8: keep the errors at or above the mean over the V classes
    threshold = total / vocab_size(v, vocab_axis)
    total, count = sums(threshold)
  return (total, count), (hidden, weight, bias, labels, keep, margin, z_y, threshold, count)


def _bwd(token_block, vocab_block, vocab_axis, sum_d_hidden, hem, residuals, cotangents):
  del hem  # the threshold is 0 for MM
  hidden, weight, bias, labels, keep, margin, z_y, threshold, count = residuals
  acc = accumulation_dtype(hidden, weight)
  g = jnp.where(keep, cotangents[0], 0.0).astype(acc)  # (masked tokens may have a NaN z_y and count)
  at_label = jnp.where(keep, -g * count, 0.0)
  tb, vb = block_sizes(hidden, weight, token_block, vocab_block)

  def dz_block(z, is_label, v0, rows):
    kept = _kept(_errors(z, rows(z_y), margin, v0, vb), rows(threshold)) > 0.0
    return jnp.where(is_label, rows(at_label)[:, None], jnp.where(kept, rows(g)[:, None], 0.0))

  grads = gradients(
    hidden, weight, bias, labels, keep, dz_block, tb=tb, vb=vb, vocab_axis=vocab_axis, sum_d_hidden=sum_d_hidden
  )
  return *grads, None, None, None, None


_hinge.defvjp(_fwd, _bwd)
