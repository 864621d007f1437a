"""Focal loss and the halted focal loss (EL paper appendix C.1, Eq. 10-11; SPEC-losses §4).

Focal loss down-weights well-classified examples by :math:`(1 - p)^\\gamma`; the halted focal loss (HFL) stops
that down-weighting at a threshold :math:`\\phi` and continues with cross-entropy's gradient, so that
well-classified examples are not ignored.
"""

import math

import jax
import jax.numpy as jnp

from el_jax.losses import _inputs
from el_jax.losses._label_probs import label_log_probs


def check_hparams(gamma: float, threshold: float | None = None):
  """Raises a ValueError unless `gamma >= 0` and (when given) the threshold lies in (0, 1)."""
  if gamma < 0.0:
    raise ValueError(f"gamma must be >= 0, got {gamma} (0 gives cross-entropy).")
  if threshold is not None:
    _inputs.check_unit("threshold", threshold, low_open=True, high_open=True)


def focal_of_logs(log_p, log_1m_p, gamma):
  r"""Focal loss on :math:`(\log p, \log(1 - p))` (Eq. 10): :math:`-(1 - p)^\gamma \log p`, with
  :math:`(1 - p)^\gamma = e^{\gamma \log(1 - p)}` exact near :math:`p = 1`."""
  return -jnp.exp(gamma * log_1m_p) * log_p


def halted_focal_of_logs(log_p, log_1m_p, gamma, threshold):
  r"""HFL on :math:`\log p`, :math:`\log(1 - p)` (Eq. 11): focal up to :math:`\phi`, then CE shifted to meet it."""
  shift = (1.0 - (1.0 - threshold) ** gamma) * math.log(threshold)
  return jnp.where(jnp.exp(log_p) <= threshold, focal_of_logs(log_p, log_1m_p, gamma), shift - log_p)


def class_weight(alpha, labels, num_classes: int):
  """:math:`\alpha_y`: a scalar, or a `[K]` array indexed by the labels; any other shape raises a ValueError."""
  if alpha is None:
    return 1.0
  alpha = jnp.asarray(alpha, jnp.float32)
  if alpha.ndim == 0:
    return alpha
  if alpha.ndim != 1 or alpha.shape[0] != num_classes:
    got = f"length {alpha.shape[0]}" if alpha.ndim == 1 else f"shape {alpha.shape}"
    raise ValueError(
      f"alpha must be a scalar or a [K] array with one weight per class: the logits have K = {num_classes} "
      f"classes, but alpha has {got}."
    )
  return alpha[labels]


def focal_loss(logits, labels, *, gamma: float = 2.0, alpha=None, where=None):
  r"""Softmax focal loss (Lin et al. 2017; EL paper Eq. 10).

  .. math::  L = -\alpha_y (1 - p_y)^\gamma \log p_y

  with :math:`(1 - p_y)^\gamma = e^{\gamma \log(1 - p_y)}` computed from the exact :math:`\log(1 - p_y)`.

  Args:
    logits: `[..., K]` unnormalised scores.
    labels: `[...]` integer classes in `[0, K)`.
    gamma: the focusing exponent :math:`\gamma \ge 0`.
    alpha: optional weight: a scalar, or a `[K]` array of class weights :math:`\alpha_y` (any other length raises
      a ValueError).
    where: optional bool `[...]` mask; masked entries give 0 and no gradient.

  Returns:
    float32 per-example losses of shape `[...]`.
  """
  check_hparams(gamma)
  logits, labels = _inputs.prepare(logits, labels)
  log_p_y, log_1m_p_y = label_log_probs(logits, labels)
  weight = class_weight(alpha, labels, logits.shape[-1])
  return _inputs.apply_where(weight * focal_of_logs(log_p_y, log_1m_p_y, gamma), where)


def halted_focal_loss(logits, labels, *, gamma: float = 2.0, threshold: float = 0.5, where=None):
  r"""Softmax halted focal loss (EL paper appendix C.1, Eq. 11).

  .. math::  L = \begin{cases} -(1 - p_y)^\gamma \log p_y & p_y \le \phi \\
             -\log p_y + (1 - (1 - \phi)^\gamma) \log \phi & p_y > \phi \end{cases}

  Continuous at :math:`\phi`; above it the gradient is cross-entropy's.

  Args:
    logits: `[..., K]` unnormalised scores.
    labels: `[...]` integer classes in `[0, K)`.
    gamma: the focusing exponent :math:`\gamma \ge 0`.
    threshold: :math:`\phi` in `(0, 1)`, where focusing halts.
    where: optional bool `[...]` mask; masked entries give 0 and no gradient.

  Returns:
    float32 per-example losses of shape `[...]`.
  """
  check_hparams(gamma, threshold)
  logits, labels = _inputs.prepare(logits, labels)
  log_p_y, log_1m_p_y = label_log_probs(logits, labels)
  return _inputs.apply_where(halted_focal_of_logs(log_p_y, log_1m_p_y, gamma, threshold), where)


def _binary_logs(logits, targets):
  signed = (2.0 * targets - 1.0) * logits
  return -jax.nn.softplus(-signed), -jax.nn.softplus(signed)


def sigmoid_focal_loss(logits, targets, *, gamma: float = 2.0, alpha: float | None = None, where=None):
  r"""Element-wise sigmoid focal loss for multi-label classification and detection (Lin et al. 2017).

  .. math::  L = -\alpha_t (1 - p_t)^\gamma \log p_t, \quad p_t = t\,\sigma(z) + (1 - t)(1 - \sigma(z))

  with :math:`\alpha_t = \alpha t + (1 - \alpha)(1 - t)` when `alpha` is given (as `optax.sigmoid_focal_loss`).

  Args:
    logits: `[...]` unnormalised scores.
    targets: `[...]` 0/1 targets of the same shape. Concrete targets outside {0, 1} raise a ValueError; traced
      ones (inside `jit`) are not checked, and a value other than 0 or 1 there gives a meaningless loss.
    gamma: the focusing exponent :math:`\gamma \ge 0`.
    alpha: optional weight of the positives in `[0, 1]`.
    where: optional bool `[...]` mask; masked entries give 0 and no gradient.

  Returns:
    float32 per-element losses of shape `[...]`.
  """
  check_hparams(gamma)
  if alpha is not None:
    _inputs.check_unit("alpha", alpha)
  logits, targets = _inputs.prepare_binary(logits, targets)
  loss = focal_of_logs(*_binary_logs(logits, targets), gamma)
  if alpha is not None:
    loss = (alpha * targets + (1.0 - alpha) * (1.0 - targets)) * loss
  return _inputs.apply_where(loss, where)


def sigmoid_halted_focal_loss(logits, targets, *, gamma: float = 2.0, threshold: float = 0.5, where=None):
  r"""Element-wise halted focal loss on :math:`p_t` (EL paper Eq. 11 per binary decision).

  The released detection code switches at logit 0, i.e. :math:`\phi = 0.5`, the default.

  Args:
    logits: `[...]` unnormalised scores.
    targets: `[...]` 0/1 targets of the same shape. Concrete targets outside {0, 1} raise a ValueError; traced
      ones (inside `jit`) are not checked, and a value other than 0 or 1 there gives a meaningless loss.
    gamma: the focusing exponent :math:`\gamma \ge 0`.
    threshold: :math:`\phi` in `(0, 1)`.
    where: optional bool `[...]` mask; masked entries give 0 and no gradient.

  Returns:
    float32 per-element losses of shape `[...]`.
  """
  check_hparams(gamma, threshold)
  logits, targets = _inputs.prepare_binary(logits, targets)
  return _inputs.apply_where(halted_focal_of_logs(*_binary_logs(logits, targets), gamma, threshold), where)
