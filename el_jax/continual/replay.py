"""Replay (Robins, 1993; Chaudhry et al., 2019, "On tiny episodic memories in continual learning"): a fixed-size
episodic memory of past training examples, mixed into every training batch of the later episodes.

The memory is class-balanced as Avalanche's `ClassBalancedBuffer(capacity, adaptive_size=True)`, which the
continual-learning-baselines recipes use: after each episode every class seen so far gets a quota of
`capacity // C` slots (`C` seen classes; the first `capacity mod C` classes in increasing label order get one more),
and within a class the memory is a uniform random sample of all the examples of that class seen so far (reservoir
sampling: every example draws a key uniform in [0, 1), and a class keeps the examples with the largest keys).
During an episode each batch of `B` new examples is concatenated with `B_mem` examples drawn from the memory
(`MixedBatches`).
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from el_jax.data.arrays import ArrayDataset


@dataclasses.dataclass(frozen=True)
class Memory:
  """Stored examples: inputs `[M, ...]`, labels `[M]` and float32 reservoir keys `[M]` in [0, 1)."""

  images: np.ndarray
  labels: np.ndarray
  keys: np.ndarray

  def __len__(self) -> int:
    return len(self.labels)

  def as_dataset(self, num_classes: int, *, name: str = "replay_memory") -> ArrayDataset:
    return ArrayDataset(self.images, self.labels, num_classes, name=name)


def empty(input_shape: tuple[int, ...], dtype) -> Memory:
  """A memory holding nothing, for inputs of shape `input_shape` and type `dtype`."""
  return Memory(np.zeros((0, *input_shape), dtype), np.zeros((0,), np.int32), np.zeros((0,), np.float32))


def class_quotas(capacity: int, classes) -> dict[int, int]:
  """Slots per class: `capacity // C` each for the `C` classes, plus one for the first `capacity mod C` (sorted)."""
  classes = sorted(int(c) for c in classes)
  if capacity < 1:
    raise ValueError(f"The replay memory capacity must be positive, got {capacity}.")
  if not classes:
    return {}
  base, extra = divmod(capacity, len(classes))
  return {c: base + (i < extra) for i, c in enumerate(classes)}


def update(memory: Memory, data: ArrayDataset, capacity: int, rng: np.random.Generator) -> Memory:
  """The memory after an episode on `data`: each class's examples (stored and new) keep the `quota` largest keys.

  New examples draw fresh keys from `rng`; stored ones keep theirs, so a class's memory is a uniform sample of all
  of its examples seen in any episode. Returned sorted by class, then by decreasing key.
  """
  if len(memory) and memory.images.shape[1:] != data.images.shape[1:]:
    raise ValueError(
      f"{data.name}: inputs of shape {data.images.shape[1:]}, the memory holds {memory.images.shape[1:]}."
    )
  images = np.concatenate([memory.images, data.images.astype(memory.images.dtype, copy=False)])
  labels = np.concatenate([memory.labels, data.labels.astype(np.int32)])
  keys = np.concatenate([memory.keys, rng.random(len(data), dtype=np.float32)])
  keep = []
  for label, quota in class_quotas(capacity, np.unique(labels)).items():
    members = np.flatnonzero(labels == label)
    keep.append(members[np.argsort(-keys[members], kind="stable")[:quota]])
  keep = np.concatenate(keep) if keep else np.zeros((0,), np.int64)
  return Memory(images[keep], labels[keep], keys[keep])


class MixedBatches:
  """Each global batch of `new` followed by one of `stored` (the memory's), concatenated on the mesh into one batch
  of `B + B_mem` examples laid out by `sharding`; `close()` closes both iterators."""

  def __init__(self, new, stored, sharding):
    self._new, self._stored = new, stored
    self._concatenate = jax.jit(
      lambda a, b: {k: jnp.concatenate([a[k], b[k]]) for k in ("image", "label")}, out_shardings=sharding
    )

  def __iter__(self):
    return self

  def __next__(self) -> dict:
    return self._concatenate(next(self._new), next(self._stored))

  def close(self) -> None:
    self._new.close()
    self._stored.close()

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()
