"""A re-indexed view of any source: `Subset(source, indices)[i] == source[indices[i]]`."""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True, eq=False)
class Subset:
  """The records of `source` at `indices`, in that order, as a random-access source (see `el_jax.data.source`)."""

  source: object
  indices: np.ndarray
  name: str = ""

  def __post_init__(self):
    indices = np.asarray(self.indices, np.int64)
    if indices.ndim != 1 or (len(indices) and (indices.min() < 0 or indices.max() >= len(self.source))):
      raise ValueError(f"{self.source.name}: subset indices must be a 1-D array in [0, {len(self.source)}).")
    object.__setattr__(self, "indices", indices)
    object.__setattr__(self, "name", self.name or self.source.name)

  @property
  def num_classes(self) -> int:
    return self.source.num_classes

  @property
  def input_shape(self) -> tuple:
    return self.source.input_shape

  def __len__(self) -> int:
    return len(self.indices)

  def __getitem__(self, index: int) -> dict:
    if not 0 <= index < len(self):
      raise IndexError(f"{self.name}: index {index} out of range [0, {len(self)}).")
    return self.source[int(self.indices[index])]

  def take(self, count: int | None) -> "Subset":
    """The first `count` records (all of them when `count` is None)."""
    if count is None:
      return self
    if not 0 < count <= len(self):
      raise ValueError(f"{self.name}: cannot take {count} of {len(self)} examples.")
    return dataclasses.replace(self, indices=self.indices[:count])


def labels_of(source) -> np.ndarray:
  """Every label of `source`, `[N]` int64: its `labels` array when it has one, else read record by record."""
  if hasattr(source, "labels"):
    return np.asarray(source.labels, np.int64)
  return np.array([source[i]["label"] for i in range(len(source))], np.int64)
