"""Task sequences for continual learning (HEM section 5.3): Split-X by classes, Permuted-X by pixels.

Split MNIST / CIFAR-10: five tasks of two classes each, consecutive ((0, 1), (2, 3), ...) or in a given class order
(Avalanche's benchmarks draw the order from the seed); Split CIFAR-100: five tasks of twenty. Permuted MNIST: every
task is the whole set under its own fixed permutation of the pixels (the first task may be the identity).
`materialise` reads any random-access source into an `ArrayDataset`, so that the splits can select by label.
"""

import dataclasses
from collections.abc import Sequence

import numpy as np

from el_jax.data.arrays import ArrayDataset


def class_split(
  data: ArrayDataset, num_tasks: int, *, relabel: bool = False, class_order: Sequence[int] | None = None
) -> list[ArrayDataset]:
  """`num_tasks` datasets, task `t` holding the examples of classes `order[t * k : (t + 1) * k]`, `k = K / num_tasks`.

  `class_order` is a permutation of `range(K)` (None: `0, 1, ..., K - 1`). With `relabel`, a task's labels become
  their positions `0 .. k - 1` within its slice of the order (a multi-head setting); otherwise they keep their global
  values in `[0, K)` (a single head over all classes, class-incremental learning).
  """
  if num_tasks < 1 or data.num_classes % num_tasks:
    raise ValueError(f"{data.name}: {data.num_classes} classes cannot be split evenly into {num_tasks} tasks.")
  order = np.arange(data.num_classes) if class_order is None else np.asarray(class_order, dtype=np.int64)
  if sorted(order.tolist()) != list(range(data.num_classes)):
    raise ValueError(f"{data.name}: class_order must be a permutation of 0..{data.num_classes - 1}, got {order}.")
  per_task = data.num_classes // num_tasks
  tasks = []
  for t in range(num_tasks):
    classes = order[t * per_task : (t + 1) * per_task]
    task = data.select(np.flatnonzero(np.isin(data.labels, classes)), name=f"{data.name}/task{t}")
    if relabel:
      position = np.zeros(data.num_classes, dtype=task.labels.dtype)
      position[classes] = np.arange(per_task)
      task = dataclasses.replace(task, labels=position[task.labels], num_classes=per_task)
    tasks.append(task)
  return tasks


def permuted(data: ArrayDataset, num_tasks: int, *, seed: int = 0, identity_first: bool = True) -> list[ArrayDataset]:
  """`num_tasks` copies of `data` whose inputs are permuted by a fixed random permutation per task (from `seed`)."""
  if num_tasks < 1:
    raise ValueError(f"num_tasks must be at least 1, got {num_tasks}.")
  flat = data.images.reshape(len(data), -1)
  rng = np.random.default_rng(seed)
  tasks = []
  for t in range(num_tasks):
    order = np.arange(flat.shape[1]) if (t == 0 and identity_first) else rng.permutation(flat.shape[1])
    images = flat[:, order].reshape(data.images.shape)
    tasks.append(dataclasses.replace(data, images=images, name=f"{data.name}/permuted{t}"))
  return tasks


def materialise(source, *, name: str | None = None) -> ArrayDataset:
  """Reads every record of a random-access source (`source[i] -> {"image", "label"}`, e.g. a TFDS or synthetic
  source) into an in-memory `ArrayDataset`; an `ArrayDataset` is returned as it is."""
  if isinstance(source, ArrayDataset):
    return source
  if len(source) == 0:
    raise ValueError(f"{getattr(source, 'name', source)!r} is empty; nothing to split into tasks.")
  records = [source[i] for i in range(len(source))]
  images = np.stack([np.asarray(r["image"]) for r in records])
  labels = np.asarray([r["label"] for r in records], dtype=np.int32)
  return ArrayDataset(images, labels, source.num_classes, name=name or getattr(source, "name", ""))
