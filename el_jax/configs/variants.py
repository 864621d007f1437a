"""Choosing among a config's named variants (models, datasets, losses) with errors that list the valid values."""

from collections.abc import Iterable, Mapping


def choose(key: str, value, valid: Mapping | Iterable):
  """`valid[value]` for a mapping, `value` for a collection of names; a ValueError listing the valid values if absent.

  `key` is the config argument's name, used in the message: `Unknown model='x' ... Valid: a, b, c.`
  """
  names = list(valid)
  if value not in names:
    raise ValueError(f"Unknown {key}={value!r} in the config argument. Valid: {', '.join(map(str, names))}.")
  return valid[value] if isinstance(valid, Mapping) else value
