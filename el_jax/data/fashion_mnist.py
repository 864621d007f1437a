"""Fashion-MNIST (Xiao et al., 2017) from its idx files, offline.

The files are read from `$EL_JAX_DATA_DIR` when it is set, and only from there (a folder missing a file is an error
naming it, never completed from another copy); otherwise from `/usr/share/datasets/fashion-mnist/`, where the Debian
package `dataset-fashion-mnist` installs them.
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


def data_dir() -> str:
  """The folder the idx files are read from: `$EL_JAX_DATA_DIR` if set, else the Debian package's."""
  return os.environ.get("EL_JAX_DATA_DIR") or SYSTEM_DIR


def _paths(filenames) -> list[str]:
  """The paths of `filenames` in `data_dir()`; a FileNotFoundError names every one that is missing."""
  folder = data_dir()
  paths = [os.path.join(folder, name) for name in filenames]
  missing = [name for name, path in zip(filenames, paths, strict=True) if not os.path.isfile(path)]
  if missing:
    where = f"EL_JAX_DATA_DIR={folder}" if os.environ.get("EL_JAX_DATA_DIR") else folder
    raise FileNotFoundError(f"Fashion-MNIST file(s) {', '.join(missing)} not found in {where}. {INSTALL_HINT}")
  return paths


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
  image_path, label_path = _paths((image_file, label_file))
  hint = f" Reinstall the data. {INSTALL_HINT}"
  try:
    images = idx.read_idx(image_path, expected_shape=(None, 28, 28))
    labels = idx.read_idx(label_path, expected_shape=(len(images),))
  except idx.IdxFormatError as e:
    raise idx.IdxFormatError(str(e) + hint) from e
  if images.dtype != np.uint8 or labels.dtype != np.uint8:
    raise idx.IdxFormatError(f"{image_path}, {label_path}: expected uint8 data.{hint}")
  return ArrayDataset(images[..., None], labels.astype(np.int32), NUM_CLASSES, name=f"fashion_mnist/{split}")
