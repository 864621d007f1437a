"""scikit-learn's bundled UCI sets as standardised feature vectors with fixed train/validation/test splits.

The mixing paper evaluates on UCI classification sets (section 4.4) with a validation split to choose the learning
rate. Offline, scikit-learn ships four: `digits` (1,797 x 64, 10 classes), `iris` (150 x 4, 3), `wine` (178 x 13, 3)
and `breast_cancer` (569 x 30, 2).

Splits are stratified 60% / 20% / 20% train / validation / test, drawn from `seed` alone, so they are the same on
every machine and call. Features are standardised with the training split's per-feature mean and standard deviation
(constant features are left centred, not divided by zero).
"""

import numpy as np

from el_jax import _extras
from el_jax.data.arrays import ArrayDataset

# The sets, each loaded by scikit-learn's `sklearn.datasets.load_<name>`.
NAMES = ("digits", "iris", "wine", "breast_cancer")
SPLITS = ("train", "validation", "test")
FRACTIONS = (0.6, 0.2, 0.2)


def split_indices(labels: np.ndarray, seed: int) -> dict[str, np.ndarray]:
  """Stratified train / validation / test example indices (60/20/20) drawn from `seed`, each sorted."""
  # imported on use: scikit-learn is slow to import
  train_test_split = _extras.load("sklearn.model_selection", "data", "The UCI splits").train_test_split

  indices = np.arange(len(labels))
  train, rest = train_test_split(indices, train_size=FRACTIONS[0], stratify=labels, random_state=seed)
  validation, test = train_test_split(rest, test_size=0.5, stratify=labels[rest], random_state=seed)
  return {"train": np.sort(train), "validation": np.sort(validation), "test": np.sort(test)}


def load(name: str, split: str, *, seed: int = 0) -> ArrayDataset:
  """Split `split` of UCI set `name` as float32 features `[N, D]` standardised by the training split's statistics."""
  if name not in NAMES:
    raise ValueError(f"Unknown UCI set {name!r}; valid: {sorted(NAMES)}.")
  if split not in SPLITS:
    raise ValueError(f"Unknown UCI split {split!r}; valid: {SPLITS}.")
  datasets = _extras.load("sklearn.datasets", "data", f"The UCI set {name!r}")

  features, labels = getattr(datasets, f"load_{name}")(return_X_y=True)
  features, labels = features.astype(np.float64), labels.astype(np.int32)
  parts = split_indices(labels, seed)
  train = features[parts["train"]]
  mean, std = train.mean(axis=0), train.std(axis=0)
  std = np.where(std > 0, std, 1.0)
  x = ((features[parts[split]] - mean) / std).astype(np.float32)
  return ArrayDataset(x, labels[parts[split]], int(labels.max()) + 1, name=f"uci_{name}/{split}")
