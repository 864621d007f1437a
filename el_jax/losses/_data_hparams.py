"""Hyper-parameters that depend on the training set, named in configs by a marker and filled in before training.

margin="hem"            HEM's margin sqrt(M / N) for N training examples (HEM paper §4.2; `hem_margin`)
margin="hem_plus"       HEM+'s per-class margins sqrt(M / (K s_i)) (HEM paper §4.3; `hem_plus_margins`)
class_counts="train"    the training set's examples per class (`logit_adjusted_loss`)
"""

import numpy as np

from el_jax.losses._margin import hem_margin, hem_plus_margins

MARKERS = {"margin": ("hem", "hem_plus"), "class_counts": ("train",)}


def resolve_data_hparams(hparams: dict, class_counts) -> dict:
  """`hparams` with every marker replaced by its value for the training set.

  Args:
    hparams: a loss's hyper-parameters; `M` (default 2000), the HEM margin constant, is consumed here.
    class_counts: `[K]` training examples per class, or a function returning them (called only if a marker needs
      them, since reading a large set's labels can be slow).

  Raises a ValueError naming an unknown marker.
  """
  hparams = dict(hparams)
  m = float(hparams.pop("M", 2000.0))
  counts = None
  for key, valid in MARKERS.items():
    value = hparams.get(key)
    if not isinstance(value, str):
      continue
    if value not in valid:
      raise ValueError(f"Unknown {key}={value!r}: a number, or one of {', '.join(map(repr, valid))}.")
    if counts is None:
      counts = np.asarray(class_counts() if callable(class_counts) else class_counts, np.int64)
    if value == "hem":
      hparams[key] = hem_margin(int(counts.sum()), m)
    elif value == "hem_plus":
      hparams[key] = hem_plus_margins(counts, m).tolist()
    else:
      hparams[key] = counts.tolist()
  return hparams
