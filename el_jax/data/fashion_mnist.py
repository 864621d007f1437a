"""Fashion-MNIST (Xiao et al., 2017) from its idx files, offline.

The files are searched in `$EL_JAX_DATA_DIR` (if set), then in `/usr/share/datasets/fashion-mnist/`, where the
Debian package `dataset-fashion-mnist` installs them.
"""

import os

import numpy as np

from el_jax.data import idx
from el_jax.data.arrays import ArrayDataset

SYSTEM_DIR = "/usr/share/datasets/fashion-mnist"
INSTALL_HINT = (
  "Install it with `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or put the four idx .gz "
  "files of https://github.com/zalandoresearch/fashion-mnist in a folder and set EL_JAX_DATA_DIR to it."
)
NUM_CLASSES = 10
# Per-channel pixel mean and standard deviation of the training split, on the [0, 1] scale.
MEAN = (0.2860,)
STD = (0.3530,)
_FILES = {
  "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
  "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def search_dirs() -> list[str]:
  """The folders searched for the idx files, in order."""
  env = os.environ.get("EL_JAX_DATA_DIR")
  return [env, SYSTEM_DIR] if env else [SYSTEM_DIR]


def _find(filename: str) -> str:
  for folder in search_dirs():
    path = os.path.join(folder, filename)
    if os.path.isfile(path):
      return path
  raise FileNotFoundError(f"Fashion-MNIST file {filename} not found in {' or '.join(search_dirs())}. {INSTALL_HINT}")


def load(split: str) -> ArrayDataset:
  """Loads split `"train"` (60,000 images) or `"test"` (10,000) as uint8 `[N, 28, 28, 1]` images and labels.

  The image and label files must agree on the number of examples; images must be 28x28 uint8 and labels uint8
  in [0, 10).

  Raises:
    ValueError: for an unknown split.
    FileNotFoundError: naming the missing file and how to install the data.
    idx.IdxFormatError: naming a corrupt file.
  """
  if split not in _FILES:
    raise ValueError(f"Unknown Fashion-MNIST split {split!r}; valid: {sorted(_FILES)}.")
  image_file, label_file = _FILES[split]
  image_path, label_path = _find(image_file), _find(label_file)
  hint = f" Reinstall the data. {INSTALL_HINT}"
  try:
    images = idx.read_idx(image_path, expected_shape=(None, 28, 28))
    labels = idx.read_idx(label_path, expected_shape=(len(images),))
  except idx.IdxFormatError as e:
    raise idx.IdxFormatError(str(e) + hint) from e
  if images.dtype != np.uint8 or labels.dtype != np.uint8:
    raise idx.IdxFormatError(f"{image_path}, {label_path}: expected uint8 data.{hint}")
  return ArrayDataset(images[..., None], labels.astype(np.int32), NUM_CLASSES, name=f"fashion_mnist/{split}")
