"""Multi-class margin (MM) and high error margin (HEM) losses (HEM paper §3.6, §4, Eq. 6-8; SPEC-losses §6).

Both start from the per-logit hinge errors :math:`e_i = \\max(0, z_i - z_y + \\mu_i)` for :math:`i \\ne y`,
:math:`e_y = 0`. MM averages all of them; HEM averages only the errors at least as large as the sample's mean
error, so that training concentrates on the competitors that are still close to or above the label's logit.

The paper's Table 1 lists, for MM and HEM, values equal to the square root of each hinge error while its CE and
LogitNorm columns follow their definitions; these functions implement Eq. 6-8 as written.

HEM changes two things in MM (appendix B.2, Table 3): "maz", the mean of the above-zero errors rather than of all
`K` (per example, and over the batch: `hem_reduce`), and "thres", errors below the example's mean error set to 0.
`multiclass_margin_loss` takes each on its own (`above_zero_mean`, `mean_threshold`); both together are `hem_loss`.

HEM+'s per-class margins :math:`\\mu_k` (`hem_plus_margins`) are read in one of two ways (`margin_of`):
``"competitor"``, Eq. 6 as written, :math:`e_i = \\max(0, z_i - z_y + \\mu_i)`, the margin of each competing class;
or ``"label"``, :math:`e_i = \\max(0, z_i - z_y + \\mu_y)`, the margin of the example's own class, as
label-distribution-aware margins (LDAM, Cao et al., 2019) set them. See `hem_plus_margins` for the default.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from el_jax.losses import _fused, _inputs

MARGIN_OF = ("competitor", "label")
"""The readings of a `[K]` margin: :math:`\\mu_i` on each competing logit :math:`i` (Eq. 6), or the label's
:math:`\\mu_y` on every error of the example."""


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _kept_hinge_sums(hem, logits, labels, margin):
  r"""`(total, count)` `[...]`: the sum and the number of the kept hinge errors of each example.

  The kept errors are the :math:`e_i = \\max(0, z_i - z_y + \\mu_i)`, :math:`i \ne y`, with :math:`e_i > 0` and,
  for HEM (`hem=True`), :math:`e_i \ge \bar e = \frac{1}{K} \sum_i e_i` (Eq. 8; MM keeps every positive error,
  Eq. 7). Neither `count` nor the threshold :math:`\bar e` is differentiated. The gradient of `total` is
  :math:`[i \text{ kept}]` for :math:`i \ne y` and :math:`-\mathrm{count}` at the label.

  `margin` broadcasts against the `[..., K]` errors: a scalar, a `[K]` array (a margin per logit) or a `[..., 1]`
  array (a margin per example).

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
  return grad, None, _sum_to(kept, margin.shape).astype(margin.dtype)


def _sum_to(values, shape):
  """`values` summed over the axes along which an array of `shape` was broadcast to their shape."""
  values = jnp.sum(values, axis=tuple(range(values.ndim - len(shape))))
  axes = tuple(i for i, size in enumerate(shape) if size == 1 and values.shape[i] != 1)
  return jnp.sum(values, axis=axes, keepdims=True).reshape(shape)


_kept_hinge_sums.defvjp(_kept_fwd, _kept_bwd)


def check_margin_of(margin_of: str) -> None:
  """Raises a ValueError naming the valid readings unless `margin_of` is one of `MARGIN_OF`."""
  if margin_of not in MARGIN_OF:
    raise ValueError(
      f"margin_of must be one of {', '.join(map(repr, MARGIN_OF))} (whose class's margin each hinge error adds: "
      f"the competing logit's, Eq. 6, or the example's label's), got {margin_of!r}."
    )


def _hinge_sums(logits, labels, margin, margin_of, threshold):
  """`(logits, total, count)`: the inputs prepared and `_kept_hinge_sums` with the margin read as `margin_of` says."""
  logits, labels = _inputs.prepare(logits, labels)
  _inputs.check_nonnegative("margin", margin)
  check_margin_of(margin_of)
  margin = jnp.asarray(margin, logits.dtype)
  if margin.ndim not in (0, 1) or (margin.ndim == 1 and margin.shape[0] != logits.shape[-1]):
    raise ValueError(
      f"margin must be a scalar or a [K] array of per-logit margins (K = {logits.shape[-1]}), got shape {margin.shape}."
    )
  if margin.ndim == 1 and margin_of == "label":
    margin = jnp.take(margin, labels, mode="wrap")[..., None]  # mu_y on every error; a label -1 reads as K - 1
  total, count = _kept_hinge_sums(threshold, logits, labels, margin)
  return logits, total, count


def multiclass_margin_loss(
  logits,
  labels,
  *,
  margin=1.0,
  margin_of: str = "competitor",
  mean_threshold: bool = False,
  above_zero_mean: bool = False,
  where=None,
):
  r"""Multi-class margin loss (MM, HEM paper Eq. 6-7), and the two halves of HEM (appendix B.2, Table 3).

  .. math::  L = \frac{1}{K} \sum_{i} e_i, \quad e_i = \max(0, z_i - z_y + \mu_i)\ (i \ne y),\ e_y = 0

  Its gradient is :math:`[e_i > 0] / K` for :math:`i \ne y` and :math:`-\#\{i \ne y: e_i > 0\} / K` at the
  label; the backward pass writes it in one element-wise pass, as cross-entropy does.

  Table 3's ablation of HEM's two changes, each alone (both together are `hem_loss`):

  - `mean_threshold=True` ("MM+thres"): the errors below the example's mean error
    :math:`\bar e = \mathrm{stop\_gradient}(\frac{1}{K} \sum_i e_i)` are set to 0 (Eq. 8's indicator), and the
    rest are still averaged over all `K` logits: :math:`\frac{1}{K} \sum_i [e_i \ge \bar e]\, e_i`.
  - `above_zero_mean=True` ("MM+maz"): the mean of the example's above-zero errors,
    :math:`\sum_i e_i / \max(1, \#\{i: e_i > 0\})`, and the batch objective is the mean of the above-zero
    per-example losses (`hem_reduce`, as for HEM): B.2 explains the gain by the zero errors "across the larger
    number of logits" that it ignores, so the change applies within each example, and §4.1 applies it to the batch.

  Args:
    logits: `[..., K]` unnormalised scores.
    labels: `[...]` integer classes in `[0, K)`.
    margin: :math:`\mu \ge 0`, a scalar or a `[K]` array of per-class margins (see `hem_plus_margins`).
    margin_of: how a `[K]` margin is read: ``"competitor"`` (Eq. 6, :math:`\mu_i` on logit `i`) or ``"label"``
      (:math:`\mu_y` on every error of an example of class `y`); see `hem_plus_margins`. No effect for a scalar.
    mean_threshold: keep only the errors at or above the example's mean error (HEM's threshold).
    above_zero_mean: average the above-zero errors only (HEM's mean), in the example and over the batch.
    where: optional bool `[...]` mask; masked entries give 0 and no gradient.

  Returns:
    float32 per-example losses of shape `[...]`.
  """
  logits, total, count = _hinge_sums(logits, labels, margin, margin_of, bool(mean_threshold))
  per_example = total / jnp.maximum(count, 1.0) if above_zero_mean else total / logits.shape[-1]
  return _inputs.apply_where(per_example, where)


def hem_loss(logits, labels, *, margin, margin_of: str = "competitor", where=None):
  r"""High error margin loss, per example (HEM paper Eq. 8).

  With :math:`\bar e = \mathrm{stop\_gradient}(\frac{1}{K}\sum_i e_i)`, the kept errors are those with
  :math:`e_i \ge \bar e` and :math:`e_i > 0`, and the example's loss is their mean (0 if none is kept).
  The batch objective averages only the examples whose loss is above zero: `hem_reduce`.
  With `n` kept errors the gradient is :math:`1 / n` at each kept logit and :math:`-1` at the label (the count
  and the threshold are not differentiated).

  Args:
    logits: `[..., K]` unnormalised scores.
    labels: `[...]` integer classes in `[0, K)`.
    margin: :math:`\mu \ge 0`, a scalar (`hem_margin`) or a `[K]` array of per-class margins (HEM+,
      `hem_plus_margins`). A concrete negative margin raises a ValueError; a traced one is not checked.
    margin_of: how a `[K]` margin is read: ``"competitor"`` (Eq. 6, :math:`\mu_i` on logit `i`) or ``"label"``
      (:math:`\mu_y` on every error of an example of class `y`); see `hem_plus_margins`. No effect for a scalar.
    where: optional bool `[...]` mask; masked entries give 0 and no gradient.

  Returns:
    float32 per-example losses of shape `[...]`.
  """
  _, total, count = _hinge_sums(logits, labels, margin, margin_of, True)
  return _inputs.apply_where(total / jnp.maximum(count, 1.0), where)


def hem_reduce(losses, where=None):
  r"""HEM's batch reduction: the mean of the above-zero values (HEM paper §4.1).

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
  r"""HEM+'s per-class margins :math:`\mu_k = \sqrt{M / (K s_k)}` (HEM paper §4.3).

  The losses read them in one of two ways, their `margin_of` hyper-parameter:

  - ``"competitor"`` (the default): :math:`e_i = \max(0, z_i - z_y + \mu_i)`, the margin of the competing
    class `i`. This is Eq. 6 as written: §3.6 writes per-logit margins :math:`\mu_i` into the error of logit `i`
    "as these will be exploited by the proposed loss", and §4.3 gives HEM+ "separate margins for each logit". A
    rare class then has a large margin as a competitor: the examples of the other classes must beat its logit by
    more, which lowers the rare classes' logits.
  - ``"label"``: :math:`e_i = \max(0, z_i - z_y + \mu_y)`, the margin of the example's own class, as
    label-distribution-aware margins (LDAM, Cao et al., 2019) do: the examples of a rare class must clear every
    competitor by a larger margin, which raises the rare classes' logits. §4.3's intent ("inversely proportional to
    the number of training samples associated with that class") reads this way too.

  The default follows the equations, which are the paper's definition, rather than a reading of its intent; the
  long-tail study (`configs/studies/long_tail.py`, arms `hem_plus` and `hem_plus_label`) trains both. Its report
  (`reports/long_tail/`) finds the label reading the closer to the paper's claims on HEM+ (9 of 10 comparisons in
  the claims' direction, against 6 of 10), though none of them is significant on its own at 5 seeds.

  Args:
    class_counts: `[K]` training examples per class :math:`s_k` (all > 0).
    M: the margin constant.

  Returns:
    a float32 numpy array `[K]`, to pass as `margin` to `hem_loss` or `multiclass_margin_loss` (with `margin_of`).
  """
  counts = np.asarray(class_counts, np.float64)
  if counts.ndim != 1 or counts.size < 2 or (counts <= 0).any() or M <= 0:
    raise ValueError(f"class_counts must be a [K] array of positive counts (K >= 2) and M > 0, got {counts}, {M}.")
  return np.sqrt(M / (counts.size * counts)).astype(np.float32)
