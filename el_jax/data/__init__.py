"""Datasets and input pipelines.

`load(name, split)` returns an in-memory `ArrayDataset`; `pipeline` turns it into training and evaluation batches.
"""

from el_jax.data import fashion_mnist
from el_jax.data.arrays import ArrayDataset
from el_jax.data.idx import IdxFormatError, read_idx

# Each dataset module provides `load(split) -> ArrayDataset` and the training split's pixel `MEAN` and `STD`.
_DATASETS = {
  "fashion_mnist": fashion_mnist,
}


def names() -> list[str]:
  """The registered dataset names."""
  return sorted(_DATASETS)


def _module(name: str):
  if name not in _DATASETS:
    raise ValueError(f"Unknown dataset {name!r}. Valid names: {', '.join(names())}.")
  return _DATASETS[name]


def load(name: str, split: str) -> ArrayDataset:
  """Loads split `split` of dataset `name`."""
  return _module(name).load(split)


def normalization(name: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
  """`(mean, std)` per channel of dataset `name`'s training pixels on the [0, 1] scale."""
  module = _module(name)
  return module.MEAN, module.STD


__all__ = ["ArrayDataset", "IdxFormatError", "load", "names", "normalization", "read_idx"]
