"""Long-tailed subsets of balanced training sets (HEM appendix A.2.1, after Cao et al., 2019), and balanced ones
with the same number of examples per class (`first_per_class`: HEM appendix B.1's 50 CIFAR-10 images per class).

Class `j` keeps only its first `floor(s_j * f**j)` examples (in dataset order), where `s_j` is its original count
and `f` in (0, 1] sets the imbalance: the largest-to-smallest class ratio is about `f**-(n-1)` for `n` classes.
So ratio 100 needs `f = 100**(-1/(n-1))`: 0.599 for 10 classes and 0.955 for 100; ratio 10 needs 0.774 (10 classes)
and 0.977 (100 classes). HEM A.2.1 pairs these factors with the other dataset (0.6 and 0.7744 "from CIFAR100",
0.955 and 0.9771 "from CIFAR10"); only the pairing above gives the ratios 100 and 10 it states.
"""

import math

import numpy as np

from el_jax.data.arrays import ArrayDataset
from el_jax.data.subset import Subset, labels_of


def factor_for_ratio(ratio: float, num_classes: int) -> float:
  """The `f` whose long-tailed set has largest/smallest class ratio `ratio` over `num_classes` classes."""
  if ratio < 1 or num_classes < 2:
    raise ValueError(f"need ratio >= 1 and at least 2 classes, got ratio {ratio}, {num_classes} classes.")
  return ratio ** (-1.0 / (num_classes - 1))


def class_counts(counts, factor: float) -> np.ndarray:
  """`floor(s_j * factor**j)` for the class counts `s_j`."""
  if not 0 < factor <= 1:
    raise ValueError(f"the long-tail factor must lie in (0, 1], got {factor}.")
  return np.array([math.floor(s * factor**j) for j, s in enumerate(counts)], np.int64)


def long_tailed(data, factor: float):
  """`data` with class `j` cut to its first `floor(s_j * factor**j)` examples; the order of the rest is kept.

  An `ArrayDataset` gives an `ArrayDataset`; any other source (TFDS, synthetic) gives a `Subset` view of it.
  """
  labels = labels_of(data)
  counts = np.bincount(labels, minlength=data.num_classes)
  keep_counts = class_counts(counts, factor)
  if (keep_counts == 0).any():
    empty = np.flatnonzero(keep_counts == 0).tolist()
    raise ValueError(f"{data.name}: factor {factor} leaves classes {empty} without examples; use a larger factor.")
  return _first_of_each_class(data, labels, keep_counts, f"{data.name}/long_tailed_{factor:g}")


def first_per_class(data, count: int):
  """`data` with each class cut to its first `count` examples (in dataset order); the order of the rest is kept.

  Raises a ValueError naming the classes with fewer than `count` examples, or a `count` below 1.
  """
  if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 1:
    raise ValueError(f"examples per class must be an integer >= 1, got {count!r}.")
  labels = labels_of(data)
  counts = np.bincount(labels, minlength=data.num_classes)
  if (counts < count).any():
    short = np.flatnonzero(counts < count).tolist()
    raise ValueError(
      f"{data.name}: classes {short} have fewer than {count} examples ({counts[short].tolist()}); ask for fewer."
    )
  return _first_of_each_class(data, labels, np.full(data.num_classes, count), f"{data.name}/first_{count}_per_class")


def _first_of_each_class(data, labels, keep_counts, name: str):
  """`data` with class `c` cut to its first `keep_counts[c]` examples, as an `ArrayDataset` or a `Subset` view."""
  rank = np.zeros(len(data), np.int64)  # position of each example within its class
  for c in range(data.num_classes):
    members = np.flatnonzero(labels == c)
    rank[members] = np.arange(len(members))
  keep = np.flatnonzero(rank < keep_counts[labels])
  if isinstance(data, ArrayDataset):
    return data.select(keep, name=name)
  return Subset(data, keep, name=name)
