"""The losses that depend on the logits only through :math:`p_y`, as functions of :math:`(\\log p_y, \\log(1 - p_y))`.

Cross-entropy, EL (every bonus shape), focal, halted focal, the expectation loss, its mixture with cross-entropy,
the logit-adjusted loss (cross-entropy on logits shifted per class) and the softmax's squared and absolute errors
with the mirror bonus all read the logits only through the label's log-probability and log-complement.
`label_loss` returns such a loss as a formula on those two arrays plus, for the logit-adjusted loss, the per-class
shift to add to the logits, so that a caller that computes :math:`(\\log p_y, \\log(1 - p_y))` another way
(`linear_loss`, without materialising the logits) gets the same loss as `get(name, **hparams)` on the logits.

Label smoothing `s` also reads the mean log-probability over the `K` classes,
:math:`\\bar\\ell = \\tfrac{1}{K} \\sum_k \\log p_k` (one more per-token sum, that of the logits), and EL's smoothing
term the sum of the bonus over the other classes, :math:`B = \\sum_{k \\ne y} b(p_k)` (a second pass over the logits):
their formulas take them as further arguments (`LabelLoss.mean_log_p` and `LabelLoss.others_bonus`). So does the
softmax's squared error the collision probability of the other classes,
:math:`\\rho = \\sum_{k \\ne y} p_k^2 / (1 - p_y)^2` (one more per-token sum, `LabelLoss.others_collision`).
"""

from collections.abc import Callable
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from el_jax.losses import _inputs, _registry
from el_jax.losses._bonus import Bonus
from el_jax.losses._cross_entropy import cross_entropy_of_logs
from el_jax.losses._encouraging import encouraging_of_logs
from el_jax.losses._expectation import expectation_of_logs, mixed_ce_expectation_of_logs
from el_jax.losses._focal import check_hparams as check_focal_hparams
from el_jax.losses._focal import class_weight, focal_of_logs, halted_focal_of_logs
from el_jax.losses._logit_adjusted import logit_adjustment
from el_jax.losses._prediction_error import ACTIVATIONS, softmax_error_of_logs


class LabelLoss(NamedTuple):
  """A loss of the :math:`p_y` family with its hyper-parameters bound.

  `formula(log_p_y, log_1m_p_y, labels)` gives the per-example losses `[...]` (only focal's class weights read the
  labels); `logit_shift` is `None` or a `[K]` array added to every row of logits before the softmax. When
  `mean_log_p` is True the formula takes a fourth argument, the mean over the classes of :math:`\\log p_k`
  `[...]` (label smoothing). When `others_bonus` is a `Bonus` `b`, the formula takes the sum over the other
  classes of :math:`b(p_k)` `[...]` as its next argument (EL with label smoothing). When `others_collision` is
  True, it takes :math:`\\rho = \\sum_{k \\ne y} p_k^2 / (1 - p_y)^2` `[...]` as its last (the squared error).
  """

  formula: Callable
  logit_shift: np.ndarray | None = None
  mean_log_p: bool = False
  others_bonus: Bonus | None = None
  others_collision: bool = False


def _cross_entropy(num_classes, *, label_smoothing):
  del num_classes
  _inputs.check_unit("label_smoothing", label_smoothing)
  if not label_smoothing:
    return LabelLoss(lambda log_p, log_1m_p, labels: cross_entropy_of_logs(log_p, log_1m_p))

  def smoothed(log_p, log_1m_p, labels, mean_log_p):  # as `cross_entropy`: q = (1 - s) e_y + s / K
    return cross_entropy_of_logs(log_p, log_1m_p) + label_smoothing * (log_p - mean_log_p)

  return LabelLoss(smoothed, mean_log_p=True)


def _encouraging(num_classes, *, log_end, bonus_start, bonus_rho, eps, bonus, bonus_gamma, label_smoothing):
  b = Bonus(bonus, log_end, bonus_start, eps, bonus_gamma).check()
  _inputs.check_unit("label_smoothing", label_smoothing)
  if not label_smoothing:
    return LabelLoss(lambda log_p, log_1m_p, labels: encouraging_of_logs(log_p, log_1m_p, bonus=b, rho=bonus_rho))
  s, k = label_smoothing, num_classes

  def smoothed(log_p, log_1m_p, labels, mean_log_p, bonus_sum):
    # as `encouraging_loss`: (1 - s + s / K) times the label's term plus s / K times the others',
    # sum_{k != y} (-log p_k + rho b(p_k)) = -K mean_log_p + log p_y + rho B.
    label_term = encouraging_of_logs(log_p, log_1m_p, bonus=b, rho=bonus_rho)
    others = -k * mean_log_p + log_p + jnp.asarray(bonus_rho, log_p.dtype) * bonus_sum
    return (1.0 - s + s / k) * label_term + (s / k) * others

  return LabelLoss(smoothed, mean_log_p=True, others_bonus=b)


def _focal(num_classes, *, gamma, alpha):
  check_focal_hparams(gamma)
  class_weight(alpha, np.zeros((), int), num_classes)  # checks alpha's shape against K now, not at the first call
  return LabelLoss(
    lambda log_p, log_1m_p, labels: class_weight(alpha, labels, num_classes) * focal_of_logs(log_p, log_1m_p, gamma)
  )


def _halted_focal(num_classes, *, gamma, threshold):
  del num_classes
  check_focal_hparams(gamma, threshold)
  return LabelLoss(lambda log_p, log_1m_p, labels: halted_focal_of_logs(log_p, log_1m_p, gamma, threshold))


def _expectation(num_classes):
  del num_classes
  return LabelLoss(lambda log_p, log_1m_p, labels: expectation_of_logs(log_p, log_1m_p))


def _mixed(num_classes, *, alpha, beta):
  del num_classes
  return LabelLoss(
    lambda log_p, log_1m_p, labels: mixed_ce_expectation_of_logs(log_p, log_1m_p, alpha=alpha, beta=beta)
  )


def _logit_adjusted(num_classes, *, class_counts, tau):
  shift = logit_adjustment(class_counts, tau, num_classes)
  return LabelLoss(lambda log_p, log_1m_p, labels: cross_entropy_of_logs(log_p, log_1m_p), shift)


def _prediction_error(name: str):
  """Squared or absolute error (`name`) with the softmax, as formulas on :math:`p_y` (EL paper §4.5): the errors of
  the other classes sum to :math:`1 - p_y`, so with the mirror bonus either error is :math:`\\frac{4}{K}(1 - p_y) - 1`
  and the absolute error without it :math:`\\frac{2}{K}(1 - p_y)`; the squared error without it is
  :math:`\\frac{1}{K}\\big((1 - p_y)^2 + \\sum_{k \\ne y} p_k^2\\big) = \\frac{1}{K}(1 - p_y)^2 (1 + \\rho)`."""

  def build(num_classes, *, activation, mirror_bonus):
    if activation not in ACTIVATIONS:
      raise ValueError(f"activation must be one of {', '.join(map(repr, ACTIVATIONS))}, got {activation!r}.")
    if activation != "softmax":
      raise NotImplementedError(
        f"{name} with activation={activation!r} is not of the p_y family: each class's error reads its own "
        "sigmoid (linear_loss computes it with linear_sigmoid_error_sum)."
      )
    k = num_classes
    if name == "squared_error" and not mirror_bonus:

      def squared(log_p, log_1m_p, labels, rho):
        return jnp.exp(2.0 * log_1m_p) * (1.0 + rho) / k

      return LabelLoss(squared, others_collision=True)
    return LabelLoss(
      lambda log_p, log_1m_p, labels: softmax_error_of_logs(log_p, log_1m_p, num_classes=k, mirror_bonus=mirror_bonus)
    )

  return build


_BUILDERS = {
  "absolute_error": _prediction_error("absolute_error"),
  "cross_entropy": _cross_entropy,
  "encouraging_loss": _encouraging,
  "expectation_loss": _expectation,
  "focal_loss": _focal,
  "halted_focal_loss": _halted_focal,
  "logit_adjusted_loss": _logit_adjusted,
  "mixed_ce_expectation": _mixed,
  "squared_error": _prediction_error("squared_error"),
}

FAMILY = tuple(sorted(_BUILDERS))
"""The registered losses `label_loss` supports."""


def label_loss(name: str, num_classes: int, **hparams) -> LabelLoss:
  """Loss `name` of the :math:`p_y` family with hyper-parameters `hparams` (defaults as in `get`), for K classes.

  Raises:
    ValueError: for an unknown loss or hyper-parameter, or a hyper-parameter out of range (as `get` and the loss
      do).
    NotImplementedError: for a registered loss outside the family, naming it.
  """
  valid = _registry.hparams(name)  # a ValueError listing the names if `name` is unknown
  if name not in _BUILDERS:
    raise NotImplementedError(f"Loss {name!r} is not of the p_y family: {', '.join(FAMILY)}.")
  _registry.check_hparams(name, hparams, valid)
  return _BUILDERS[name](num_classes, **{**valid, **hparams})
