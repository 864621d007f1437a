"""Datasets and input pipelines.

`load(name, split)` returns an in-memory `ArrayDataset`; `pipeline` turns it into training and evaluation batches.
"""

from el_jax.data import fashion_mnist
from el_jax.data.arrays import ArrayDataset
from el_jax.data.idx import IdxFormatError, read_idx

_LOADERS = {
  "fashion_mnist": fashion_mnist.load,
}


def names() -> list[str]:
  """The registered dataset names."""
  return sorted(_LOADERS)


def load(name: str, split: str) -> ArrayDataset:
  """Loads split `split` of dataset `name`."""
  if name not in _LOADERS:
    raise ValueError(f"Unknown dataset {name!r}. Valid names: {', '.join(names())}.")
  return _LOADERS[name](split)


__all__ = ["ArrayDataset", "IdxFormatError", "load", "names", "read_idx"]
