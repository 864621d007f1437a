import gzip
import os

import numpy as np
import pytest

from el_jax import data
from el_jax.data import fashion_mnist
from el_jax.data.idx import IdxFormatError, read_idx
from tests.conftest import write_idx


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, ">i4", ">f4"])
def test_roundtrip(tmp_path, compress, dtype):
  array = (np.arange(2 * 3 * 5) - 7).reshape(2, 3, 5).astype(dtype)
  path = tmp_path / ("a.idx.gz" if compress else "a.idx")
  write_idx(path, array)
  out = read_idx(path)
  assert out.shape == (2, 3, 5)
  np.testing.assert_array_equal(out, array)


def test_header_bytes_are_parsed_big_endian(tmp_path):
  # Hand-written file: magic 0x00000801 (uint8, 1 dim), count 3, then three labels.
  path = tmp_path / "labels.idx"
  path.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 0, 9]))
  np.testing.assert_array_equal(read_idx(path), [7, 0, 9])


def test_bad_magic_names_the_file(tmp_path):
  path = tmp_path / "bad.idx"
  path.write_bytes(bytes([1, 2, 8, 1, 0, 0, 0, 1, 5]))
  with pytest.raises(IdxFormatError, match=r"bad\.idx.*magic"):
    read_idx(path)


def test_truncated_file_is_reported(tmp_path):
  path = tmp_path / "short.idx.gz"
  write_idx(path, np.zeros((4, 28, 28), np.uint8))
  raw = gzip.decompress(path.read_bytes())
  path.write_bytes(gzip.compress(raw[:-10]))
  with pytest.raises(IdxFormatError, match=r"short\.idx\.gz.*truncated or corrupt"):
    read_idx(path)


def test_corrupt_gzip_is_reported(tmp_path):
  path = tmp_path / "broken.idx.gz"
  path.write_bytes(b"\x1f\x8b\x08\x00garbage")
  with pytest.raises(IdxFormatError, match=r"broken\.idx\.gz"):
    read_idx(path)


def test_expected_shape_mismatch(tmp_path):
  path = tmp_path / "img.idx"
  write_idx(path, np.zeros((2, 27, 28), np.uint8))
  with pytest.raises(IdxFormatError, match=r"expected \(None, 28, 28\)"):
    read_idx(path, expected_shape=(None, 28, 28))


def test_fashion_mnist_reads_env_dir(fake_fashion_mnist):
  train = data.load("fashion_mnist", "train")
  test = data.load("fashion_mnist", "test")
  assert train.images.shape == (512, 28, 28, 1) and train.images.dtype == np.uint8
  assert test.labels.shape == (300,) and test.labels.dtype == np.int32
  assert train.num_classes == 10


def test_missing_file_names_file_and_install_command(tmp_path, monkeypatch):
  monkeypatch.setenv("EL_JAX_DATA_DIR", str(tmp_path))
  monkeypatch.setattr(fashion_mnist, "SYSTEM_DIR", str(tmp_path / "nowhere"))
  with pytest.raises(FileNotFoundError, match=r"train-images-idx3-ubyte\.gz.*apt-get install dataset-fashion-mnist"):
    data.load("fashion_mnist", "train")


def test_a_data_dir_is_never_mixed_with_the_system_copy(tmp_path, monkeypatch):
  from tests.conftest import make_fashion_mnist

  make_fashion_mnist(tmp_path, num_train=20, num_test=10)
  (tmp_path / "train-labels-idx1-ubyte.gz").unlink()  # the images alone; the system copy has the labels
  monkeypatch.setenv("EL_JAX_DATA_DIR", str(tmp_path))
  with pytest.raises(FileNotFoundError, match=rf"train-labels-idx1-ubyte\.gz not found in EL_JAX_DATA_DIR={tmp_path}"):
    data.load("fashion_mnist", "train")
  assert len(data.load("fashion_mnist", "test")) == 10  # a complete split of the folder still loads
  monkeypatch.setenv("EL_JAX_DATA_DIR", str(tmp_path / "mistyped"))
  with pytest.raises(FileNotFoundError, match=r"t10k-images-idx3-ubyte\.gz, t10k-labels-idx1-ubyte\.gz not found"):
    data.load("fashion_mnist", "test")


def test_corrupt_fashion_mnist_file_is_reported(tmp_path, monkeypatch):
  from tests.conftest import make_fashion_mnist

  make_fashion_mnist(tmp_path, num_train=20, num_test=10)
  (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 10, 1, 2])))
  monkeypatch.setenv("EL_JAX_DATA_DIR", str(tmp_path))
  with pytest.raises(IdxFormatError, match=r"t10k-labels-idx1-ubyte\.gz.*dataset-fashion-mnist"):
    data.load("fashion_mnist", "test")


def test_image_and_label_counts_must_agree(tmp_path, monkeypatch):
  from tests.conftest import make_fashion_mnist

  make_fashion_mnist(tmp_path, num_train=20, num_test=10)
  write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(9, np.uint8))
  monkeypatch.setenv("EL_JAX_DATA_DIR", str(tmp_path))
  with pytest.raises(IdxFormatError, match=r"t10k-labels.*\(10,\)"):
    data.load("fashion_mnist", "test")


def test_out_of_range_labels_are_rejected(tmp_path, monkeypatch):
  from tests.conftest import make_fashion_mnist

  make_fashion_mnist(tmp_path, num_train=20, num_test=10)
  write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.full(10, 12, np.uint8))
  monkeypatch.setenv("EL_JAX_DATA_DIR", str(tmp_path))
  with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
    data.load("fashion_mnist", "test")


def test_unknown_dataset_lists_valid_names():
  with pytest.raises(ValueError, match="fashion_mnist"):
    data.load("imagenet_typo", "train")


def test_real_fashion_mnist_files():
  """The installed dataset (`make test` installs it): counts, shapes and the 10 balanced classes."""
  if not os.path.isfile(os.path.join(fashion_mnist.data_dir(), "train-images-idx3-ubyte.gz")):
    pytest.skip("Fashion-MNIST is not installed here (sudo apt-get install dataset-fashion-mnist)")
  train, test = data.load("fashion_mnist", "train"), data.load("fashion_mnist", "test")
  assert train.images.shape == (60_000, 28, 28, 1) and test.images.shape == (10_000, 28, 28, 1)
  np.testing.assert_array_equal(np.bincount(train.labels), [6000] * 10)
  np.testing.assert_array_equal(np.bincount(test.labels), [1000] * 10)
  assert train.images.max() == 255 and train.images.min() == 0
  pixels = train.images.astype(np.float64) / 255
  mean, std = data.normalization("fashion_mnist")
  np.testing.assert_allclose([pixels.mean(), pixels.std()], [mean[0], std[0]], atol=5e-5)
