"""Shared input handling for every loss: dtype promotion, value checks and `where` masks.

All losses compute in at least float32 (bf16/fp16 logits are upcast) and return float32 values with the
batch shape of the labels. A `where` mask zeroes the value of masked entries; because the mask selects a
constant, masked entries contribute nothing to the gradient either.

Values are checked where they are concrete (outside `jit`, or constants closed over inside it): a traced value
has no value to check at trace time, so inside `jit` only shapes and dtypes are checked.
"""

import jax
import jax.numpy as jnp
import numpy as np


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


def is_traced(value) -> bool:
  """Whether `value` is a JAX tracer (inside `jit`, `vmap`, `grad`, ...), whose values cannot be read."""
  return isinstance(value, jax.core.Tracer)


def as_mask(where, shape):
  """`where` as a bool array, after checking that it has the loss's `shape`."""
  where = jnp.asarray(where, bool)
  if where.shape != tuple(shape):
    raise ValueError(f"where mask shape {where.shape} does not match the loss shape {tuple(shape)}.")
  return where


def apply_where(values, where):
  """Returns `values` with the entries where `where` is False set to 0 (a select: a masked NaN gives 0 too)."""
  if where is None:
    return values
  return jnp.where(as_mask(where, values.shape), values, 0.0)


def prepare(logits, labels):
  """`(float32 logits, integer labels)` after the dtype and shape checks of every softmax loss."""
  logits = as_float32(logits)
  labels = jnp.asarray(labels)
  if not jnp.issubdtype(labels.dtype, jnp.integer):
    raise TypeError(f"labels must be integer class indices, got dtype {labels.dtype}.")
  check_shapes(logits, labels)
  return logits, labels


def prepare_binary(logits, targets):
  """`(float32 logits, float32 targets)` for the element-wise sigmoid losses: same shapes, targets in {0, 1}.

  Concrete targets with a value other than 0 or 1 raise a ValueError. Traced targets (inside `jit`) cannot be
  checked: there a target `t` outside {0, 1} is used as is in the losses' formulas, which assume `t` is 0 or 1,
  and gives a meaningless value.
  """
  logits = as_float32(logits)
  if not is_traced(targets):
    check_binary_targets(targets)
  targets = jnp.asarray(targets)
  if targets.shape != logits.shape:
    raise ValueError(
      f"targets shape {targets.shape} does not match logits shape {logits.shape}: sigmoid losses take one "
      "0/1 target per logit."
    )
  return logits, targets.astype(logits.dtype)


def check_binary_targets(targets) -> None:
  """Raises a ValueError naming the entries of the concrete `targets` that are neither 0 nor 1 (NaN included)."""
  values = np.asarray(targets)
  bad = values[~((values == 0) | (values == 1))]
  if bad.size:
    raise ValueError(
      f"targets must be 0 or 1 (one binary decision per logit), but {bad.size} of {values.size} are not "
      f"(e.g. {np.unique(bad)[:5].tolist()}). Binarise soft or smoothed targets before the loss (e.g. "
      "`targets > 0.5`), or use a softmax loss with integer labels for one class per example."
    )


def check_nonnegative(name: str, value) -> None:
  """Raises a ValueError naming the entries of a concrete scalar or array `value` that are not >= 0 (or NaN).

  A traced `value` (a schedule or a learned hyper-parameter inside `jit`) is not checked.
  """
  if is_traced(value):
    return
  values = np.asarray(value, np.float64)
  bad = ~(values >= 0.0)
  if bad.any():
    where = "" if values.ndim == 0 else f" at index {np.flatnonzero(bad)[:5].tolist()}"
    raise ValueError(f"{name} must be >= 0, got {values[bad][:5].tolist()}{where} (full value: {values.tolist()}).")


def check_unit(name: str, value: float, *, low_open: bool = False, high_open: bool = False):
  """Raises a ValueError unless the Python number `value` lies in [0, 1] (ends open as asked)."""
  ok = (value > 0.0 if low_open else value >= 0.0) and (value < 1.0 if high_open else value <= 1.0)
  if not ok:
    interval = ("(" if low_open else "[") + "0, 1" + (")" if high_open else "]")
    raise ValueError(f"{name} must lie in {interval}, got {value}.")
