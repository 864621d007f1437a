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
