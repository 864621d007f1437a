"""Hyper-parameters that depend on the training set, named in configs by a marker and filled in before training.

margin="hem"            HEM's margin sqrt(M / N) for N training examples (HEM paper §4.2; `hem_margin`)
margin="hem_plus"       HEM+'s per-class margins sqrt(M / (K s_i)) (HEM paper §4.3; `hem_plus_margins`)
class_counts="train"    the training set's examples per class (`logit_adjusted_loss`)

`M` (default 2000), the constant of the two margin markers, is a hyper-parameter of the config only: it is used
here and not passed to the loss. `M` and `margin_of` left None (a config's unset fields) take their defaults.
"""

import numpy as np

from el_jax.losses._margin import hem_margin, hem_plus_margins

MARKERS = {"margin": ("hem", "hem_plus"), "class_counts": ("train",)}
DEFAULT_M = 2000.0


def resolve_data_hparams(hparams: dict, class_counts) -> dict:
  """`hparams` with every marker replaced by its value for the training set.

  Args:
    hparams: a loss's hyper-parameters; `M` (default 2000), the HEM margin constant, is consumed here.
    class_counts: `[K]` training examples per class, or a function returning them (called only if a marker needs
      them, since reading a large set's labels can be slow).

  Raises a ValueError naming an unknown marker, an `M` that is not a number > 0, or an `M` other than the default
  that no marker uses (a numeric margin), which would otherwise be ignored.
  """
  hparams = dict(hparams)
  if hparams.get("margin_of", "") is None:
    del hparams["margin_of"]  # the loss's default
  m = hparams.pop("M", None)
  m = DEFAULT_M if m is None else m
  if isinstance(m, bool) or not isinstance(m, int | float) or not m > 0:
    raise ValueError(f"M, the constant of the margin markers 'hem' and 'hem_plus', must be a number > 0, got {m!r}.")
  if m != DEFAULT_M and not isinstance(hparams.get("margin"), str):
    raise ValueError(
      f"M={m} sets the margin of the markers margin='hem' (sqrt(M / N)) and margin='hem_plus' (sqrt(M / (K s_k))), "
      f"but margin is {hparams.get('margin')!r}: set margin to one of the markers, or leave M at {DEFAULT_M:g}."
    )
  m = float(m)
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
