"""Softmax cross-entropy, the baseline every paper compares with (SPEC-losses §1)."""

import jax
import jax.numpy as jnp

from el_jax.losses import _inputs


def cross_entropy(logits, labels, *, label_smoothing: float = 0.0, where=None):
  r"""Softmax cross-entropy with integer labels and optional label smoothing.

  .. math::  L = -\sum_k q_k \log p_k, \quad p = \mathrm{softmax}(z), \quad q = (1 - s) e_y + s / K

  Its gradient with respect to the logits is :math:`p - q`.

  Args:
    logits: `[..., K]` unnormalised scores.
    labels: `[...]` integer classes in `[0, K)`.
    label_smoothing: `s` in `[0, 1]`.
    where: optional bool `[...]` mask; masked entries give 0 and no gradient.

  Returns:
    float32 per-example losses of shape `[...]`.
  """
  logits = _inputs.as_float32(logits)
  labels = jnp.asarray(labels)
  _inputs.check_shapes(logits, labels)
  if not 0.0 <= label_smoothing <= 1.0:
    raise ValueError(f"label_smoothing must lie in [0, 1], got {label_smoothing}.")
  log_p = jax.nn.log_softmax(logits, axis=-1)
  log_p_y = jnp.take_along_axis(log_p, labels[..., None], axis=-1)[..., 0]
  loss = -log_p_y
  if label_smoothing:
    loss = (1.0 - label_smoothing) * loss - label_smoothing * jnp.mean(log_p, axis=-1)
  return _inputs.apply_where(loss, where)
