"""Squared and absolute error on probabilities, with the mirror bonus (EL paper §4.5, Table 5; SPEC-losses §3).

The mirror bonus subtracts the error of the prediction from the *opposite* target, turning the bounded,
vanishing-gradient error losses into ones that keep rewarding confident correct predictions. With softmax, both
totals equal :math:`\\frac{4}{K}(1 - p_y) - 1`.
"""

import jax
import jax.numpy as jnp

from el_jax.losses import _inputs

ACTIVATIONS = ("softmax", "sigmoid")


def _activations(logits, labels, activation):
  if activation not in ACTIVATIONS:
    raise ValueError(f"activation must be one of {', '.join(map(repr, ACTIVATIONS))}, got {activation!r}.")
  logits, labels = _inputs.prepare(logits, labels)
  a = jax.nn.softmax(logits, axis=-1) if activation == "softmax" else jax.nn.sigmoid(logits)
  return a, jax.nn.one_hot(labels, logits.shape[-1], dtype=logits.dtype)


def squared_error(logits, labels, *, activation: str = "softmax", mirror_bonus: bool = False, where=None):
  r"""Mean squared error between the one-hot target and the activations, with the optional mirror bonus.

  .. math::  L = \frac{1}{K}\sum_k (t_k - a_k)^2 \;-\; \frac{1}{K}\sum_k \big(t_k a_k^2 + (1 - t_k)(1 - a_k)^2\big)

  (the second sum only with `mirror_bonus`), :math:`a = \mathrm{softmax}(z)` or :math:`\sigma(z)`.

  Args:
    logits: `[..., K]` unnormalised scores.
    labels: `[...]` integer classes in `[0, K)`.
    activation: `"softmax"` or `"sigmoid"`.
    mirror_bonus: subtract the mirror bonus.
    where: optional bool `[...]` mask; masked entries give 0 and no gradient.

  Returns:
    float32 per-example losses of shape `[...]`.
  """
  a, t = _activations(logits, labels, activation)
  loss = jnp.square(t - a)
  if mirror_bonus:
    loss = loss - (t * jnp.square(a) + (1.0 - t) * jnp.square(1.0 - a))
  return _inputs.apply_where(jnp.mean(loss, axis=-1), where)


def absolute_error(logits, labels, *, activation: str = "softmax", mirror_bonus: bool = False, where=None):
  r"""Mean absolute error between the one-hot target and the activations, with the optional mirror bonus.

  .. math::  L = \frac{1}{K}\sum_k |t_k - a_k| \;-\; \frac{1}{K}\sum_k \big(t_k a_k + (1 - t_k)(1 - a_k)\big)

  (the second sum only with `mirror_bonus`), :math:`a = \mathrm{softmax}(z)` or :math:`\sigma(z)`.

  Args:
    logits: `[..., K]` unnormalised scores.
    labels: `[...]` integer classes in `[0, K)`.
    activation: `"softmax"` or `"sigmoid"`.
    mirror_bonus: subtract the mirror bonus.
    where: optional bool `[...]` mask; masked entries give 0 and no gradient.

  Returns:
    float32 per-example losses of shape `[...]`.
  """
  a, t = _activations(logits, labels, activation)
  loss = jnp.abs(t - a)
  if mirror_bonus:
    loss = loss - (t * a + (1.0 - t) * (1.0 - a))
  return _inputs.apply_where(jnp.mean(loss, axis=-1), where)
