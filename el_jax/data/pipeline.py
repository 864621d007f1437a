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
  """One batch from `records`: every key stacked; images converted by `to_float`, labels as int32."""
  keys = set(records[0])
  if any(set(r) != keys for r in records):
    raise ValueError(f"{name}: records with different keys cannot be batched: {sorted(keys)} and others.")
  for key in sorted(keys):
    shapes = {np.shape(r[key]) for r in records}
    if len(shapes) > 1:
      fix = (
        "add a transform that crops or resizes them to one size (e.g. transforms.RandomResizedCrop or "
        "transforms.ResizeCenterCrop)"
        if key == "image"
        else "the source must pad its records to one fixed shape"
      )
      raise ValueError(f"{name}: {key!r} entries of different shapes {sorted(shapes)} cannot be batched; {fix}.")
  batch = {key: np.stack([np.asarray(r[key]) for r in records]) for key in keys}
  batch["label"] = batch["label"].astype(np.int32)
  if "image" in batch:
    batch["image"] = to_float(batch["image"], normalization)
  return batch


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
  """The training batches of `num_epochs` epochs: element `s` is the batch of step `s` (`{"image", "label"}`, or
  the keys of the source's records, see `el_jax.train.step`).

  Args:
    data: a `Source` (e.g. `ArrayDataset`, `TfdsSource`).
    augment: grain transforms applied to each record in order (e.g. `transforms.RandomCropWithPadding(32, 4)`,
      `transforms.RandomHorizontalFlip()`); the random ones draw, in order, from one Generator per example,
      `np.random.default_rng((seed, epoch, index))`.
    normalization: images are converted by `to_float(images, normalization)` after the augmentations.
    rows: read only these rows of each batch (a process reads the rows its devices hold; None: all).
  """
  epoch_length = steps_per_epoch(len(data), batch_size)  # validates batch_size
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
    epoch = step // epoch_length
    records = [
      _apply(data[int(i)], augment, np.random.default_rng((seed, epoch, int(i))) if augment else None) for i in indices
    ]
    return _stack(records, normalization, name)

  return index_batches.map_with_index(read)


def train_batches(dataset: grain.MapDataset, *, start_step: int = 0, prefetch: int = 2, num_threads: int = 1):
  """Iterates the batches of `dataset` from `start_step` on, prepared by `num_threads` background threads."""
  options = grain.ReadOptions(num_threads=num_threads, prefetch_buffer_size=prefetch)
  return iter(dataset[start_step:].to_iter_dataset(options))


def eval_batches(
  data, *, batch_size: int, normalization: tuple | None = None, transforms=(), rows: slice | None = None
):
  """Yields batches covering every example of `data` once, each the source's keys (`image`, `label`, ...) plus a
  `mask`; the last one is zero-padded, with `mask` False on the padding.

  `transforms` (deterministic grain `Map`s, e.g. `transforms.ResizeCenterCrop(256, 224)`) are applied to each
  record; images are then converted by `to_float(images, normalization)`. With `rows`, only those rows of each
  batch of `batch_size` are read and yielded (a process reads the rows its devices hold).
  """
  transforms = _check_transforms(tuple(transforms))
  name = getattr(data, "name", "")
  rows = rows or slice(0, batch_size)
  size = rows.stop - rows.start
  for batch_start in range(0, len(data), batch_size):
    start = min(batch_start + rows.start, len(data))
    stop = min(batch_start + rows.stop, len(data))
    if stop == start:  # this process's rows are all past the last example: padding only
      batch = _empty_batch(data, transforms, normalization, name, 0)
    elif isinstance(data, ArrayDataset) and not transforms:
      batch = {"image": to_float(data.images[start:stop], normalization), "label": data.labels[start:stop]}
    else:
      batch = _stack([_apply(data[i], transforms, None) for i in range(start, stop)], normalization, name)
    pad = size - (stop - start)
    if pad:
      batch = {k: np.concatenate([v, np.zeros((pad, *v.shape[1:]), v.dtype)]) for k, v in batch.items()}
    batch["mask"] = np.arange(size) < stop - start
    yield batch


def _empty_batch(data, transforms, normalization, name: str, size: int) -> dict:
  """A batch of `size` zeros shaped as the source's records."""
  record = _stack([_apply(data[0], transforms, None)], normalization, name)
  return {k: np.zeros((size, *v.shape[1:]), v.dtype) for k, v in record.items()}
