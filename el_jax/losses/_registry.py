"""Losses by name: `get(name, **hparams)` returns a per-example loss callable with its hyper-parameters bound."""

import functools
import inspect

from el_jax.losses._complement import complement_entropy_loss, cot_sum_loss
from el_jax.losses._cross_entropy import cross_entropy
from el_jax.losses._dice import dice_loss
from el_jax.losses._encouraging import encouraging_loss, sigmoid_encouraging_loss
from el_jax.losses._expectation import expectation_loss, mixed_ce_expectation
from el_jax.losses._focal import focal_loss, halted_focal_loss, sigmoid_focal_loss, sigmoid_halted_focal_loss
from el_jax.losses._gradient_matched import gradient_matched_cross_entropy
from el_jax.losses._logit_adjusted import logit_adjusted_loss
from el_jax.losses._logit_norm import logit_norm_loss
from el_jax.losses._margin import hem_loss, multiclass_margin_loss
from el_jax.losses._prediction_error import absolute_and_squared_error, absolute_error, squared_error

_LOSSES = {
  fn.__name__: fn
  for fn in (
    absolute_and_squared_error,
    absolute_error,
    complement_entropy_loss,
    cot_sum_loss,
    cross_entropy,
    dice_loss,
    encouraging_loss,
    expectation_loss,
    focal_loss,
    gradient_matched_cross_entropy,
    halted_focal_loss,
    hem_loss,
    logit_adjusted_loss,
    logit_norm_loss,
    mixed_ce_expectation,
    multiclass_margin_loss,
    sigmoid_encouraging_loss,
    sigmoid_focal_loss,
    sigmoid_halted_focal_loss,
    squared_error,
  )
}

# Arguments every loss takes at call time; they are not hyper-parameters.
_CALL_ARGS = ("logits", "labels", "targets", "where")

REQUIRED = "<required>"
"""The value `hparams` shows for a hyper-parameter without a default."""


def names() -> list[str]:
  """The registered loss names."""
  return sorted(_LOSSES)


def hparams(name: str) -> dict:
  """The hyper-parameters of loss `name` and their defaults (`REQUIRED` where there is none)."""
  params = inspect.signature(_lookup(name)).parameters.values()
  return {p.name: REQUIRED if p.default is p.empty else p.default for p in params if p.name not in _CALL_ARGS}


def _lookup(name: str):
  try:
    return _LOSSES[name]
  except KeyError:
    raise ValueError(f"Unknown loss {name!r}. Valid names: {', '.join(names())}.") from None


def check_hparams(name: str, kwargs, valid: dict):
  """Raises a ValueError for keywords not in `valid` or required ones missing, listing the valid ones."""
  listed = ", ".join(f"{k}={v!r}" if v is not REQUIRED else f"{k} ({REQUIRED})" for k, v in valid.items())
  unknown = sorted(set(kwargs) - set(valid))
  if unknown:
    raise ValueError(f"Unknown hyper-parameter(s) {unknown} for loss {name!r}. Valid: {listed}.")
  missing = sorted(k for k, v in valid.items() if v is REQUIRED and k not in kwargs)
  if missing:
    raise ValueError(f"Loss {name!r} needs hyper-parameter(s) {missing}. Valid: {listed}.")


def get(name: str, **kwargs):
  """Returns loss `name` with hyper-parameters `kwargs` bound: `fn(logits, labels, where=None)`.

  Per-example losses return `[...]` values without reduction; `dice_loss` is batch-level and returns a scalar.

  Raises:
    ValueError: naming the valid losses if `name` is unknown, or the valid hyper-parameters of the loss if a
      keyword is not one of them or a required one is missing.
  """
  fn = _lookup(name)
  check_hparams(name, kwargs, hparams(name))
  return functools.partial(fn, **kwargs)
