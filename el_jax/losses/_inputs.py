"""Shared input handling for every loss: dtype promotion and `where` masks.

All losses compute in at least float32 (bf16/fp16 logits are upcast) and return float32 values with the
batch shape of the labels. A `where` mask zeroes the value of masked entries; because the mask selects a
constant, masked entries contribute nothing to the gradient either.
"""

import jax.numpy as jnp


def as_float32(logits):
  """Upcasts `logits` to float32 (or keeps float64); integer logits are rejected."""
  logits = jnp.asarray(logits)
  if not jnp.issubdtype(logits.dtype, jnp.floating):
    raise TypeError(f"logits must be a floating-point array, got dtype {logits.dtype}.")
  return logits.astype(jnp.promote_types(logits.dtype, jnp.float32))


def check_shapes(logits, labels):
  """Raises a ValueError unless `labels` has the shape of `logits` without its class axis."""
  if logits.ndim < 1 or logits.shape[-1] < 2:
    raise ValueError(f"logits must have shape [..., K] with K >= 2 classes, got {logits.shape}.")
  if labels.shape != logits.shape[:-1]:
    raise ValueError(
      f"labels shape {labels.shape} does not match logits shape {logits.shape}: expected labels of "
      f"shape {logits.shape[:-1]} (one integer class per row of logits)."
    )


def apply_where(values, where):
  """Returns `values` with the entries where `where` is False set to 0."""
  if where is None:
    return values
  where = jnp.asarray(where)
  if where.shape != values.shape:
    raise ValueError(f"where mask shape {where.shape} does not match the loss shape {values.shape}.")
  return jnp.where(where, values, 0.0)


def prepare(logits, labels):
  """`(float32 logits, integer labels)` after the dtype and shape checks of every softmax loss."""
  logits = as_float32(logits)
  labels = jnp.asarray(labels)
  if not jnp.issubdtype(labels.dtype, jnp.integer):
    raise TypeError(f"labels must be integer class indices, got dtype {labels.dtype}.")
  check_shapes(logits, labels)
  return logits, labels


def prepare_binary(logits, targets):
  """`(float32 logits, float32 targets)` for the element-wise sigmoid losses: same shapes, targets in {0, 1}."""
  logits = as_float32(logits)
  targets = jnp.asarray(targets)
  if targets.shape != logits.shape:
    raise ValueError(
      f"targets shape {targets.shape} does not match logits shape {logits.shape}: sigmoid losses take one "
      "0/1 target per logit."
    )
  return logits, targets.astype(logits.dtype)


def check_unit(name: str, value: float, *, low_open: bool = False, high_open: bool = False):
  """Raises a ValueError unless the Python number `value` lies in [0, 1] (ends open as asked)."""
  ok = (value > 0.0 if low_open else value >= 0.0) and (value < 1.0 if high_open else value <= 1.0)
  if not ok:
    interval = ("(" if low_open else "[") + "0, 1" + (")" if high_open else "]")
    raise ValueError(f"{name} must lie in {interval}, got {value}.")
