"""Multi-class DICE loss, a batch-level loss (Milletari et al. 2016; HEM paper §3.5, Eq. 5; SPEC-losses §7)."""

import functools

import jax
import jax.numpy as jnp

from el_jax.losses import _inputs
from el_jax.losses._label_probs import set_at_label

# The two vector products below are sums of probabilities: full float32 on every backend (TPUs default to bfloat16).
_EXACT = jax.lax.Precision.HIGHEST


def dice_loss(logits, labels, *, smooth: float = 1.0, where=None):
  r"""DICE loss over a batch: per class, one minus the soft overlap of targets and predictions; then the mean.

  .. math::  L = \frac{1}{K} \sum_c \Big(1 - \frac{2 \sum_n t_{nc} p_{nc} + s}{\sum_n (t_{nc} + p_{nc}) + s}\Big)

  with :math:`p = \mathrm{softmax}(z)`, :math:`t` the one-hot labels, sums over every unmasked example (all
  leading axes), and the smoothing term `s` that keeps a class absent from the batch at 0 instead of 0/0. A class
  with neither targets nor predicted mass counts 0 for any `s >= 0` (the limit as `s -> 0`), so the loss of an
  empty or fully masked batch is 0 with a zero gradient. A NaN logit in an unmasked example makes the loss NaN.

  The per-class sums are :math:`O_c = \sum_{n: y_n = c} p_{n y_n}` (the overlap), :math:`P_c = \sum_n p_{nc}` and
  the class counts :math:`N_c`; they come from one primitive whose backward pass writes the gradient through the
  softmax in closed form (see `_class_sums`), so that the loss costs about what cross-entropy costs.

  Args:
    logits: `[..., K]` unnormalised scores.
    labels: `[...]` integer classes in `[0, K)`.
    smooth: `s >= 0`.
    where: optional bool `[...]` mask; masked examples are left out of the sums.

  Returns:
    a float32 scalar (the batch's loss; there is no per-example value).
  """
  if smooth < 0.0:
    raise ValueError(f"smooth must be >= 0, got {smooth}.")
  logits, labels = _inputs.prepare(logits, labels)
  k = logits.shape[-1]
  flat, flat_labels = logits.reshape(-1, k), labels.reshape(-1).astype(jnp.int32)
  if where is None:
    keep = jnp.ones(flat_labels.shape, logits.dtype)
  else:
    keep = _inputs.as_mask(where, labels.shape).reshape(-1).astype(logits.dtype)
  overlap, predicted = _class_sums(where is not None, flat, flat_labels, keep)
  count = jnp.zeros(k, logits.dtype).at[flat_labels].add(keep)
  denominator = count + predicted + smooth
  # 0 only when class c has neither targets nor predicted mass in the batch (with s = 0): its ratio is then 1, the
  # limit as s -> 0, and not 0/0. A NaN denominator is not 0 and stays NaN.
  empty = denominator == 0.0
  ratio = (2.0 * overlap + smooth) / jnp.where(empty, 1.0, denominator)
  return jnp.mean(1.0 - jnp.where(empty, 1.0, ratio))


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _class_sums(masked, logits, labels, keep):
  r"""`(O, P)`, both `[K]`: :math:`O_c = \sum_{n: y_n = c} k_n p_{n y_n}` and :math:`P_c = \sum_n k_n p_{nc}` for
  logits `[N, K]`, labels `[N]` and the weights `keep` `[N]` (1 for the examples kept, 0 for the masked ones).

  The forward pass writes :math:`e = e^{z - m}` (`m` the row's largest logit) and its row sums `s`, so that
  :math:`p = e / s`; `P` is the product of the vector :math:`k / s` with `e`, which reads `e` once (a column sum
  fused with the exponential is slow on XLA:CPU). With `masked`, the masked rows of `e` are set to 0, so that
  their NaN logits are left out.

  For cotangents :math:`(g_O, g_P)` the cotangent of :math:`p_{nc}` is :math:`v_{nc} = k_n (g_{P,c} + [c = y_n]
  g_{O,c})`, and through the softmax :math:`\partial / \partial z_{nc} = p_{nc} (v_{nc} - \sum_j p_{nj} v_{nj})`:
  with :math:`w_n = \sum_j p_{nj} g_{P,j} + p_{n y_n} g_{O,y_n}` (one more product of `e` with a vector), the
  gradient is :math:`k_n p_{nc} (g_{P,c} - w_n)` off the label and :math:`k_n p_{n y_n} (g_{P,y_n} + g_{O,y_n} -
  w_n)` at it, written over `e`: one `[N, K]` array, as for cross-entropy.
  """
  return _class_sums_fwd(masked, logits, labels, keep)[0]


def _class_sums_fwd(masked, logits, labels, keep):
  m = jax.lax.stop_gradient(jnp.max(logits, axis=-1))
  e = jnp.exp(logits - m[:, None])
  if masked:  # a select, so that a masked NaN is left out too
    e = jnp.where(keep[:, None] > 0.0, e, 0.0)
  s = jnp.sum(e, axis=-1)
  scale = jnp.where(keep > 0.0, keep / s, 0.0)  # k_n / s_n; 0 for a masked row, whose s may be 0 or NaN
  predicted = jnp.dot(scale, e, precision=_EXACT)
  p_y = jnp.take_along_axis(e, labels[:, None], axis=-1)[:, 0] * scale
  overlap = jnp.zeros(logits.shape[-1], logits.dtype).at[labels].add(p_y)
  return (overlap, predicted), (e, labels, scale, p_y)


def _class_sums_bwd(masked, residuals, cotangents):
  del masked
  e, labels, scale, p_y = residuals
  g_overlap, g_predicted = cotangents
  g_overlap_y, g_predicted_y = g_overlap[labels], g_predicted[labels]
  w = jnp.dot(e, g_predicted, precision=_EXACT) * scale + p_y * g_overlap_y
  grad = e * scale[:, None] * (g_predicted[None, :] - w[:, None])
  at_label = p_y * (g_predicted_y + g_overlap_y - w)
  return set_at_label(grad, labels, at_label), None, None


_class_sums.defvjp(_class_sums_fwd, _class_sums_bwd)
