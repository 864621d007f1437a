import numpy as np
import pytest

from el_jax.continual import tasks
from el_jax.data import ArrayDataset


class _Records:
  """A random-access source that is not an ArrayDataset (records read one by one)."""

  def __init__(self, data: ArrayDataset):
    self.data, self.num_classes, self.name = data, data.num_classes, "records"

  def __len__(self):
    return len(self.data)

  def __getitem__(self, i):
    return {"image": self.data.images[i], "label": int(self.data.labels[i])}


def _data(n=60):
  images = np.arange(n * 4, dtype=np.float32).reshape(n, 2, 2, 1)
  return ArrayDataset(images, np.arange(n) % 6, 6, name="toy")


def test_split_tasks_deal_the_classes_in_the_seeded_order_from_any_source():
  train, test = _data(), _data(30)
  settings = {"scenario": "split", "num_tasks": 3, "class_order": "random"}
  train_tasks, test_tasks = tasks.build(_Records(train), test, settings, seed=4)
  order = np.random.default_rng(4).permutation(6)
  for t, (task_train, task_test) in enumerate(zip(train_tasks, test_tasks, strict=True)):
    classes = sorted(order[2 * t : 2 * t + 2].tolist())
    assert sorted(set(task_train.labels.tolist())) == classes == sorted(set(task_test.labels.tolist()))
    np.testing.assert_array_equal(task_train.images, train.images[np.isin(train.labels, classes)])
  fixed, _ = tasks.build(train, test, settings | {"class_order": "fixed"}, seed=4)
  assert [sorted(set(t.labels.tolist())) for t in fixed] == [[0, 1], [2, 3], [4, 5]]


def test_permuted_tasks_keep_every_example_under_the_seeds_permutations_the_first_too():
  n, pixels = 20, 16
  images = (np.arange(pixels)[None, :] + 100 * np.arange(n)[:, None]).astype(np.float32).reshape(n, 4, 4, 1)
  train = ArrayDataset(images, np.arange(n) % 6, 6, name="toy")
  test = ArrayDataset(images[:10], np.arange(10) % 6, 6, name="toy")
  train_tasks, test_tasks = tasks.build(train, test, {"scenario": "permuted", "num_tasks": 3}, seed=1)
  rng = np.random.default_rng(1)
  for task_train, task_test in zip(train_tasks, test_tasks, strict=True):
    order = rng.permutation(pixels)  # one draw per episode, the first episode's included
    np.testing.assert_array_equal(task_train.images.reshape(n, -1), images.reshape(n, -1)[:, order])
    np.testing.assert_array_equal(task_test.images.reshape(10, -1), images[:10].reshape(10, -1)[:, order])
    np.testing.assert_array_equal(task_train.labels, train.labels)


def test_unknown_scenario_and_class_order_are_named():
  with pytest.raises(ValueError, match="Unknown continual.scenario 'rotated'. Valid: split, permuted."):
    tasks.build(_data(), _data(), {"scenario": "rotated", "num_tasks": 2}, seed=0)
  with pytest.raises(ValueError, match="Unknown continual.class_order 'sorted'"):
    tasks.class_order(6, "sorted", 0)
