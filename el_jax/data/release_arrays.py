"""Image sets released as arrays in one or two files, read into an `ArrayDataset` (no unpickling):

  kmnist(root)     Kuzushiji-MNIST (Clanuwat et al., 2018) test set: `kmnist-test-imgs.npz` (uint8 [10000, 28, 28]
                   under `arr_0`) and `kmnist-test-labels.npz`
  svhn(root)       SVHN cropped digits (Netzer et al., 2011) test set: `test_32x32.mat` (MATLAB, `X` uint8
                   [32, 32, 3, 26032], `y` in 1..10 where 10 is the digit 0)
  cifar10(root)    CIFAR-10 test set, binary version: `cifar-10-batches-bin/test_batch.bin`, 10,000 rows of
                   1 label byte + 3,072 pixel bytes (red, green, blue planes of 32 x 32, row-major)
  cifar100(root)   CIFAR-100 test set, binary version: `cifar-100-binary/test.bin`, 10,000 rows of a coarse and a
                   fine label byte + 3,072 pixel bytes; the fine label is the class

`root` is the folder the release files are in; each reader names the file it misses.
"""

import os

import numpy as np
from scipy import io as scipy_io

from el_jax.data.arrays import ArrayDataset

CIFAR_PIXELS = 32 * 32 * 3


def _path(root: str, file: str, name: str) -> str:
  path = os.path.join(root, file)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{name}: no file {path}.")
  return path


def kmnist(root: str) -> ArrayDataset:
  """KMNIST's test set from `root/kmnist-test-imgs.npz` and `root/kmnist-test-labels.npz`."""
  with np.load(_path(root, "kmnist-test-imgs.npz", "kmnist"), allow_pickle=False) as f:
    images = f["arr_0"]
  with np.load(_path(root, "kmnist-test-labels.npz", "kmnist"), allow_pickle=False) as f:
    labels = f["arr_0"]
  if images.dtype != np.uint8 or images.ndim != 3 or len(images) != len(labels):
    raise ValueError(
      f"kmnist: expected uint8 images [N, 28, 28] and N labels, got {images.dtype} {images.shape}, "
      f"{len(labels)} labels."
    )
  return ArrayDataset(images[..., None], labels.astype(np.int32), 10, name="kmnist/test")


def svhn(root: str) -> ArrayDataset:
  """SVHN's cropped-digit test set from `root/test_32x32.mat` (label 10 is the digit 0, as TFDS maps it)."""
  mat = scipy_io.loadmat(_path(root, "test_32x32.mat", "svhn"))
  images, labels = mat["X"], mat["y"].reshape(-1)
  if images.dtype != np.uint8 or images.shape[:3] != (32, 32, 3) or images.shape[3] != len(labels):
    raise ValueError(f"svhn: expected X uint8 [32, 32, 3, N] and N labels, got {images.dtype} {images.shape}.")
  return ArrayDataset(
    np.ascontiguousarray(images.transpose(3, 0, 1, 2)), (labels % 10).astype(np.int32), 10, name="svhn/test"
  )


def _cifar_binary(path: str, label_bytes: int, label_index: int, num_classes: int, name: str) -> ArrayDataset:
  raw = np.fromfile(path, np.uint8)
  row = label_bytes + CIFAR_PIXELS
  if raw.size % row:
    raise ValueError(f"{name}: {path} has {raw.size} bytes, not a multiple of the {row}-byte rows.")
  rows = raw.reshape(-1, row)
  images = rows[:, label_bytes:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
  return ArrayDataset(np.ascontiguousarray(images), rows[:, label_index].astype(np.int32), num_classes, name=name)


def cifar10(root: str) -> ArrayDataset:
  """CIFAR-10's test set from `root/cifar-10-batches-bin/test_batch.bin`."""
  return _cifar_binary(_path(root, "cifar-10-batches-bin/test_batch.bin", "cifar10"), 1, 0, 10, "cifar10/test")


def cifar100(root: str) -> ArrayDataset:
  """CIFAR-100's test set (fine labels) from `root/cifar-100-binary/test.bin`."""
  return _cifar_binary(_path(root, "cifar-100-binary/test.bin", "cifar100"), 2, 1, 100, "cifar100/test")
