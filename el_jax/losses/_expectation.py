"""The expectation loss and its mixture with cross-entropy (Expectation-mixing paper, Eq. 9-14; SPEC-losses §5)."""

import jax.numpy as jnp

from el_jax.losses import _inputs
from el_jax.losses._label_probs import label_log_probs


def expectation_of_logs(log_p_y, log_1m_p_y):
  r"""The expectation loss from the label's log-probabilities: :math:`L = 1 - p_y = e^{\log(1 - p_y)}` (Eq. 9)."""
  del log_p_y
  return jnp.exp(log_1m_p_y)


def mixed_ce_expectation_of_logs(log_p_y, log_1m_p_y, *, alpha, beta):
  r"""The mixture from the label's log-probabilities: :math:`L = -\alpha \log p_y + \beta (1 - p_y)` (Eq. 12).

  `alpha` and `beta` may be traced scalars (a schedule).
  """
  alpha, beta = jnp.asarray(alpha, log_p_y.dtype), jnp.asarray(beta, log_p_y.dtype)
  return -alpha * log_p_y + beta * jnp.exp(log_1m_p_y)


def expectation_loss(logits, labels, *, where=None):
  r"""Expectation loss :math:`L = 1 - p_y` (the expected 0-1 error; mixing paper Eq. 9).

  :math:`1 - p_y` is computed as :math:`e^{\log(1 - p_y)}`, exact near :math:`p_y = 1`.

  Args:
    logits: `[..., K]` unnormalised scores.
    labels: `[...]` integer classes in `[0, K)`.
    where: optional bool `[...]` mask; masked entries give 0 and no gradient.

  Returns:
    float32 per-example losses of shape `[...]`.
  """
  logits, labels = _inputs.prepare(logits, labels)
  log_p_y, log_1m_p_y = label_log_probs(logits, labels)
  return _inputs.apply_where(expectation_of_logs(log_p_y, log_1m_p_y), where)


def mixed_ce_expectation(logits, labels, *, alpha=1.0, beta=1.0, where=None):
  r"""Cross-entropy mixed with the expectation loss (mixing paper Eq. 12).

  .. math::  L = -\alpha \log p_y + \beta (1 - p_y)

  Its gradient (Eq. 13) is :math:`\beta p_y^2 + (\alpha - \beta) p_y - \alpha` at the label and
  :math:`p_j (\beta p_y + \alpha)` elsewhere. The focus `F` of Eq. 14 sets :math:`(\alpha, \beta)`
  (see `focus_weights`); for :math:`\alpha > 0` this is :math:`\alpha` times the poly-1 loss with
  :math:`\epsilon = \beta / \alpha`.

  Args:
    logits: `[..., K]` unnormalised scores.
    labels: `[...]` integer classes in `[0, K)`.
    alpha: the weight of cross-entropy; may be a traced scalar (a schedule).
    beta: the weight of the expectation loss; may be a traced scalar.
    where: optional bool `[...]` mask; masked entries give 0 and no gradient.

  Returns:
    float32 per-example losses of shape `[...]`.
  """
  logits, labels = _inputs.prepare(logits, labels)
  log_p_y, log_1m_p_y = label_log_probs(logits, labels)
  return _inputs.apply_where(mixed_ce_expectation_of_logs(log_p_y, log_1m_p_y, alpha=alpha, beta=beta), where)
