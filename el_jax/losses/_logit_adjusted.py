"""Logit-adjusted loss for imbalanced data (Menon et al. 2021; HEM paper §3.4; SPEC-losses §7)."""

import numpy as np

from el_jax.losses import _inputs
from el_jax.losses._cross_entropy import cross_entropy_of_logs
from el_jax.losses._label_probs import label_log_probs


def logit_adjusted_loss(logits, labels, *, class_counts, tau: float = 1.0, where=None):
  r"""Cross-entropy on logits shifted by the log class prior.

  .. math::  L = \mathrm{CE}(z + \tau \log \pi, y), \quad \pi_j = s_j / \textstyle\sum_k s_k

  Args:
    logits: `[..., K]` unnormalised scores.
    labels: `[...]` integer classes in `[0, K)`.
    class_counts: `[K]` training examples per class :math:`s_j` (all > 0).
    tau: the adjustment strength :math:`\tau`.
    where: optional bool `[...]` mask; masked entries give 0 and no gradient.

  Returns:
    float32 per-example losses of shape `[...]`.
  """
  logits, labels = _inputs.prepare(logits, labels)
  log_p_y, log_1m_p_y = label_log_probs(logits + logit_adjustment(class_counts, tau, logits.shape[-1]), labels)
  return _inputs.apply_where(cross_entropy_of_logs(log_p_y, log_1m_p_y), where)


def logit_adjustment(class_counts, tau, num_classes: int):
  r"""The per-class shift :math:`\tau \log \pi` `[K]` added to the logits, :math:`\pi_j = s_j / \sum_k s_k`.

  The prior is computed in float64 and rounded to float32. Raises a ValueError unless `class_counts` is a `[K]`
  array of positive counts.
  """
  counts = np.asarray(class_counts, np.float64)
  if counts.shape != (num_classes,) or (counts <= 0).any():
    raise ValueError(
      f"class_counts must be a [K] array of positive counts with K = {num_classes}, got shape "
      f"{counts.shape} (min {counts.min() if counts.size else None})."
    )
  return tau * np.log(counts / counts.sum()).astype(np.float32)
