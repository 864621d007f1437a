"""Task sequences for continual learning (HEM section 4.4): Split-X by classes, Permuted-X by pixels.

Split MNIST / CIFAR-10: five tasks of two consecutive classes each ((0, 1), (2, 3), ...); Split CIFAR-100: five
tasks of twenty. Permuted MNIST: every task is the whole set under its own fixed permutation of the pixels
(the first task may be the identity).
"""

import dataclasses

import numpy as np

from el_jax.data.arrays import ArrayDataset


def class_split(data: ArrayDataset, num_tasks: int, *, relabel: bool = False) -> list[ArrayDataset]:
  """`num_tasks` datasets, task `t` holding the examples of classes `[t * k, (t + 1) * k)`, `k = K / num_tasks`.

  With `relabel`, task labels become `label - t * k` in `[0, k)` (a multi-head setting); otherwise they keep their
  global values in `[0, K)` (a single head over all classes).
  """
  if num_tasks < 1 or data.num_classes % num_tasks:
    raise ValueError(f"{data.name}: {data.num_classes} classes cannot be split evenly into {num_tasks} tasks.")
  per_task = data.num_classes // num_tasks
  tasks = []
  for t in range(num_tasks):
    low = t * per_task
    task = data.select(
      np.flatnonzero((data.labels >= low) & (data.labels < low + per_task)), name=f"{data.name}/task{t}"
    )
    if relabel:
      task = dataclasses.replace(task, labels=task.labels - low, num_classes=per_task)
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
