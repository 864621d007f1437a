r"""The prediction errors on sigmoids (EL paper §4.5, Table 5) of the logits `hidden @ weight + bias`, streamed.

With the sigmoid :math:`a_k = \sigma(z_k)` each class's error reads only its own logit, so a token's error is a sum
over the vocabulary of one function of the logit for the classes other than the label and another for the label:

.. math::  \sum_k \big((t_k - a_k)^2 \text{ or } |t_k - a_k|\big) = \sum_{k \ne y} f_0(z_k) + f_1(z_y)

with :math:`(f_0, f_1) = (\sigma(z)^2, \sigma(-z)^2)` for the squared error and :math:`(\sigma(z), \sigma(-z))` for
the absolute error. The mirror bonus subtracts the error from the opposite target, :math:`(1 - a)^2` or
:math:`1 - a` off the label and :math:`a^2` or :math:`a` on it, which leaves the same pair for both errors:
:math:`(2 \sigma(z) - 1, 1 - 2 \sigma(z)) = (\tanh(z / 2), -\tanh(z / 2))`.

`linear_sigmoid_error_sum` makes one pass over the blocks of logits for the sum; the backward pass recomputes each
block once and forms its gradient :math:`f_0'(z_k)` off the label and :math:`f_1'(z_y)` on it (`_linear_blocks`).
With the vocabulary sharded over a mesh axis (`vocab_axis`), each shard sums its own columns and one `psum` of the
stacked `[3, N]` sums, label hits and (zero) label logits combines them (`label_logits`); the backward pass's
`psum` of `d hidden` is the other collective.
"""

import functools

import jax
import jax.numpy as jnp

from el_jax.losses._linear_blocks import (
  accumulation_dtype,
  block_sizes,
  flat_inputs,
  gradients,
  label_logits,
  local_labels,
  row_scan,
  vary_alike,
)


def _squared_others(z):
  return jnp.square(jax.nn.sigmoid(z))


def _squared_label(z):
  return jnp.square(jax.nn.sigmoid(-z))


def _mirrored_others(z):
  return jnp.tanh(0.5 * z)


def _mirrored_label(z):
  return -jnp.tanh(0.5 * z)


ERRORS = {  # (loss, mirror_bonus): (f_0 off the label, f_1 on it), functions of the logit
  ("squared_error", False): (_squared_others, _squared_label),
  ("absolute_error", False): (jax.nn.sigmoid, lambda z: jax.nn.sigmoid(-z)),
  ("squared_error", True): (_mirrored_others, _mirrored_label),
  ("absolute_error", True): (_mirrored_others, _mirrored_label),
}


def linear_sigmoid_error_sum(
  hidden,
  weight,
  bias,
  labels,
  where=None,
  *,
  loss: str,
  mirror_bonus: bool,
  token_block: int,
  vocab_block: int,
  vocab_axis: str | None = None,
):
  r"""The per-token sum over the vocabulary of the sigmoid error `loss` (`[...]`) of :math:`z = h W + b`.

  :math:`\sum_{k \ne y} f_0(z_k) + f_1(z_y)` (module docstring); `squared_error` and `absolute_error` divide it by
  `V`. Exact gradients with respect to `hidden`, `weight` and `bias`; float32 (float64 for float64 inputs). A token
  whose label no column holds gets NaN.

  Args:
    hidden, weight, bias, labels, where, token_block, vocab_block, vocab_axis: as for `linear_label_log_probs`.
    loss: `"squared_error"` or `"absolute_error"`.
    mirror_bonus: subtract the error from the opposite target.
  """
  off_label, at_label = ERRORS[loss, bool(mirror_bonus)]
  flat, batch = flat_inputs(hidden, weight, bias, labels, where, token_block, vocab_block)
  flat, sum_d_hidden = vary_alike(flat, vocab_axis)
  return _summed(*flat, token_block, vocab_block, vocab_axis, sum_d_hidden, off_label, at_label).reshape(batch)


def _errors(z, is_label, off_label, at_label):
  return jnp.where(is_label, at_label(z), off_label(z))


def _slopes(z, is_label, off_label, at_label):
  """The derivatives of the errors of a block of logits (of elementwise functions: a forward-mode product with 1)."""
  return jax.jvp(lambda x: _errors(x, is_label, off_label, at_label), (z,), (jnp.ones_like(z),))[1]


@functools.partial(jax.custom_vjp, nondiff_argnums=(5, 6, 7, 8, 9, 10))
def _summed(hidden, weight, bias, labels, keep, token_block, vocab_block, vocab_axis, sum_d_hidden, *errors):
  return _fwd(hidden, weight, bias, labels, keep, token_block, vocab_block, vocab_axis, sum_d_hidden, *errors)[0]


def _fwd(hidden, weight, bias, labels, keep, token_block, vocab_block, vocab_axis, sum_d_hidden, off_label, at_label):
  del sum_d_hidden  # a backward-pass option
  v, acc = weight.shape[1], accumulation_dtype(hidden, weight)
  labels = local_labels(labels, v, vocab_axis)
  tb, vb = block_sizes(hidden, weight, token_block, vocab_block)

  def update(carry, z, fresh, is_label, v0, row_values):
    return (carry[0] + jnp.sum(jnp.where(fresh, _errors(z, is_label, off_label, at_label), 0.0), axis=1),)

  (total,) = row_scan(hidden, weight, bias, labels, lambda size: (jnp.zeros(size, acc),), update, tb=tb, vb=vb)
  hit = (labels >= 0) & (labels < v)  # the label is one of this device's columns
  label_check, total = label_logits(jnp.zeros_like(total), hit, vocab_axis, (total,))  # NaN: no column, or several
  return total + label_check, (hidden, weight, bias, labels, keep)


def _bwd(token_block, vocab_block, vocab_axis, sum_d_hidden, off_label, at_label, residuals, cotangent):
  hidden, weight, bias, labels, keep = residuals
  g = jnp.where(keep, cotangent, 0.0).astype(accumulation_dtype(hidden, weight))
  tb, vb = block_sizes(hidden, weight, token_block, vocab_block)

  def dz_block(z, is_label, v0, rows):
    return rows(g)[:, None] * _slopes(z, is_label, off_label, at_label)

  grads = gradients(
    hidden, weight, bias, labels, keep, dz_block, tb=tb, vb=vb, vocab_axis=vocab_axis, sum_d_hidden=sum_d_hidden
  )
  return *grads, None, None


_summed.defvjp(_fwd, _bwd)
