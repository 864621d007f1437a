"""Multi-class DICE loss, a batch-level loss (Milletari et al. 2016; HEM paper §3.5, Eq. 5; SPEC-losses §7)."""

import jax
import jax.numpy as jnp

from el_jax.losses import _inputs


def dice_loss(logits, labels, *, smooth: float = 1.0, where=None):
  r"""DICE loss over a batch: per class, one minus the soft overlap of targets and predictions; then the mean.

  .. math::  L = \frac{1}{K} \sum_c \Big(1 - \frac{2 \sum_n t_{nc} p_{nc} + s}{\sum_n (t_{nc} + p_{nc}) + s}\Big)

  with :math:`p = \mathrm{softmax}(z)`, :math:`t` the one-hot labels, sums over every unmasked example (all
  leading axes), and the smoothing term `s` that keeps a class absent from the batch at 0 instead of 0/0. A class
  with neither targets nor predicted mass counts 0 for any `s >= 0` (the limit as `s -> 0`), so the loss of an
  empty or fully masked batch is 0 with a zero gradient. A NaN logit in an unmasked example makes the loss NaN.

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
  p = jax.nn.softmax(logits, axis=-1)
  t = jax.nn.one_hot(labels, logits.shape[-1], dtype=logits.dtype)
  if where is not None:
    keep = _inputs.as_mask(where, labels.shape)[..., None]
    p, t = jnp.where(keep, p, 0.0), jnp.where(keep, t, 0.0)  # a select, so that a masked NaN is left out too
  axes = tuple(range(logits.ndim - 1))
  overlap = jnp.sum(t * p, axis=axes)
  denominator = jnp.sum(t + p, axis=axes) + smooth
  # 0 only when class c has neither targets nor predicted mass in the batch (with s = 0): its ratio is then 1, the
  # limit as s -> 0, and not 0/0. A NaN denominator is not 0 and stays NaN.
  empty = denominator == 0.0
  ratio = (2.0 * overlap + smooth) / jnp.where(empty, 1.0, denominator)
  return jnp.mean(1.0 - jnp.where(empty, 1.0, ratio))
