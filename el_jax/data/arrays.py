"""An in-memory labelled image dataset: the common currency between data sources and pipelines."""

import dataclasses

import numpy as np

from el_jax.losses import check_labels


@dataclasses.dataclass(frozen=True, eq=False)
class ArrayDataset:
  """Images `[N, H, W, C]` (uint8 pixels or floats) with integer labels `[N]` in `[0, num_classes)`.

  Construction validates that images and labels agree in length and that every label is in range.
  """

  images: np.ndarray
  labels: np.ndarray
  num_classes: int
  name: str = ""

  def __post_init__(self):
    if self.images.ndim != 4:
      raise ValueError(f"{self.name}: images must be [N, H, W, C], got shape {self.images.shape}.")
    if len(self.images) != len(self.labels):
      raise ValueError(f"{self.name}: {len(self.images)} images but {len(self.labels)} labels; they must match.")
    try:
      check_labels(self.labels, self.num_classes)
    except ValueError as e:
      raise ValueError(f"{self.name}: {e}") from None

  def __len__(self) -> int:
    return len(self.labels)

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
