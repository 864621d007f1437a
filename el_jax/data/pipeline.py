"""grain pipelines: shuffled training batches addressed by step, and padded, masked evaluation batches.

The training pipeline is a random-access `grain.MapDataset` whose element `s` is the batch of training step `s`:
shuffle (reseeded every epoch from `seed` and the epoch number) -> batch (dropping each epoch's last partial batch)
-> repeat. Because batch `s` is a pure function of `(seed, s)`, a run resumed at step `s` sees exactly the data an
uninterrupted run would: the step is the whole iterator state.

Evaluation visits every example once, in order; the last batch is padded to full size and carries a `mask` that
is False on the padding, so no example is dropped and none is counted twice.
"""

import grain
import numpy as np

from el_jax.data.arrays import ArrayDataset


def to_float(images: np.ndarray, normalization: tuple | None = None) -> np.ndarray:
  """Pixels as float32: uint8 [0, 255] -> [0, 1], then `(x - mean) / std` per channel if `normalization`.

  Args:
    images: `[..., C]` uint8 pixels or floats already in [0, 1].
    normalization: optional `(mean, std)`, each a sequence of `C` floats (the training split's statistics).
  """
  x = images.astype(np.float32) * np.float32(1.0 / 255.0) if images.dtype == np.uint8 else images.astype(np.float32)
  if normalization is None:
    return x
  mean, std = (np.asarray(v, np.float32) for v in normalization)
  return (x - mean) / std


def steps_per_epoch(num_examples: int, batch_size: int) -> int:
  """Training steps in one epoch (each epoch's last partial batch is dropped; the next epoch reshuffles)."""
  steps = num_examples // batch_size
  if steps == 0:
    raise ValueError(f"batch_size {batch_size} exceeds the {num_examples} training examples: lower batch_size.")
  return steps


def train_dataset(
  data: ArrayDataset, *, batch_size: int, seed: int, num_epochs: int, normalization: tuple | None = None
) -> grain.MapDataset:
  """The training batches of `num_epochs` epochs: element `s` is `{"image", "label"}` for step `s`.

  Images are converted by `to_float(images, normalization)`.
  """
  steps_per_epoch(len(data), batch_size)  # validates batch_size
  images, labels = data.images, data.labels

  def gather(indices):
    return {"image": to_float(images[indices], normalization), "label": labels[indices]}

  return (
    grain.MapDataset.range(len(data))
    .shuffle(seed=seed)
    .batch(batch_size, drop_remainder=True)
    .repeat(num_epochs)
    .map(gather)
  )


def train_batches(dataset: grain.MapDataset, *, start_step: int = 0, prefetch: int = 2):
  """Iterates the batches of `dataset` from `start_step` on, prepared in a background thread."""
  options = grain.ReadOptions(num_threads=1, prefetch_buffer_size=prefetch)
  return iter(dataset[start_step:].to_iter_dataset(options))


def eval_batches(data: ArrayDataset, *, batch_size: int, normalization: tuple | None = None):
  """Yields `{"image", "label", "mask"}` batches covering every example once; the last one is zero-padded.

  Images are converted by `to_float(images, normalization)`.
  """
  for start in range(0, len(data), batch_size):
    images = to_float(data.images[start : start + batch_size], normalization)
    labels = data.labels[start : start + batch_size]
    pad = batch_size - len(labels)
    mask = np.concatenate([np.ones(len(labels), bool), np.zeros(pad, bool)])
    if pad:
      images = np.concatenate([images, np.zeros((pad, *images.shape[1:]), images.dtype)])
      labels = np.concatenate([labels, np.zeros(pad, labels.dtype)])
    yield {"image": images, "label": labels, "mask": mask}
