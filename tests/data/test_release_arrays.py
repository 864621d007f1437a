"""The array releases (KMNIST .npz, SVHN .mat, CIFAR-10/100 binary versions) read from files written here in those
formats."""

import numpy as np
import pytest
from scipy import io as scipy_io

from el_jax.data import release_arrays


def test_kmnist_npz(tmp_path):
  images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
  np.savez_compressed(tmp_path / "kmnist-test-imgs.npz", arr_0=images)
  np.savez_compressed(tmp_path / "kmnist-test-labels.npz", arr_0=np.arange(5, dtype=np.uint8))
  source = release_arrays.kmnist(str(tmp_path))
  np.testing.assert_array_equal(source.images[..., 0], images)
  assert source.labels.tolist() == [0, 1, 2, 3, 4] and source.input_shape == (28, 28, 1)


def test_svhn_mat_maps_label_10_to_digit_0(tmp_path):
  images = np.random.default_rng(1).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
  scipy_io.savemat(tmp_path / "test_32x32.mat", {"X": images.transpose(1, 2, 3, 0), "y": np.array([[10], [1], [9]])})
  source = release_arrays.svhn(str(tmp_path))
  np.testing.assert_array_equal(source.images, images)
  assert source.labels.tolist() == [0, 1, 9]


def test_cifar_binary_rows(tmp_path):
  images = np.random.default_rng(2).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
  planes = images.transpose(0, 3, 1, 2).reshape(4, -1)  # red, green, blue planes, row-major
  (tmp_path / "cifar-10-batches-bin").mkdir()
  np.concatenate([np.array([[3], [1], [4], [1]], np.uint8), planes], axis=1).tofile(
    tmp_path / "cifar-10-batches-bin" / "test_batch.bin"
  )
  ten = release_arrays.cifar10(str(tmp_path))
  np.testing.assert_array_equal(ten.images, images)
  assert ten.labels.tolist() == [3, 1, 4, 1] and ten.num_classes == 10
  (tmp_path / "cifar-100-binary").mkdir()
  coarse_fine = np.array([[0, 99], [1, 5], [2, 0], [3, 42]], np.uint8)
  np.concatenate([coarse_fine, planes], axis=1).tofile(tmp_path / "cifar-100-binary" / "test.bin")
  hundred = release_arrays.cifar100(str(tmp_path))
  np.testing.assert_array_equal(hundred.images, images)
  assert hundred.labels.tolist() == [99, 5, 0, 42] and hundred.num_classes == 100
  np.zeros(3000, np.uint8).tofile(tmp_path / "cifar-10-batches-bin" / "test_batch.bin")
  with pytest.raises(ValueError, match="not a multiple"):
    release_arrays.cifar10(str(tmp_path))
  with pytest.raises(FileNotFoundError, match="test_32x32.mat"):
    release_arrays.svhn(str(tmp_path))
