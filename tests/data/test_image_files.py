"""The image-folder releases (ImageNet-O, Textures, iNaturalist 2021, Omniglot) read from tiny folders written here
in each release's layout."""

import os

import numpy as np
import pytest
from PIL import Image

from el_jax.data import image_files


def _write(path, value, size=(6, 8), mode="RGB"):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  shape = (*size, 3) if mode == "RGB" else size
  Image.fromarray(np.full(shape, value, np.uint8), mode).save(path, quality=95)


def test_imagenet_o_numbers_the_wnids_in_sorted_order(tmp_path):
  root = tmp_path / "imagenet-o"
  for wnid, values in {"n09999999": (10, 20), "n01443537": (200,)}.items():
    for i, v in enumerate(values):
      _write(str(root / wnid / f"{i}.jpg"), v)
  (root / "README.txt").write_text("ImageNet-O")
  source = image_files.imagenet_o(str(root))
  assert len(source) == 3 and source.classes == ("n01443537", "n09999999") and source.input_shape == (None, None, 3)
  records = [source[i] for i in range(3)]
  assert [r["label"] for r in records] == [0, 1, 1]
  for record, value in zip(records, (200, 10, 20), strict=True):
    assert record["image"].shape == (6, 8, 3) and record["image"].dtype == np.uint8
    assert np.abs(record["image"].astype(int) - value).max() <= 2  # JPEG of a flat colour
  assert len(source.take(2)) == 2


def test_dtd_reads_the_listed_split_of_its_release(tmp_path):
  root = tmp_path / "dtd"
  for cls in ("banded", "zigzagged"):
    for i in range(3):
      _write(str(root / "images" / cls / f"{cls}_{i:04d}.jpg"), 50 * i)
  os.makedirs(root / "labels")
  (root / "labels" / "test1.txt").write_text("zigzagged/zigzagged_0001.jpg\nbanded/banded_0002.jpg\n")
  test = image_files.dtd(str(root))
  assert [os.path.basename(p) for p in test.paths] == ["zigzagged_0001.jpg", "banded_0002.jpg"]
  assert test.labels.tolist() == [1, 0] and test.num_classes == 2
  assert len(image_files.dtd(str(root), "all")) == 6
  with pytest.raises(FileNotFoundError, match="train1.txt"):
    image_files.dtd(str(root), "train")
  with pytest.raises(ValueError, match="no split 'dev'"):
    image_files.dtd(str(root), "dev")


def test_inaturalist_and_omniglot_release_folders(tmp_path):
  val = tmp_path / "inaturalist2021" / "val"
  _write(str(val / "00001_Animalia_Chordata_b" / "x.jpg"), 90)
  _write(str(val / "00000_Animalia_Chordata_a" / "y.jpg"), 30)
  inat = image_files.inaturalist2021(str(val))
  assert inat.labels.tolist() == [0, 1] and inat.classes[0] == "00000_Animalia_Chordata_a"
  omniglot = tmp_path / "images_evaluation"
  _write(str(omniglot / "Angelic" / "character01" / "0965_01.png"), 255, (105, 105), "L")
  _write(str(omniglot / "Angelic" / "character02" / "0966_01.png"), 0, (105, 105), "L")
  _write(str(omniglot / "Atlantean" / "character01" / "1000_01.png"), 255, (105, 105), "L")
  source = image_files.omniglot(str(omniglot))
  assert source.classes == ("Angelic/character01", "Angelic/character02", "Atlantean/character01")
  assert source[1]["image"].shape == (105, 105, 1) and source[1]["image"].max() == 0 and source[2]["label"] == 2


def test_missing_or_empty_folders_are_named(tmp_path):
  with pytest.raises(FileNotFoundError, match="no folder"):
    image_files.imagenet_o(str(tmp_path / "imagenet-o"))
  os.makedirs(tmp_path / "empty" / "n01")
  with pytest.raises(FileNotFoundError, match="no images"):
    image_files.imagenet_o(str(tmp_path / "empty"))
