import numpy as np
import pytest

from el_jax.continual import replay
from el_jax.data import ArrayDataset


def _data(labels, offset=0):
  labels = np.asarray(labels, np.int32)
  # Each image holds its example's unique id, so the memory's contents can be traced back.
  ids = np.arange(len(labels)) + offset
  return ArrayDataset(ids.reshape(-1, 1).astype(np.float32), labels, 10)


def test_class_quotas_split_the_capacity_evenly_and_give_the_remainder_to_the_first_classes():
  assert replay.class_quotas(10, [4, 1, 7]) == {1: 4, 4: 3, 7: 3}
  assert replay.class_quotas(2000, range(10)) == dict.fromkeys(range(10), 200)
  assert replay.class_quotas(5, []) == {}
  with pytest.raises(ValueError, match="capacity must be positive"):
    replay.class_quotas(0, [1])


def test_memory_is_class_balanced_shrinks_old_classes_and_keeps_a_subset_of_what_it_saw():
  rng = np.random.default_rng(0)
  first = _data(np.repeat([0, 1], 50))
  memory = replay.update(replay.empty((1,), np.float32), first, 30, rng)
  assert len(memory) == 30 and np.bincount(memory.labels).tolist() == [15, 15]
  assert set(memory.images[:, 0].tolist()) <= set(range(100))
  second = _data(np.repeat([2, 3, 4], 40), offset=100)
  shrunk = replay.update(memory, second, 30, rng)
  assert np.bincount(shrunk.labels, minlength=5).tolist() == [6, 6, 6, 6, 6]
  # Old classes keep their examples of largest key, a subset of what they held.
  for label in (0, 1):
    kept, before = shrunk.labels == label, memory.labels == label
    assert set(shrunk.images[kept, 0].tolist()) <= set(memory.images[before, 0].tolist())
    np.testing.assert_array_equal(np.sort(shrunk.keys[kept]), np.sort(memory.keys[before])[-6:])
  # Capacity larger than the data: everything is kept.
  assert len(replay.update(replay.empty((1,), np.float32), first, 500, rng)) == 100


def test_a_class_seen_again_is_a_uniform_sample_of_all_its_examples():
  # Two episodes of one class, 100 examples each, memory 50: on average half of it comes from each episode.
  counts = []
  for seed in range(200):
    rng = np.random.default_rng(seed)
    memory = replay.update(replay.empty((1,), np.float32), _data(np.zeros(100)), 50, rng)
    memory = replay.update(memory, _data(np.zeros(100), offset=100), 50, rng)
    counts.append(np.sum(memory.images[:, 0] < 100))
  assert abs(np.mean(counts) - 25) < 1.0  # hypergeometric mean 25, standard error about 0.13


class _Batches:
  def __init__(self, batches):
    self._batches, self.closed = iter(batches), False

  def __next__(self):
    return next(self._batches)

  def close(self):
    self.closed = True


def test_mixed_batches_put_the_memory_examples_after_the_new_ones_and_close_both_sources():
  import jax

  from el_jax.train import mesh

  sharding = mesh.batch_sharding(mesh.create({}))
  new = [{"image": np.full((2, 1), i, np.float32), "label": np.array([i, i], np.int32)} for i in (1, 2)]
  stored = [{"image": np.full((3, 1), -i, np.float32), "label": np.array([7, 8, 9], np.int32) * i} for i in (1, 2)]
  sources = _Batches(new), _Batches(stored)
  with replay.MixedBatches(*sources, sharding) as mixed:
    first, second = next(mixed), next(mixed)
    with pytest.raises(StopIteration):
      next(mixed)
  assert first["image"][:, 0].tolist() == [1, 1, -1, -1, -1] and first["label"].tolist() == [1, 1, 7, 8, 9]
  assert second["label"].tolist() == [2, 2, 14, 16, 18]
  assert isinstance(first["image"], jax.Array) and first["image"].sharding == sharding
  assert all(source.closed for source in sources)
