"""An in-memory labelled dataset: the common currency between offline data sources and pipelines."""

import dataclasses

import numpy as np

from el_jax.losses import check_labels


@dataclasses.dataclass(frozen=True, eq=False)
class ArrayDataset:
  """Inputs `[N, ...]` with integer labels `[N]` in `[0, num_classes)`.

  Inputs are images `[N, H, W, C]` (uint8 pixels or floats) or feature vectors `[N, D]` (floats, e.g. the UCI sets).
  Construction validates that inputs and labels agree in length and that every label is in range. Element `i`
  (`dataset[i]`) is the record `{"image": images[i], "label": labels[i]}`, so an `ArrayDataset` is also a
  random-access source (see `el_jax.data.source`).
  """

  images: np.ndarray
  labels: np.ndarray
  num_classes: int
  name: str = ""

  def __post_init__(self):
    if self.images.ndim not in (2, 4):
      raise ValueError(
        f"{self.name}: inputs must be images [N, H, W, C] or feature vectors [N, D], got shape {self.images.shape}."
      )
    if len(self.images) != len(self.labels):
      raise ValueError(f"{self.name}: {len(self.images)} images but {len(self.labels)} labels; they must match.")
    try:
      check_labels(self.labels, self.num_classes)
    except ValueError as e:
      raise ValueError(f"{self.name}: {e}") from None

  def __len__(self) -> int:
    return len(self.labels)

  def __getitem__(self, index: int) -> dict:
    return {"image": self.images[index], "label": self.labels[index]}

  @property
  def input_shape(self) -> tuple[int, ...]:
    return tuple(self.images.shape[1:])

  def take(self, count: int | None) -> "ArrayDataset":
    """The first `count` examples (all of them when `count` is None)."""
    if count is None:
      return self
    if not 0 < count <= len(self):
      raise ValueError(f"{self.name}: cannot take {count} of {len(self)} examples.")
    return dataclasses.replace(self, images=self.images[:count], labels=self.labels[:count])

  def select(self, indices, *, name: str | None = None) -> "ArrayDataset":
    """The examples at `indices`, in that order (labels unchanged)."""
    indices = np.asarray(indices, dtype=np.int64)
    if indices.ndim != 1 or (len(indices) and (indices.min() < 0 or indices.max() >= len(self))):
      raise ValueError(f"{self.name}: indices must be a 1-D array in [0, {len(self)}).")
    return dataclasses.replace(
      self, images=self.images[indices], labels=self.labels[indices], name=self.name if name is None else name
    )
