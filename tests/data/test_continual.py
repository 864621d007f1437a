import numpy as np
import pytest

from el_jax.data import ArrayDataset, class_split, load, permuted
from el_jax.data.continual import materialise


def _data(n=100, num_classes=10):
  rng = np.random.default_rng(0)
  return ArrayDataset(rng.integers(0, 255, (n, 4, 4, 1)).astype(np.uint8), np.arange(n) % num_classes, num_classes)


def test_class_split_partitions_the_classes_in_order():
  data = _data()
  tasks = class_split(data, 5)
  assert [sorted(set(t.labels.tolist())) for t in tasks] == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]
  assert sum(len(t) for t in tasks) == len(data)
  np.testing.assert_array_equal(tasks[1].images, data.images[np.isin(data.labels, [2, 3])])
  relabelled = class_split(data, 5, relabel=True)
  assert relabelled[3].num_classes == 2 and sorted(set(relabelled[3].labels.tolist())) == [0, 1]
  np.testing.assert_array_equal(relabelled[3].labels + 6, tasks[3].labels)
  with pytest.raises(ValueError, match="cannot be split evenly into 3 tasks"):
    class_split(data, 3)


def test_permuted_tasks_apply_one_fixed_pixel_permutation_each():
  # Pixel p of example i holds 100 * i + p, so a permuted image shows where each pixel came from.
  images = (np.arange(16)[None, :] + 100 * np.arange(20)[:, None]).astype(np.float32).reshape(20, 4, 4, 1)
  data = ArrayDataset(images, np.arange(20) % 10, 10)
  tasks = permuted(data, 3, seed=1)
  np.testing.assert_array_equal(tasks[0].images, data.images)
  flat = data.images.reshape(20, -1)
  orders = []
  for task in tasks[1:]:
    order = task.images.reshape(20, -1)[0].astype(int)
    assert sorted(order.tolist()) == list(range(16)) and order.tolist() != list(range(16))
    np.testing.assert_array_equal(task.images.reshape(20, -1), flat[:, order])  # the same for every example
    np.testing.assert_array_equal(task.labels, data.labels)
    orders.append(order.tolist())
  assert orders[0] != orders[1]
  np.testing.assert_array_equal(permuted(data, 3, seed=1)[2].images, tasks[2].images)


def test_class_split_follows_a_given_class_order():
  data = _data()
  order = [3, 7, 0, 9, 1, 5, 2, 8, 6, 4]
  tasks = class_split(data, 5, class_order=order)
  assert [sorted(set(t.labels.tolist())) for t in tasks] == [[3, 7], [0, 9], [1, 5], [2, 8], [4, 6]]
  np.testing.assert_array_equal(tasks[0].images, data.images[np.isin(data.labels, [3, 7])])
  relabelled = class_split(data, 5, relabel=True, class_order=order)
  np.testing.assert_array_equal(relabelled[0].labels, np.where(tasks[0].labels == 3, 0, 1))
  with pytest.raises(ValueError, match="class_order must be a permutation"):
    class_split(data, 5, class_order=[0, 1, 2, 3, 4, 5, 6, 7, 8, 8])


def test_materialise_reads_a_random_access_source_into_arrays():
  source = load("synthetic:mnist", "test").take(12)
  data = materialise(source)
  assert isinstance(data, ArrayDataset) and data.images.shape == (12, 28, 28, 1) and data.num_classes == 10
  for i in (0, 7, 11):
    np.testing.assert_array_equal(data.images[i], source[i]["image"])
    assert data.labels[i] == source[i]["label"]
  assert materialise(data) is data
