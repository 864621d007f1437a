"""Multi-class margin (MM) and high error margin (HEM) losses (HEM paper §3.6, §4, Eq. 6-8; SPEC-losses §6).

Both start from the per-logit hinge errors :math:`e_i = \\max(0, z_i - z_y + \\mu_i)` for :math:`i \\ne y`,
:math:`e_y = 0`. MM averages all of them; HEM averages only the errors at least as large as the sample's mean
error, so that training concentrates on the competitors that are still close to or above the label's logit.

The paper's Table 1 lists, for MM and HEM, values equal to the square root of each hinge error while its CE and
LogitNorm columns follow their definitions; these functions implement Eq. 6-8 as written.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np

from el_jax.losses import _inputs


def _hinge_errors(logits, labels, margin):
  """`(errors, label_error)`: :math:`\\max(0, z_i - z_y + \\mu_i)` for every `i` `[..., K]` (Eq. 6), and its value at
  the label, :math:`\\max(0, \\mu_y)` `[...]`, which callers remove (the label's error is 0 by definition).

  :math:`z_y - z_y` is exactly 0, so removing the label's term afterwards is exact; it keeps the `[..., K]`
  computation free of masks, which lets it fuse like cross-entropy's.
  """
  margin = jnp.asarray(margin, logits.dtype)
  if margin.ndim not in (0, 1) or (margin.ndim == 1 and margin.shape[0] != logits.shape[-1]):
    raise ValueError(
      f"margin must be a scalar or a [K] array of per-logit margins (K = {logits.shape[-1]}), got shape {margin.shape}."
    )
  z_y = jnp.take_along_axis(logits, labels[..., None], axis=-1)
  label_error = jax.nn.relu(margin if margin.ndim == 0 else margin[labels])
  return jax.nn.relu(logits - z_y + margin), jnp.broadcast_to(label_error, labels.shape)


def multiclass_margin_loss(logits, labels, *, margin=1.0, where=None):
  r"""Multi-class margin loss (MM, HEM paper Eq. 7).

  .. math::  L = \frac{1}{K} \sum_{i} e_i, \quad e_i = \max(0, z_i - z_y + \mu_i)\ (i \ne y),\ e_y = 0

  Args:
    logits: `[..., K]` unnormalised scores.
    labels: `[...]` integer classes in `[0, K)`.
    margin: :math:`\mu`, a scalar or a `[K]` array of per-logit margins (see `hem_plus_margins`).
    where: optional bool `[...]` mask; masked entries give 0 and no gradient.

  Returns:
    float32 per-example losses of shape `[...]`.
  """
  logits, labels = _inputs.prepare(logits, labels)
  errors, label_error = _hinge_errors(logits, labels, margin)
  return _inputs.apply_where((jnp.sum(errors, axis=-1) - label_error) / logits.shape[-1], where)


def hem_loss(logits, labels, *, margin, where=None):
  r"""High error margin loss, per example (HEM paper Eq. 8).

  With :math:`\bar e = \mathrm{stop\_gradient}(\frac{1}{K}\sum_i e_i)`, the kept errors are those with
  :math:`e_i \ge \bar e` and :math:`e_i > 0`, and the example's loss is their mean (0 if none is kept).
  The batch objective averages only the examples whose loss is above zero: `hem_reduce`.

  Args:
    logits: `[..., K]` unnormalised scores.
    labels: `[...]` integer classes in `[0, K)`.
    margin: :math:`\mu`, a scalar (`hem_margin`) or a `[K]` array of per-logit margins (HEM+, `hem_plus_margins`).
    where: optional bool `[...]` mask; masked entries give 0 and no gradient.

  Returns:
    float32 per-example losses of shape `[...]`.
  """
  logits, labels = _inputs.prepare(logits, labels)
  errors, label_error = _hinge_errors(logits, labels, margin)
  threshold = jax.lax.stop_gradient((jnp.sum(errors, axis=-1) - label_error) / logits.shape[-1])
  kept = (errors >= threshold[..., None]) & (errors > 0.0)
  label_kept = (label_error >= threshold) & (label_error > 0.0)
  total = jnp.sum(jnp.where(kept, errors, 0.0), axis=-1) - jnp.where(label_kept, label_error, 0.0)
  count = jnp.sum(kept, axis=-1) - label_kept
  return _inputs.apply_where(total / jnp.maximum(count, 1).astype(logits.dtype), where)


def hem_reduce(losses, where=None):
  r"""HEM's batch reduction: the mean of the above-zero values (HEM paper §3.6).

  .. math::  \frac{\sum_n L_n [L_n > 0]}{\max(1, \sum_n [L_n > 0])}

  The count is not differentiated. Masked entries (`where` False) are left out.

  Args:
    losses: per-example losses, e.g. from `hem_loss`.
    where: optional bool mask of the same shape.

  Returns:
    a float32 scalar.
  """
  losses = jnp.asarray(losses, jnp.float32)
  positive = losses > 0.0
  if where is not None:
    where = jnp.asarray(where, bool)
    if where.shape != losses.shape:
      raise ValueError(f"where mask shape {where.shape} does not match the losses shape {losses.shape}.")
    positive = positive & where
  count = jnp.sum(positive)
  return jnp.sum(jnp.where(positive, losses, 0.0)) / jnp.maximum(count, 1).astype(jnp.float32)


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
