"""Softmax cross-entropy, the baseline every paper compares with (SPEC-losses §1)."""

import jax.numpy as jnp

from el_jax.losses import _inputs
from el_jax.losses._label_probs import label_log_probs


def cross_entropy_of_logs(log_p_y, log_1m_p_y):
  r"""Cross-entropy without smoothing from the label's log-probabilities: :math:`L = -\log p_y`.

  `log_1m_p_y` (:math:`\log(1 - p_y)`) is not used; it is taken so that every loss of the `p_y` family has one
  signature (see `_label_losses`).
  """
  del log_1m_p_y
  return -log_p_y


def cross_entropy(logits, labels, *, label_smoothing: float = 0.0, where=None):
  r"""Softmax cross-entropy with integer labels and optional label smoothing.

  .. math::  L = -\sum_k q_k \log p_k, \quad p = \mathrm{softmax}(z), \quad q = (1 - s) e_y + s / K

  computed as :math:`-\log p_y + s\,(\log p_y - \tfrac{1}{K} \sum_k \log p_k)` with
  :math:`\log p_k = z_k - z_y + \log p_y`. Its gradient with respect to the logits is :math:`p - q`.

  Args:
    logits: `[..., K]` unnormalised scores.
    labels: `[...]` integer classes in `[0, K)`.
    label_smoothing: `s` in `[0, 1]`.
    where: optional bool `[...]` mask; masked entries give 0 and no gradient.

  Returns:
    float32 per-example losses of shape `[...]`.
  """
  _inputs.check_unit("label_smoothing", label_smoothing)
  logits, labels = _inputs.prepare(logits, labels)
  log_p_y, log_1m_p_y = label_log_probs(logits, labels)
  loss = cross_entropy_of_logs(log_p_y, log_1m_p_y)
  if label_smoothing:
    z_y = jnp.take_along_axis(logits, labels[..., None], axis=-1)[..., 0]
    mean_log_p = jnp.mean(logits, axis=-1) - z_y + log_p_y
    loss = loss + label_smoothing * (log_p_y - mean_log_p)
  return _inputs.apply_where(loss, where)
