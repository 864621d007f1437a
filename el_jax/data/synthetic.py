"""Synthetic stand-ins with a real dataset's shapes, sizes and number of classes, for smoke tests of configs whose
data is not on the machine (`data.load("synthetic:cifar10", "train")`).

Records are generated on demand from `(seed, split, index)`, so even an ImageNet-sized stand-in takes no memory and
`source[i]` is the same on every call. The label is a uniform draw; the image is uniform noise brightened in a band
of rows that depends on the label, so a model can learn the task (a smoke test can check that the loss falls).
"""

import dataclasses

import numpy as np

# name -> (input shape, number of classes, {split: number of examples})
SHAPES = {
  "mnist": ((28, 28, 1), 10, {"train": 60_000, "test": 10_000}),
  "fashion_mnist": ((28, 28, 1), 10, {"train": 60_000, "test": 10_000}),
  "cifar10": ((32, 32, 3), 10, {"train": 50_000, "test": 10_000}),
  "cifar100": ((32, 32, 3), 100, {"train": 50_000, "test": 10_000}),
  "cinic10": ((32, 32, 3), 10, {"train": 90_000, "validation": 90_000, "test": 90_000}),
  "tiny_imagenet": ((64, 64, 3), 200, {"train": 100_000, "validation": 10_000}),
  "imagenet": ((224, 224, 3), 1000, {"train": 1_281_167, "validation": 50_000}),
  "inaturalist2018": ((224, 224, 3), 8142, {"train": 437_513, "validation": 24_426}),
}
_SPLIT_IDS = {"train": 0, "validation": 1, "test": 2}


class GeneratedRecords:
  """What every stand-in whose record `i` is drawn from `(seed, split_id, i)` shares: its length, the Generator of a
  record, and `take`. For frozen dataclasses with `name`, `size`, `split_id` and `seed` fields; `unit` names the
  records in error messages."""

  unit = "examples"

  def __len__(self) -> int:
    return self.size

  def record_rng(self, index: int) -> np.random.Generator:
    """The Generator of record `index`; an IndexError outside `[0, size)`."""
    if not 0 <= index < self.size:
      raise IndexError(f"{self.name}: index {index} out of range [0, {self.size}).")
    return np.random.default_rng((self.seed, self.split_id, index))

  def take(self, count: int | None):
    """The first `count` records (all of them when `count` is None)."""
    if count is None:
      return self
    if not 0 < count <= self.size:
      raise ValueError(f"{self.name}: cannot take {count} of {self.size} {self.unit}.")
    return dataclasses.replace(self, size=count)


@dataclasses.dataclass(frozen=True)
class SyntheticSource(GeneratedRecords):
  """`size` synthetic uint8 records of shape `input_shape` with labels in `[0, num_classes)`."""

  name: str
  input_shape: tuple[int, int, int]
  num_classes: int
  size: int
  split_id: int = 0
  seed: int = 0

  def __getitem__(self, index: int) -> dict:
    rng = self.record_rng(index)
    label = int(rng.integers(self.num_classes))
    height = self.input_shape[0]
    image = rng.integers(0, 100, self.input_shape, dtype=np.uint8)
    row = label * height // self.num_classes
    image[row : row + max(1, height // self.num_classes)] = 220
    return {"image": image, "label": label}


def load(name: str, split: str, *, seed: int = 0) -> SyntheticSource:
  """The synthetic stand-in for split `split` of dataset `name` (one of `SHAPES`)."""
  if name not in SHAPES:
    raise ValueError(f"No synthetic stand-in for {name!r}; valid: {sorted(SHAPES)}.")
  shape, num_classes, sizes = SHAPES[name]
  if split not in sizes:
    raise ValueError(f"Dataset {name!r} has no split {split!r}; valid: {sorted(sizes)}.")
  return SyntheticSource(f"synthetic:{name}/{split}", shape, num_classes, sizes[split], _SPLIT_IDS[split], seed)
