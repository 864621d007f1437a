"""Squared and absolute error on probabilities, with the mirror bonus (EL paper §4.5, Table 5; SPEC-losses §3).

The mirror bonus subtracts the error of the prediction from the *opposite* target, turning the bounded,
vanishing-gradient error losses into ones that keep rewarding confident correct predictions. With softmax, both
totals equal :math:`\\frac{4}{K}(1 - p_y) - 1`, and the absolute error without the bonus is
:math:`\\frac{2}{K}(1 - p_y)`: these read the logits only through :math:`p_y` and are computed from
`label_log_probs`, at the cost of cross-entropy.
"""

import jax
import jax.numpy as jnp

from el_jax.losses import _inputs
from el_jax.losses._label_probs import label_log_probs

ACTIVATIONS = ("softmax", "sigmoid")


def softmax_error_of_logs(log_p_y, log_1m_p_y, *, num_classes: int, mirror_bonus: bool):
  r"""The softmax's error from the label's log-probabilities, for the cases that read only :math:`p_y`.

  .. math::  L = \frac{4}{K}(1 - p_y) - 1 \text{ (either error, mirror bonus)}, \qquad
             L = \frac{2}{K}(1 - p_y) \text{ (absolute error, no bonus)}

  The errors of the other classes sum to :math:`\sum_{k \ne y} p_k = 1 - p_y` (EL paper §4.5): with the bonus,
  the squared error's :math:`(1 - p_y)^2 - p_y^2 = 1 - 2 p_y` at the label and :math:`p_k^2 - (1 - p_k)^2 = 2 p_k - 1`
  elsewhere sum to :math:`4 (1 - p_y) - K`, and so do the absolute error's :math:`1 - 2 p_y` and :math:`2 p_k - 1`.
  :math:`1 - p_y = e^{\log(1 - p_y)}` is exact near :math:`p_y = 1`.
  """
  del log_p_y
  scale = 4.0 if mirror_bonus else 2.0
  return (scale / num_classes) * jnp.exp(log_1m_p_y) - (1.0 if mirror_bonus else 0.0)


def _error(logits, labels, activation, mirror_bonus, where, squared):
  if activation not in ACTIVATIONS:
    raise ValueError(f"activation must be one of {', '.join(map(repr, ACTIVATIONS))}, got {activation!r}.")
  logits, labels = _inputs.prepare(logits, labels)
  if activation == "softmax" and (mirror_bonus or not squared):
    log_p_y, log_1m_p_y = label_log_probs(logits, labels)
    loss = softmax_error_of_logs(log_p_y, log_1m_p_y, num_classes=logits.shape[-1], mirror_bonus=mirror_bonus)
    return _inputs.apply_where(loss, where)
  a = jax.nn.softmax(logits, axis=-1) if activation == "softmax" else jax.nn.sigmoid(logits)
  t = jax.nn.one_hot(labels, logits.shape[-1], dtype=logits.dtype)
  if squared:
    loss = jnp.square(t - a)
    if mirror_bonus:
      loss = loss - (t * jnp.square(a) + (1.0 - t) * jnp.square(1.0 - a))
  else:
    loss = jnp.abs(t - a)
    if mirror_bonus:
      loss = loss - (t * a + (1.0 - t) * (1.0 - a))
  return _inputs.apply_where(jnp.mean(loss, axis=-1), where)


def squared_error(logits, labels, *, activation: str = "softmax", mirror_bonus: bool = False, where=None):
  r"""Mean squared error between the one-hot target and the activations, with the optional mirror bonus.

  .. math::  L = \frac{1}{K}\sum_k (t_k - a_k)^2 \;-\; \frac{1}{K}\sum_k \big(t_k a_k^2 + (1 - t_k)(1 - a_k)^2\big)

  (the second sum only with `mirror_bonus`), :math:`a = \mathrm{softmax}(z)` or :math:`\sigma(z)`. With the
  softmax and the bonus this is :math:`\frac{4}{K}(1 - p_y) - 1` (see `softmax_error_of_logs`).

  Args:
    logits: `[..., K]` unnormalised scores.
    labels: `[...]` integer classes in `[0, K)`.
    activation: `"softmax"` or `"sigmoid"`.
    mirror_bonus: subtract the mirror bonus.
    where: optional bool `[...]` mask; masked entries give 0 and no gradient.

  Returns:
    float32 per-example losses of shape `[...]`.
  """
  return _error(logits, labels, activation, mirror_bonus, where, squared=True)


def absolute_error(logits, labels, *, activation: str = "softmax", mirror_bonus: bool = False, where=None):
  r"""Mean absolute error between the one-hot target and the activations, with the optional mirror bonus.

  .. math::  L = \frac{1}{K}\sum_k |t_k - a_k| \;-\; \frac{1}{K}\sum_k \big(t_k a_k + (1 - t_k)(1 - a_k)\big)

  (the second sum only with `mirror_bonus`), :math:`a = \mathrm{softmax}(z)` or :math:`\sigma(z)`. With the
  softmax this is :math:`\frac{4}{K}(1 - p_y) - 1` with the bonus and :math:`\frac{2}{K}(1 - p_y)` without it
  (see `softmax_error_of_logs`).

  Args:
    logits: `[..., K]` unnormalised scores.
    labels: `[...]` integer classes in `[0, K)`.
    activation: `"softmax"` or `"sigmoid"`.
    mirror_bonus: subtract the mirror bonus.
    where: optional bool `[...]` mask; masked entries give 0 and no gradient.

  Returns:
    float32 per-example losses of shape `[...]`.
  """
  return _error(logits, labels, activation, mirror_bonus, where, squared=False)


def absolute_and_squared_error(logits, labels, *, activation: str = "softmax", where=None):
  r"""The sum of the mean absolute and the mean squared error (no bonus): "MAE + MSE", the loss a public
  re-implementation of the EL paper (a blog summary, kuangliu's CIFAR-10 ResNet-18 recipe) set beside CE and
  CE + bonus.

  .. math::  L = \frac{1}{K}\sum_k |t_k - a_k| + \frac{1}{K}\sum_k (t_k - a_k)^2

  with :math:`a = \mathrm{softmax}(z)` or :math:`\sigma(z)` (`activation`), :math:`t` the one-hot target.

  Args:
    logits: `[..., K]` unnormalised scores.
    labels: `[...]` integer classes in `[0, K)`.
    activation: `"softmax"` or `"sigmoid"`.
    where: optional bool `[...]` mask; masked entries give 0 and no gradient.

  Returns:
    float32 per-example losses of shape `[...]`.
  """
  return absolute_error(logits, labels, activation=activation, where=where) + squared_error(
    logits, labels, activation=activation, where=where
  )
