"""The 121 UCI classification sets as preprocessed by Fernández-Delgado et al. (2014) and used, with their splits, by
Klambauer et al. (2017, SELU paper) and the mixing paper ("UCI Datasets", Table 4), read from the release's folders.

Layout: one folder per set, `<data_dir>/<name>/`, holding

  <name>_R.dat          the examples: whitespace (tab) separated, a header row, then one row per example whose
                        first column is the row's index, the middle columns the features (already standardised
                        by the release) and the last column the class, an integer in [0, K)
  conxuntos.dat         two lines of 0-based row indices: line 1 the training rows, line 2 the held-out rows used
                        to choose hyper-parameters (here the "validation" split)
  conxuntos_kfold.dat   eight lines: the training rows and the test rows of four folds, alternating
                        (fold 0 train, fold 0 test, fold 1 train, ...)

(other files of the release, such as `<name>.txt` and `<name>.names`, are not read). Splits: "train" and
"validation" (conxuntos.dat), and "fold<k>_train" / "fold<k>_test" for k = 0..3 (conxuntos_kfold.dat). The number of
classes is that of the whole file, so that every split of a set agrees on it. Features are used as the release gives
them.

`load(name, split, data_dir=DIR)`; `load("synthetic:<name>", split)` is a stand-in: 16 Gaussian features, 3 classes
whose means differ, 96 training, 32 validation and 64 rows per fold split, generated from the seed.
"""

import os

import numpy as np

from el_jax.data.arrays import ArrayDataset

FOLDS = 4
SPLITS = ("train", "validation", *(f"fold{k}_{part}" for k in range(FOLDS) for part in ("train", "test")))
LAYOUT = "<name>_R.dat, conxuntos.dat and conxuntos_kfold.dat"


def _check_split(split: str) -> None:
  if split not in SPLITS:
    raise ValueError(f"Unknown UCI-121 split {split!r}; valid: {', '.join(SPLITS)}.")


def _read_indices(path: str, expected_lines: int) -> list[np.ndarray]:
  """The lines of 0-based row indices of `path` (blank lines ignored); a ValueError unless there are
  `expected_lines` of them, each of integers."""
  with open(path) as f:
    lines = [line.split() for line in f if line.strip()]
  if len(lines) != expected_lines:
    raise ValueError(f"{path}: expected {expected_lines} lines of row indices, found {len(lines)}.")
  try:
    return [np.asarray([int(v) for v in line], np.int64) for line in lines]
  except ValueError as e:
    raise ValueError(f"{path}: row indices must be integers ({e}).") from None


def _read_examples(path: str) -> tuple[np.ndarray, np.ndarray]:
  """`(features [N, D] float32, labels [N] int32)` of a `<name>_R.dat` file."""
  try:
    table = np.loadtxt(path, skiprows=1, ndmin=2, dtype=np.float64)
  except ValueError as e:
    raise ValueError(f"{path}: not a table of numbers after its header row ({e}).") from None
  if table.shape[1] < 3:
    raise ValueError(f"{path}: expected columns index, features..., class; found {table.shape[1]} columns.")
  labels = table[:, -1]
  if not (np.all(labels == np.round(labels)) and labels.min() >= 0):
    raise ValueError(f"{path}: the last column must hold the class, an integer >= 0; found {labels[:5].tolist()}...")
  return table[:, 1:-1].astype(np.float32), labels.astype(np.int32)


def _split_rows(directory: str, split: str) -> np.ndarray:
  if split in ("train", "validation"):
    path = os.path.join(directory, "conxuntos.dat")
    return _read_indices(path, 2)[split == "validation"]
  fold, part = int(split[len("fold")]), split.rpartition("_")[2]
  path = os.path.join(directory, "conxuntos_kfold.dat")
  return _read_indices(path, 2 * FOLDS)[2 * fold + (part == "test")]


def load(name: str, split: str, *, data_dir: str | None = None, seed: int = 0) -> ArrayDataset:
  """Split `split` of UCI-121 set `name` from `<data_dir>/<name>/` (see the module docstring for the layout), or of
  the stand-in `synthetic:<name>`.

  Raises:
    ValueError: for an unknown split, a missing `data_dir`, or files not in the release's format (naming the file).
    FileNotFoundError: naming the folder or file that is missing and the layout expected.
  """
  _check_split(split)
  if name.startswith("synthetic:"):
    if data_dir is not None:
      raise ValueError(f"The stand-in {name!r} reads no files: drop data_dir.")
    return _stand_in(name, split, seed)
  if data_dir is None:
    raise ValueError(
      f"UCI-121 set {name!r} needs data_dir, the folder holding one folder per set (each with {LAYOUT}): "
      "--config.dataset.options.data_dir=DIR."
    )
  directory = os.path.join(data_dir, name)
  if not os.path.isdir(directory):
    raise FileNotFoundError(
      f"UCI-121 set {name!r}: no folder {directory}. data_dir must hold one folder per set, named as the set, with "
      f"{LAYOUT} (Fernández-Delgado et al.'s release, as used by Klambauer et al.)."
    )
  files = [f"{name}_R.dat", "conxuntos.dat", "conxuntos_kfold.dat"]
  missing = [f for f in files if not os.path.isfile(os.path.join(directory, f))]
  if missing:
    raise FileNotFoundError(f"UCI-121 set {name!r}: {', '.join(missing)} missing from {directory} (expected {LAYOUT}).")
  path = os.path.join(directory, f"{name}_R.dat")
  features, labels = _read_examples(path)
  rows = _split_rows(directory, split)
  bad = rows[(rows < 0) | (rows >= len(labels))]
  if bad.size:
    raise ValueError(
      f"UCI-121 set {name!r}, split {split!r}: row indices {bad[:5].tolist()} outside [0, {len(labels)}), the rows "
      f"of {path} (indices are 0-based)."
    )
  return ArrayDataset(features[rows], labels[rows], int(labels.max()) + 1, name=f"uci121:{name}/{split}")


STAND_IN = {"features": 16, "classes": 3, "rows": {"train": 96, "validation": 32, "fold": 64}}


def _stand_in(name: str, split: str, seed: int) -> ArrayDataset:
  """Gaussian features around one random mean per class: learnable, of the stand-in's fixed shape."""
  d, k = STAND_IN["features"], STAND_IN["classes"]
  size = STAND_IN["rows"].get(split, STAND_IN["rows"]["fold"])
  means = np.random.default_rng(seed).normal(size=(k, d))
  rng = np.random.default_rng((seed, SPLITS.index(split)))
  labels = rng.integers(0, k, size).astype(np.int32)
  features = (means[labels] + rng.normal(size=(size, d))).astype(np.float32)
  return ArrayDataset(features, labels, k, name=f"uci121:{name}/{split}")
