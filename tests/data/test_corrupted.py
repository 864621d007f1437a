"""The released corruption sets read from tiny files written here in the CIFAR-10/100-C (arrays) and
(Tiny-)ImageNet-C (folders) layouts, and the stand-ins."""

import os

import numpy as np
import pytest
from PIL import Image

from el_jax.data import corrupted


def _cifar_c(root, families, per=4):
  """A CIFAR-10-C-format folder: image k of severity s has every pixel 10 s + k; labels k % 3."""
  os.makedirs(root)
  images = np.stack([np.full((32, 32, 3), 10 * s + k, np.uint8) for s in range(1, 6) for k in range(per)])
  for family in families:
    np.save(os.path.join(root, f"{family}.npy"), images)
  np.save(os.path.join(root, "labels.npy"), np.tile(np.arange(per) % 3, 5).astype(np.int64))


@pytest.mark.parametrize("name, folder", [("cifar10_c", "CIFAR-10-C"), ("cifar100_c", "CIFAR-100-C")])
def test_cifar_c_severity_blocks_in_the_test_sets_order(tmp_path, name, folder):
  _cifar_c(str(tmp_path / folder), ("fog", "saturate"))
  source = corrupted.open_set(name, str(tmp_path))
  assert source.families == ("fog", "saturate")  # in ALL_FAMILIES order, the extra one after the 15
  images, labels = source.load("fog", 3)
  assert images.shape == (4, 32, 32, 3) and images[:, 0, 0, 0].tolist() == [30, 31, 32, 33]
  assert labels.tolist() == [0, 1, 2, 0]
  images, labels = source.load("saturate", 5, count=2)
  assert images[:, 0, 0, 0].tolist() == [50, 51] and labels.tolist() == [0, 1]
  with pytest.raises(ValueError, match="No corruption family 'snow'"):
    source.load("snow", 1)
  with pytest.raises(ValueError, match="1..5"):
    source.load("fog", 6)


@pytest.mark.parametrize("name, folder", [("imagenet_c", "ImageNet-C"), ("tiny_imagenet_c", "Tiny-ImageNet-C")])
def test_imagenet_c_folders_label_the_sorted_wnids_and_space_a_count_evenly(tmp_path, name, folder):
  root = tmp_path / folder
  for wnid, first in (("n01530575", 4), ("n01440764", 0)):
    for k in range(4):
      path = root / "gaussian_noise" / "2" / wnid / f"ILSVRC2012_val_{first + k:08d}.JPEG"
      os.makedirs(path.parent, exist_ok=True)
      Image.fromarray(np.full((8, 8, 3), 20 * (first + k), np.uint8)).save(path, format="JPEG", quality=95)
  source = corrupted.open_set(name, str(tmp_path))
  assert source.families == ("gaussian_noise",)
  images, labels = source.load("gaussian_noise", 2)
  assert images.shape == (8, 8, 8, 3) and labels.tolist() == [0] * 4 + [1] * 4
  np.testing.assert_allclose(images[:, 0, 0, 0], 20 * np.arange(8), atol=2)
  images, labels = source.load("gaussian_noise", 2, count=4)  # rows 0, 2, 4, 6 of 8
  np.testing.assert_allclose(images[:, 0, 0, 0], [0, 40, 80, 120], atol=2)
  assert labels.tolist() == [0, 0, 1, 1]


def test_stand_ins_have_the_real_shapes_and_every_family(tmp_path):
  for name, shape in {"cifar100_c": (32, 32, 3), "tiny_imagenet_c": (64, 64, 3), "imagenet_c": (224, 224, 3)}.items():
    source = corrupted.open_set(f"synthetic:{name}")
    assert source.families == corrupted.ALL_FAMILIES and len(corrupted.ALL_FAMILIES) == 19
    images, labels = source.load("frost", 4, count=3)
    assert images.shape == (3, *shape) and images.dtype == np.uint8 and labels.shape == (3,)
    np.testing.assert_array_equal(source.load("frost", 4, count=3)[0], images)  # reproducible
  assert corrupted.open_set("synthetic:cifar10_c").per_severity == 10_000  # the test set's size, as the release


def test_a_missing_release_names_the_download_and_an_unknown_set_the_valid_ones(tmp_path):
  with pytest.raises(FileNotFoundError, match="CIFAR-100-C.tar from zenodo"):
    corrupted.open_set("cifar100_c", str(tmp_path))
  with pytest.raises(ValueError, match="Valid: cifar10_c, cifar100_c, tiny_imagenet_c, imagenet_c"):
    corrupted.open_set("mnist_c", str(tmp_path))
