import numpy as np
import pytest
from sklearn import datasets as sklearn_datasets
from sklearn.preprocessing import StandardScaler

from el_jax import data
from el_jax.data import uci

_SIZES = {"digits": (1797, 64, 10), "iris": (150, 4, 3), "wine": (178, 13, 3), "breast_cancer": (569, 30, 2)}


def _raw(name):
  return getattr(sklearn_datasets, f"load_{name}")(return_X_y=True)


@pytest.mark.parametrize("name", sorted(_SIZES))
def test_splits_partition_the_set_60_20_20_with_stratification(name):
  n, dim, classes = _SIZES[name]
  raw_x, raw_y = _raw(name)
  splits = {s: data.load(f"uci_{name}", s, seed=4) for s in uci.SPLITS}
  assert sum(len(d) for d in splits.values()) == n
  assert abs(len(splits["train"]) - 0.6 * n) <= 1 and abs(len(splits["test"]) - 0.2 * n) <= 1
  for d in splits.values():
    assert d.input_shape == (dim,) and d.num_classes == classes and d.images.dtype == np.float32
    # Class proportions follow the whole set's within one example per class.
    expected = np.bincount(raw_y, minlength=classes) * len(d) / n
    assert np.all(np.abs(np.bincount(d.labels, minlength=classes) - expected) <= 1.5)
  # Every raw example appears in exactly one split: undo the standardisation with an independent scaler.
  parts = uci.split_indices(raw_y.astype(np.int32), 4)
  assert sorted(np.concatenate(list(parts.values())).tolist()) == list(range(n))
  scaler = StandardScaler().fit(raw_x[parts["train"]])
  for s, d in splits.items():
    expected = scaler.transform(raw_x[parts[s]])
    np.testing.assert_allclose(d.images, expected, atol=1e-4)
    np.testing.assert_array_equal(d.labels, raw_y[parts[s]])
    assert not np.isnan(d.images).any()  # constant features (digits has some) are centred, not divided by 0


def test_splits_are_deterministic_by_seed():
  a = data.load("uci_wine", "validation", seed=1)
  b = data.load("uci_wine", "validation", seed=1)
  c = data.load("uci_wine", "validation", seed=2)
  np.testing.assert_array_equal(a.images, b.images)
  np.testing.assert_array_equal(a.labels, b.labels)
  assert not np.array_equal(a.images, c.images)


def test_training_features_are_standardised():
  train = data.load("uci_breast_cancer", "train")
  np.testing.assert_allclose(train.images.mean(axis=0), 0, atol=1e-5)
  np.testing.assert_allclose(train.images.std(axis=0), 1, atol=1e-4)
  assert data.normalization("uci_breast_cancer") is None


def test_bad_names_and_splits():
  with pytest.raises(ValueError, match="Unknown UCI split 'val'"):
    data.load("uci_iris", "val")
  with pytest.raises(ValueError, match="Unknown dataset 'uci_glass'"):
    data.load("uci_glass", "train")
