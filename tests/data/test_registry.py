import numpy as np
import pytest

from el_jax import data
from el_jax.data import pipeline, synthetic


def test_synthetic_sets_have_the_real_shapes_and_sizes():
  cifar = data.load("synthetic:cifar10", "train")
  assert isinstance(cifar, data.Source)
  assert (len(cifar), cifar.input_shape, cifar.num_classes) == (50_000, (32, 32, 3), 10)
  imagenet = data.load("synthetic:imagenet", "validation")
  assert (len(imagenet), imagenet.num_classes) == (50_000, 1000)
  record = imagenet[49_999]
  assert record["image"].shape == (224, 224, 3) and record["image"].dtype == np.uint8
  assert 0 <= record["label"] < 1000
  np.testing.assert_array_equal(cifar[7]["image"], data.load("synthetic:cifar10", "train")[7]["image"])
  assert not np.array_equal(cifar[7]["image"], data.load("synthetic:cifar10", "test")[7]["image"])
  assert not np.array_equal(cifar[7]["image"], data.load("synthetic:cifar10", "train", seed=1)[7]["image"])
  with pytest.raises(IndexError):
    cifar[50_000]
  with pytest.raises(ValueError, match="No synthetic stand-in for 'cifar11'"):
    data.load("synthetic:cifar11", "train")
  with pytest.raises(ValueError, match="has no split 'test'"):
    data.load("synthetic:imagenet", "test")


def test_synthetic_labels_are_learnable_and_balanced():
  source = data.load("synthetic:cifar10", "train").take(2000)
  labels = np.array([source[i]["label"] for i in range(len(source))])
  assert np.all(np.abs(np.bincount(labels, minlength=10) - 200) < 60)
  # The brightened band of rows (starting at row label * 32 // 10) identifies the class of every record.
  band_starts = [c * 32 // 10 for c in range(10)]
  for i in range(50):
    image, label = source[i]["image"], source[i]["label"]
    brightest = int(np.argmax(image.mean(axis=(1, 2))))
    assert band_starts.index(brightest) == label


def test_synthetic_source_feeds_the_training_pipeline():
  source = data.load("synthetic:cifar10", "train").take(64)
  batch = pipeline.train_dataset(source, batch_size=16, seed=0, num_epochs=1)[3]
  assert batch["image"].shape == (16, 32, 32, 3) and batch["image"].dtype == np.float32
  assert synthetic.SHAPES["cifar100"][1] == 100


def test_registered_offline_sets():
  digits = data.load("mnist_digits", "all")
  assert len(digits) == 5000 and digits.input_shape == (28, 28, 1) and digits.num_classes == 10
  assert data.normalization("mnist_digits") is not None
  assert {"fashion_mnist", "mnist_digits", "uci_iris", "cifar10", "imagenet"} <= set(data.names())
  with pytest.raises(ValueError, match="takes no options"):
    data.load("fashion_mnist", "train", seed=1)
  with pytest.raises(ValueError, match="Unknown dataset 'cifar"):
    data.load("cifar", "train")


def test_feature_vectors_flow_through_the_pipeline_to_an_mlp():
  from el_jax import models

  train = data.load("uci_wine", "train")
  batch = pipeline.train_dataset(train, batch_size=8, seed=0, num_epochs=1)[0]
  assert batch["image"].shape == (8, 13)
  model = models.create("mlp", num_classes=train.num_classes, input_shape=train.input_shape)
  assert model(batch["image"]).shape == (8, 3)


def test_every_stand_in_is_named_synthetic_then_the_dataset_name():
  reviews = data.load("synthetic:text:reviews", "train")
  assert "tokens" in reviews[0] and reviews.num_classes == data.load("synthetic:text:reviews", "test").num_classes
  proteins = data.load("synthetic:graphs:proteins", "train")
  assert set(proteins.input_shape) == {"nodes", "adjacency", "node_mask"}
  with pytest.raises(ValueError, match=r"use 'synthetic:text:reviews', not 'text:synthetic:reviews'"):
    data.load("text:synthetic:reviews", "train")
