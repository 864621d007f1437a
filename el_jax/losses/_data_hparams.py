"""Hyper-parameters that depend on the training set, named in configs by a marker and filled in before training.

margin="hem"            HEM's margin sqrt(M / N) for N training examples (HEM paper §4.2; `hem_margin`)
margin="hem_plus"       HEM+'s per-class margins sqrt(M / (K s_i)) (HEM paper §4.3; `hem_plus_margins`)
class_counts="train"    the training set's examples per class (`logit_adjusted_loss`)
class_weights=          the class-balanced weights of deferred re-weighting, (1 - beta) / (1 - beta^n_k) normalised
  "effective_number"    to sum K (`get_objective`'s `class_weights`; `_reweighting.effective_number_weights`)

`M` (default 2000), the constant of the two margin markers, and `reweight_beta` (default 0.9999), the beta of the
effective numbers, are hyper-parameters of the config only: they are used here and not passed to the loss. `M`,
`reweight_beta` and `margin_of` left None (a config's unset fields) take their defaults.
"""

import numpy as np

from el_jax.losses._margin import hem_margin, hem_plus_margins
from el_jax.losses._reweighting import DEFAULT_BETA, effective_number_weights

MARKERS = {"margin": ("hem", "hem_plus"), "class_counts": ("train",), "class_weights": ("effective_number",)}
DEFAULT_M = 2000.0


def resolve_data_hparams(hparams: dict, class_counts) -> dict:
  """`hparams` with every marker replaced by its value for the training set.

  Args:
    hparams: a loss's hyper-parameters; `M` (default 2000), the HEM margin constant, and `reweight_beta` (default
      0.9999) are consumed here.
    class_counts: `[K]` training examples per class, or a function returning them (called only if a marker needs
      them, since reading a large set's labels can be slow).

  Raises a ValueError naming an unknown marker, an `M` that is not a number > 0, or an `M` other than the default
  that no marker uses (a numeric margin), which would otherwise be ignored; the same for `reweight_beta` without
  `class_weights="effective_number"`.
  """
  hparams = dict(hparams)
  beta = hparams.pop("reweight_beta", None)
  beta = DEFAULT_BETA if beta is None else beta
  if beta != DEFAULT_BETA and hparams.get("class_weights") != "effective_number":
    raise ValueError(
      f"reweight_beta={beta} sets the beta of class_weights='effective_number', but class_weights is "
      f"{hparams.get('class_weights')!r}: set class_weights='effective_number', or leave reweight_beta unset."
    )
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
    elif value == "effective_number":
      hparams[key] = effective_number_weights(counts, beta).tolist()
    else:
      hparams[key] = counts.tolist()
  return hparams
