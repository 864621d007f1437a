"""Training and evaluation sets from a config's dataset section: subsets and long tails of any source."""

import math

import numpy as np
import pytest

from el_jax import data
from el_jax.data import long_tail


def test_long_tail_after_the_subset():
  train, evaluation = data.from_config(
    {"name": "uci_digits", "train_split": "train", "eval_split": "test", "train_subset": 600, "long_tail_ratio": 10.0}
  )
  base = data.load("uci_digits", "train").take(600)
  base_counts = np.bincount(base.labels, minlength=10)
  f = 10.0 ** (-1 / 9)
  expected = [math.floor(s * f**j) for j, s in enumerate(base_counts)]
  assert data.class_counts(train).tolist() == expected
  assert len(evaluation) == len(data.load("uci_digits", "test"))


def test_long_tail_of_a_synthetic_source_is_a_subset_view():
  source = data.load("synthetic:cifar10", "train").take(400)
  cut = long_tail.long_tailed(source, long_tail.factor_for_ratio(10, 10))
  assert isinstance(cut, data.Subset)
  labels = np.array([source[i]["label"] for i in range(len(source))])
  counts = np.bincount(labels, minlength=10)
  f = 10.0 ** (-1 / 9)
  assert data.class_counts(cut).tolist() == [math.floor(s * f**j) for j, s in enumerate(counts)]
  first = int(cut.indices[0])
  np.testing.assert_array_equal(cut[0]["image"], source[first]["image"])
  assert cut.take(3).indices.tolist() == cut.indices[:3].tolist()


def test_subset_rejects_out_of_range_indices():
  source = data.load("synthetic:cifar10", "test").take(10)
  with pytest.raises(ValueError, match="subset indices"):
    data.Subset(source, np.array([0, 10]))
  with pytest.raises(IndexError):
    data.Subset(source, np.array([1, 2]))[2]


def test_options_that_are_none_are_not_passed():
  unset, _ = data.from_config({"name": "uci_iris", "options": {"data_dir": None}})
  default = data.load("uci_iris", "train")
  np.testing.assert_array_equal(unset.images, default.images)
  reseeded, _ = data.from_config({"name": "uci_iris", "options": {"data_dir": None, "seed": 3}})
  np.testing.assert_array_equal(reseeded.images, data.load("uci_iris", "train", seed=3).images)
  assert not np.array_equal(reseeded.images, default.images)
