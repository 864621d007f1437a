"""The OOD set registry: releases found in the data folder, the TFDS fallback's message when nothing is there,
stand-ins of the real shapes, and the images a model is tested on."""

import numpy as np
import pytest

from el_jax.data import ood_sources
from el_jax.data.arrays import ArrayDataset


def test_a_release_in_the_data_folder_is_read(tmp_path):
  images = np.random.default_rng(0).integers(0, 256, (4, 28, 28), dtype=np.uint8)
  np.savez_compressed(tmp_path / "kmnist-test-imgs.npz", arr_0=images)
  np.savez_compressed(tmp_path / "kmnist-test-labels.npz", arr_0=np.zeros(4, np.uint8))
  source = ood_sources.load("kmnist", data_dir=str(tmp_path))
  np.testing.assert_array_equal(source.images[..., 0], images)


def test_a_missing_set_says_what_to_download_and_where(tmp_path):
  with pytest.raises(ood_sources.Unavailable, match=r"imagenet-o\.tar from github\.com/hendrycks") as e:
    ood_sources.load("imagenet_o", data_dir=str(tmp_path))
  assert str(tmp_path) in str(e.value)
  with pytest.raises(ood_sources.Unavailable, match="svhn_cropped"):  # the TFDS name was tried too
    ood_sources.load("svhn", data_dir=str(tmp_path))
  with pytest.raises(ValueError, match="Unknown OOD set 'textures'. Valid: omniglot"):
    ood_sources.load("textures")


def test_stand_ins_have_the_release_shapes():
  for name, spec in ood_sources.SETS.items():
    source = ood_sources.load(f"synthetic:{name}")
    assert len(source) == spec.size and source.num_classes == spec.num_classes
    image = source[0]["image"]
    assert image.dtype == np.uint8 and image.shape[-1] == spec.shape[-1], name
    for side, expected in zip(image.shape[:2], spec.shape[:2], strict=True):
      assert side == expected if expected else spec.sizes[0] <= side <= spec.sizes[1], name
  assert len(ood_sources.SETS) == 10


def test_images_are_the_first_count_or_evenly_spaced_ones_in_the_input_shape(monkeypatch):
  values = np.arange(12, dtype=np.uint8)
  source = ArrayDataset(np.broadcast_to(values[:, None, None, None], (12, 4, 4, 3)).copy(), values.astype(int), 12)
  out = ood_sources.images(source, (2, 2, 1), count=5)
  assert out.shape == (5, 2, 2, 1) and out[:, 0, 0, 0].tolist() == [0, 1, 2, 3, 4]
  monkeypatch.setattr(ood_sources, "MAX_IMAGES", 4)
  assert ood_sources.images(source, (4, 4, 3))[:, 0, 0, 0].tolist() == [0, 3, 6, 9]
  stand_in = ood_sources.load("synthetic:dtd")  # images of varying sizes, read one by one
  assert ood_sources.images(stand_in, (32, 32, 3), count=3).shape == (3, 32, 32, 3)
