"""grain pipelines: shuffled training batches addressed by step, and padded, masked evaluation batches.

Both read any `Source` (`el_jax.data.source`): an in-memory `ArrayDataset`, a TFDS array-record dataset or a
synthetic stand-in.

The training pipeline is a random-access `grain.MapDataset` whose element `s` is the batch of training step `s`:
shuffle the example indices (reseeded every epoch from `seed` and the epoch number) -> batch (dropping each epoch's
last partial batch) -> repeat -> read the records -> augment -> stack. Random augmentations draw from a Generator
seeded by `(seed, epoch, example index)`. Because batch `s` is a pure function of `(seed, s)`, a run resumed at step
`s` sees exactly the data an uninterrupted run would: the step is the whole iterator state.

Evaluation visits every example once, in order; the last batch is padded to full size and carries a `mask` that
is False on the padding, so no example is dropped and none is counted twice.
"""

import grain
import numpy as np

from el_jax.data.arrays import ArrayDataset
from el_jax.data.transforms import to_float

__all__ = ["eval_batches", "steps_per_epoch", "to_float", "train_batches", "train_dataset"]


def steps_per_epoch(num_examples: int, batch_size: int) -> int:
  """Training steps in one epoch (each epoch's last partial batch is dropped; the next epoch reshuffles)."""
  steps = num_examples // batch_size
  if steps == 0:
    raise ValueError(f"batch_size {batch_size} exceeds the {num_examples} training examples: lower batch_size.")
  return steps


def _stack(records: list[dict], normalization, name: str) -> dict:
  shapes = {np.shape(r["image"]) for r in records}
  if len(shapes) > 1:
    raise ValueError(
      f"{name}: records of different shapes {sorted(shapes)} cannot be batched; add a transform that crops or "
      "resizes them to one size (e.g. transforms.RandomResizedCrop or transforms.ResizeCenterCrop)."
    )
  images = to_float(np.stack([np.asarray(r["image"]) for r in records]), normalization)
  return {"image": images, "label": np.asarray([r["label"] for r in records], np.int32)}


def _check_transforms(transforms: tuple) -> tuple:
  """`transforms`, checked to be grain `RandomMap`s or `Map`s."""
  for t in transforms:
    if not isinstance(t, grain.transforms.RandomMap | grain.transforms.Map):
      raise TypeError(f"{t!r} is not a grain.transforms.RandomMap or Map; see el_jax.data.transforms.")
  return transforms


def _apply(record: dict, transforms, rng: np.random.Generator | None) -> dict:
  for t in transforms:
    if isinstance(t, grain.transforms.RandomMap):
      if rng is None:
        raise ValueError(f"{type(t).__name__} is random: evaluation takes deterministic transforms only.")
      record = t.random_map(record, rng)
    else:
      record = t.map(record)
  return record


def train_dataset(
  data,
  *,
  batch_size: int,
  seed: int,
  num_epochs: int,
  normalization: tuple | None = None,
  augment=(),
  rows: slice | None = None,
) -> grain.MapDataset:
  """The training batches of `num_epochs` epochs: element `s` is `{"image", "label"}` for step `s`.

  Args:
    data: a `Source` (e.g. `ArrayDataset`, `TfdsSource`).
    augment: grain transforms applied to each record in order (e.g. `transforms.RandomCropWithPadding(32, 4)`,
      `transforms.RandomHorizontalFlip()`); the random ones draw, in order, from one Generator per example,
      `np.random.default_rng((seed, epoch, index))`.
    normalization: images are converted by `to_float(images, normalization)` after the augmentations.
    rows: read only these rows of each batch (a process reads the rows its devices hold; None: all).
  """
  spe = steps_per_epoch(len(data), batch_size)  # validates batch_size
  if seed < 0:
    raise ValueError(f"seed must be non-negative, got {seed}.")
  augment = _check_transforms(tuple(augment))
  index_batches = (
    grain.MapDataset.range(len(data)).shuffle(seed=seed).batch(batch_size, drop_remainder=True).repeat(num_epochs)
  )
  if rows is not None:
    index_batches = index_batches.map(lambda indices: indices[rows])
  if isinstance(data, ArrayDataset) and not augment:
    images, labels = data.images, data.labels

    def gather(indices):
      return {"image": to_float(images[indices], normalization), "label": labels[indices]}

    return index_batches.map(gather)

  name = getattr(data, "name", "")

  def read(step, indices):
    epoch = step // spe
    records = [
      _apply(data[int(i)], augment, np.random.default_rng((seed, epoch, int(i))) if augment else None) for i in indices
    ]
    return _stack(records, normalization, name)

  return index_batches.map_with_index(read)


def train_batches(dataset: grain.MapDataset, *, start_step: int = 0, prefetch: int = 2, num_threads: int = 1):
  """Iterates the batches of `dataset` from `start_step` on, prepared by `num_threads` background threads."""
  options = grain.ReadOptions(num_threads=num_threads, prefetch_buffer_size=prefetch)
  return iter(dataset[start_step:].to_iter_dataset(options))


def eval_batches(data, *, batch_size: int, normalization: tuple | None = None, transforms=()):
  """Yields `{"image", "label", "mask"}` batches covering every example of `data` once; the last one is zero-padded.

  `transforms` (deterministic grain `Map`s, e.g. `transforms.ResizeCenterCrop(256, 224)`) are applied to each
  record; images are then converted by `to_float(images, normalization)`.
  """
  transforms = _check_transforms(tuple(transforms))
  name = getattr(data, "name", "")
  for start in range(0, len(data), batch_size):
    stop = min(start + batch_size, len(data))
    if isinstance(data, ArrayDataset) and not transforms:
      images, labels = to_float(data.images[start:stop], normalization), data.labels[start:stop]
    else:
      batch = _stack([_apply(data[i], transforms, None) for i in range(start, stop)], normalization, name)
      images, labels = batch["image"], batch["label"]
    pad = batch_size - len(labels)
    mask = np.concatenate([np.ones(len(labels), bool), np.zeros(pad, bool)])
    if pad:
      images = np.concatenate([images, np.zeros((pad, *images.shape[1:]), images.dtype)])
      labels = np.concatenate([labels, np.zeros(pad, labels.dtype)])
    yield {"image": images, "label": labels, "mask": mask}
