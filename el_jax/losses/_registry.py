"""Losses by name: `get(name, **hparams)` returns a per-example loss callable with its hyper-parameters bound."""

import functools
import inspect

from el_jax.losses._cross_entropy import cross_entropy
from el_jax.losses._encouraging import encouraging_loss

_LOSSES = {
  "cross_entropy": cross_entropy,
  "encouraging_loss": encouraging_loss,
}

# Arguments every loss takes at call time; they are not hyper-parameters.
_CALL_ARGS = ("logits", "labels", "where")


def names() -> list[str]:
  """The registered loss names."""
  return sorted(_LOSSES)


def hparams(name: str) -> dict:
  """The hyper-parameters of loss `name` and their defaults."""
  return {p.name: p.default for p in inspect.signature(_lookup(name)).parameters.values() if p.name not in _CALL_ARGS}


def _lookup(name: str):
  try:
    return _LOSSES[name]
  except KeyError:
    raise ValueError(f"Unknown loss {name!r}. Valid names: {', '.join(names())}.") from None


def get(name: str, **kwargs):
  """Returns loss `name` with hyper-parameters `kwargs` bound: `fn(logits, labels, where=None)`.

  Raises:
    ValueError: naming the valid losses if `name` is unknown, or the valid hyper-parameters of the loss if a
      keyword is not one of them.
  """
  fn = _lookup(name)
  valid = hparams(name)
  unknown = sorted(set(kwargs) - set(valid))
  if unknown:
    listed = ", ".join(f"{k}={v!r}" for k, v in valid.items())
    raise ValueError(f"Unknown hyper-parameter(s) {unknown} for loss {name!r}. Valid: {listed}.")
  return functools.partial(fn, **kwargs)
