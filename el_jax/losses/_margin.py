"""Multi-class margin (MM) and high error margin (HEM) losses (HEM paper §3.6, §4, Eq. 6-8; SPEC-losses §6).

Both start from the per-logit hinge errors :math:`e_i = \\max(0, z_i - z_y + \\mu_i)` for :math:`i \\ne y`,
:math:`e_y = 0`. MM averages all of them; HEM averages only the errors at least as large as the sample's mean
error, so that training concentrates on the competitors that are still close to or above the label's logit.

The paper's Table 1 lists, for MM and HEM, values equal to the square root of each hinge error while its CE and
LogitNorm columns follow their definitions; these functions implement Eq. 6-8 as written.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from el_jax.losses import _fused, _inputs


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _kept_hinge_sums(hem, logits, labels, margin):
  r"""`(total, count)` `[...]`: the sum and the number of the kept hinge errors of each example.

  The kept errors are the :math:`e_i = \max(0, z_i - z_y + \mu_i)`, :math:`i \ne y`, with :math:`e_i > 0` and,
  for HEM (`hem=True`), :math:`e_i \ge \bar e = \frac{1}{K} \sum_i e_i` (Eq. 8; MM keeps every positive error,
  Eq. 7). Neither `count` nor the threshold :math:`\bar e` is differentiated. The gradient of `total` is
  :math:`[i \text{ kept}]` for :math:`i \ne y` and :math:`-\mathrm{count}` at the label.

  A NaN logit makes its row's errors or threshold NaN; HEM drops the errors *below* the threshold (a comparison
  with NaN is false), so a NaN is kept and the row's `total` is NaN, at no extra cost.

  The forward pass writes the errors once, `[..., K]`, reduces them (HEM: keeps those at or above their mean
  in place), and sums the kept errors and their signs; the backward pass overwrites them with the gradient, so
  the whole computation holds one `[..., K]` array, as cross-entropy does.
  """
  return _kept_fwd(hem, logits, labels, margin)[0]


def _kept_fwd(hem, logits, labels, margin):
  z_y = jnp.take_along_axis(logits, labels[..., None], axis=-1)
  errors = jnp.where(_fused.is_label(labels, logits.shape), 0.0, jax.nn.relu(logits - z_y + margin))
  if hem:
    threshold = _fused.row_values(jax.lax.stop_gradient(jnp.sum(errors, axis=-1) / logits.shape[-1]))
    errors = jnp.where(errors < threshold[..., None], 0.0, errors)  # not `>=`, which would drop a NaN
  total, count = jnp.sum(errors, axis=-1), jnp.sum(jnp.sign(errors), axis=-1)
  return (total, count), (errors, labels, margin, count)


def _kept_bwd(hem, residuals, cotangents):
  kept_errors, labels, margin, count = residuals
  g_total = cotangents[0]
  kept = jnp.where(kept_errors > 0.0, g_total[..., None], 0.0)
  at_label = _fused.row_values(-g_total * count)
  grad = jnp.where(_fused.is_label(labels, kept.shape), at_label[..., None], kept)
  if margin.ndim == 0:
    grad_margin = jnp.sum(g_total * count).astype(margin.dtype)
  else:
    grad_margin = jnp.sum(kept, axis=tuple(range(kept.ndim - 1))).astype(margin.dtype)
  return grad, None, grad_margin


_kept_hinge_sums.defvjp(_kept_fwd, _kept_bwd)


def _margin_array(logits, margin):
  _inputs.check_nonnegative("margin", margin)
  margin = jnp.asarray(margin, logits.dtype)
  if margin.ndim not in (0, 1) or (margin.ndim == 1 and margin.shape[0] != logits.shape[-1]):
    raise ValueError(
      f"margin must be a scalar or a [K] array of per-logit margins (K = {logits.shape[-1]}), got shape {margin.shape}."
    )
  return margin


def multiclass_margin_loss(logits, labels, *, margin=1.0, where=None):
  r"""Multi-class margin loss (MM, HEM paper Eq. 7).

  .. math::  L = \frac{1}{K} \sum_{i} e_i, \quad e_i = \max(0, z_i - z_y + \mu_i)\ (i \ne y),\ e_y = 0

  Its gradient is :math:`[e_i > 0] / K` for :math:`i \ne y` and :math:`-\#\{i \ne y: e_i > 0\} / K` at the
  label; the backward pass writes it in one element-wise pass, as cross-entropy does.

  Args:
    logits: `[..., K]` unnormalised scores.
    labels: `[...]` integer classes in `[0, K)`.
    margin: :math:`\mu \ge 0`, a scalar or a `[K]` array of per-logit margins (see `hem_plus_margins`).
    where: optional bool `[...]` mask; masked entries give 0 and no gradient.

  Returns:
    float32 per-example losses of shape `[...]`.
  """
  logits, labels = _inputs.prepare(logits, labels)
  margin = _margin_array(logits, margin)
  total, _ = _kept_hinge_sums(False, logits, labels, margin)
  return _inputs.apply_where(total / logits.shape[-1], where)


def hem_loss(logits, labels, *, margin, where=None):
  r"""High error margin loss, per example (HEM paper Eq. 8).

  With :math:`\bar e = \mathrm{stop\_gradient}(\frac{1}{K}\sum_i e_i)`, the kept errors are those with
  :math:`e_i \ge \bar e` and :math:`e_i > 0`, and the example's loss is their mean (0 if none is kept).
  The batch objective averages only the examples whose loss is above zero: `hem_reduce`.
  With `n` kept errors the gradient is :math:`1 / n` at each kept logit and :math:`-1` at the label (the count
  and the threshold are not differentiated).

  Args:
    logits: `[..., K]` unnormalised scores.
    labels: `[...]` integer classes in `[0, K)`.
    margin: :math:`\mu \ge 0`, a scalar (`hem_margin`) or a `[K]` array of per-logit margins (HEM+,
      `hem_plus_margins`). A concrete negative margin raises a ValueError; a traced one is not checked.
    where: optional bool `[...]` mask; masked entries give 0 and no gradient.

  Returns:
    float32 per-example losses of shape `[...]`.
  """
  logits, labels = _inputs.prepare(logits, labels)
  margin = _margin_array(logits, margin)
  total, count = _kept_hinge_sums(True, logits, labels, margin)
  return _inputs.apply_where(total / jnp.maximum(count, 1.0), where)


def hem_reduce(losses, where=None):
  r"""HEM's batch reduction: the mean of the above-zero values (HEM paper §3.6).

  .. math::  \frac{\sum_n L_n [L_n > 0]}{\max(1, \sum_n [L_n > 0])}

  The count is not differentiated. Masked entries (`where` False) are left out; a NaN loss is kept, so that the
  result is NaN. With no value above zero (an empty or fully masked batch) the result is 0 with a zero gradient.

  Args:
    losses: per-example losses, e.g. from `hem_loss`.
    where: optional bool mask of the same shape.

  Returns:
    a float32 scalar.
  """
  losses = jnp.asarray(losses, jnp.float32)
  dropped = losses <= 0.0  # false for a NaN, which is kept
  if where is not None:
    where = jnp.asarray(where, bool)
    if where.shape != losses.shape:
      raise ValueError(f"where mask shape {where.shape} does not match the losses shape {losses.shape}.")
    dropped = dropped | ~where
  count = jnp.sum(~dropped)
  return jnp.sum(jnp.where(dropped, 0.0, losses)) / jnp.maximum(count, 1).astype(jnp.float32)


def hem_margin(num_train_examples: int, M: float = 2000.0) -> float:  # noqa: N803 (the paper's name)
  r"""The default HEM margin :math:`\mu = \sqrt{M / N}` (HEM paper §4.2); 0.2 for CIFAR-10's 50,000 examples."""
  if num_train_examples <= 0 or M <= 0:
    raise ValueError(f"num_train_examples and M must be > 0, got {num_train_examples} and {M}.")
  return math.sqrt(M / num_train_examples)


def hem_plus_margins(class_counts, M: float = 2000.0):  # noqa: N803 (the paper's name)
  r"""HEM+'s per-logit margins :math:`\mu_i = \sqrt{M / (K s_i)}` (HEM paper §4.3).

  Args:
    class_counts: `[K]` training examples per class :math:`s_i` (all > 0).
    M: the margin constant.

  Returns:
    a float32 numpy array `[K]`, to pass as `margin` to `hem_loss` or `multiclass_margin_loss`.
  """
  counts = np.asarray(class_counts, np.float64)
  if counts.ndim != 1 or counts.size < 2 or (counts <= 0).any() or M <= 0:
    raise ValueError(f"class_counts must be a [K] array of positive counts (K >= 2) and M > 0, got {counts}, {M}.")
  return np.sqrt(M / (counts.size * counts)).astype(np.float32)
