import math

import numpy as np
import pytest

from el_jax.data import ArrayDataset, long_tail, long_tailed


def _balanced(per_class, num_classes, seed=0):
  labels = np.random.default_rng(seed).permutation(np.repeat(np.arange(num_classes), per_class)).astype(np.int32)
  images = np.arange(len(labels), dtype=np.float32)[:, None]  # feature = original index
  return ArrayDataset(images, labels, num_classes, name="balanced")


@pytest.mark.parametrize("factor", [0.6, 0.7744, 0.9])
def test_class_j_keeps_its_first_floor_s_j_f_to_the_j_examples(factor):
  data = _balanced(500, 10)
  out = long_tailed(data, factor)
  for j in range(10):
    original = np.flatnonzero(data.labels == j)
    kept = out.images[out.labels == j, 0].astype(int)
    expected = math.floor(500 * factor**j)
    assert len(kept) == expected
    np.testing.assert_array_equal(kept, original[:expected])  # the first ones, in order
  assert np.all(np.diff(out.images[:, 0]) > 0)  # the dataset order is kept


def test_hem_factors_give_the_stated_imbalance_ratios():
  # CIFAR-10 (5,000 per class): f = 0.6 -> ratio 100, f = 0.7744 -> ratio 10.
  ten = long_tail.class_counts([5000] * 10, 0.6)
  assert ten[0] == 5000 and ten[-1] == 50
  assert round(5000 / long_tail.class_counts([5000] * 10, 0.7744)[-1]) == 10
  # CIFAR-100 (500 per class): f = 0.955 -> ratio about 100, f = 0.9771 -> ratio 10.
  assert 95 <= 500 / long_tail.class_counts([500] * 100, 0.955)[-1] <= 105
  assert round(500 / long_tail.class_counts([500] * 100, 0.9771)[-1]) == 10
  assert long_tail.factor_for_ratio(100, 10) == pytest.approx(0.5995, abs=1e-4)
  assert long_tail.factor_for_ratio(10, 100) == pytest.approx(0.9770, abs=1e-4)


def test_bad_factors_are_errors():
  data = _balanced(10, 10)
  with pytest.raises(ValueError, match=r"must lie in \(0, 1\]"):
    long_tailed(data, 1.5)
  with pytest.raises(ValueError, match="without examples"):
    long_tailed(data, 0.5)


def test_first_per_class_keeps_the_first_examples_of_each_class_in_order():
  labels = np.array([0, 1, 0, 2, 1, 0, 2, 2, 1, 0], np.int32)  # first two of each class: indices 0 1 2 3 4 6
  data = ArrayDataset(np.arange(10, dtype=np.float32)[:, None], labels, 3, name="hand")
  out = long_tail.first_per_class(data, 2)
  np.testing.assert_array_equal(out.images[:, 0], [0, 1, 2, 3, 4, 6])
  np.testing.assert_array_equal(out.labels, [0, 1, 0, 2, 1, 2])
  with pytest.raises(ValueError, match=r"classes \[1, 2\] have fewer than 4 examples \(\[3, 3\]\)"):
    long_tail.first_per_class(data, 4)
  with pytest.raises(ValueError, match="integer >= 1"):
    long_tail.first_per_class(data, 0)
