"""A host-side label check.

JAX clamps out-of-range indices instead of raising, so a label `K` or `-1` would silently be read as
class `K - 1` or `0`. `check_labels` is called on concrete labels (by the data layer and the trainer)
to turn that silent error into a clear one.
"""

import numpy as np


def check_labels(labels, num_classes: int) -> None:
  """Raises a ValueError if `labels` are not integers in [0, num_classes).

  Args:
    labels: a concrete (not traced) array of class indices.
    num_classes: the number of classes K.
  """
  labels = np.asarray(labels)
  if not np.issubdtype(labels.dtype, np.integer):
    raise ValueError(f"labels must be integer class indices, got dtype {labels.dtype}.")
  if labels.size == 0:
    return
  low, high = int(labels.min()), int(labels.max())
  if low < 0 or high >= num_classes:
    bad = labels[(labels < 0) | (labels >= num_classes)]
    raise ValueError(
      f"labels must lie in [0, {num_classes}) for {num_classes} classes, but {bad.size} of "
      f"{labels.size} do not (min {low}, max {high}; e.g. {bad[:5].tolist()}). Check the dataset's "
      "label encoding or the model's num_classes."
    )
