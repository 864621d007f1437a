"""The losses each paper compares, by the names the configs' `loss=` argument takes, with the papers' settings.

Each menu maps a short name to a `config.loss` section: the registered loss name (`el_jax.losses.names()`) and its
hyper-parameters. Markers such as `margin="hem"` are resolved from the training set before training
(`el_jax.losses.resolve_data_hparams`).

The section of a margin loss (`loss_section`) takes a number, a list of per-class numbers or a marker as its
`margin`, and always has `M` (the markers' constant) and `margin_of` (how per-class margins are read), unset unless
a menu sets them, so that the command line can change any of them on the locked config:

  --config.loss.margin=0.5   --config.loss.margin=hem_plus   --config.loss.M=500   --config.loss.margin_of=label
"""

import ml_collections
from ml_collections import config_dict

from el_jax.configs import variants


def encouraging(*, log_end: float = 1.0, bonus_start: float = 0.0, label_smoothing: float = 0.0) -> dict:
  """Encouraging loss: the normal bonus (`log_end=1`), conservative (`log_end<1`) or aggressive (`bonus_start>0`)."""
  loss = {"name": "encouraging_loss", "log_end": log_end}
  if bonus_start:
    loss["bonus_start"] = bonus_start
  if label_smoothing:
    loss["label_smoothing"] = label_smoothing
  return loss


def cross_entropy(*, label_smoothing: float = 0.0) -> dict:
  return {"name": "cross_entropy", "label_smoothing": label_smoothing} if label_smoothing else {"name": "cross_entropy"}


def squared_error(*, activation: str, mirror_bonus: bool) -> dict:
  """The squared error on the softmax's or sigmoid's outputs, with or without the mirror bonus (EL Table 5)."""
  return {"name": "squared_error", "activation": activation, "mirror_bonus": mirror_bonus}


def deferred_reweighting(loss: dict, *, start: float) -> dict:
  """`loss` with deferred class-balanced re-weighting (DRW, Cao et al. 2019) from the fraction `start` of training."""
  return {**loss, "class_weights": "effective_number", "reweight_from": start}


def encouraging_loss_menu(log_end: float, *, label_smoothing: float = 0.0) -> dict:
  """EL papers: cross-entropy against EL with the experiment's LE (both with its label smoothing, if any)."""
  return {
    "ce": cross_entropy(label_smoothing=label_smoothing),
    "el": encouraging(log_end=log_end, label_smoothing=label_smoothing),
  }


# Mixing paper: CE and the three schedules of the CE + expectation-loss mixture (`el_jax.losses.FOCUS_SCHEDULES`),
# and its gradient-norm control (section "Recognition in CIFAR100 and CINIC10", Eq. 20-22): CE scaled to the area
# under the gradient curve of strategy 3, F=0-0.5, at the same schedule point (`gradient_matched_cross_entropy`).
MIXING = {
  "ce": {"name": "cross_entropy"},
  "f0": {"name": "mixed_ce_expectation", "focus_schedule": "F=0"},
  "f0_05": {"name": "mixed_ce_expectation", "focus_schedule": "F=0,0.5"},
  "f0_to_05": {"name": "mixed_ce_expectation", "focus_schedule": "F=0-0.5"},
  "ce_matched": {"name": "gradient_matched_cross_entropy", "focus_schedule": "F=0-0.5"},
}
# Table 5: COT (Chen et al. 2019), its alternating CE and complement-entropy updates approximated by one update on
# their sum (`el_jax.losses.cot_sum_loss`), against CE and F=0-0.5.
MIXING_COT = {
  "ce": MIXING["ce"],
  "f0_to_05": MIXING["f0_to_05"],
  # COT as Chen et al. train it: an update on CE, then one on the complement entropy, each with its own optimiser
  "cot": {"name": "cross_entropy", "alternate": {"name": "complement_entropy_loss"}},
  "cot_sum": {"name": "cot_sum_loss"},  # one update on the sum: the first-order approximation, at half the cost
}
# Its UCI study adds the expectation loss alone ("EL") and focal loss.
MIXING_UCI = {
  **MIXING,
  "expectation": {"name": "expectation_loss"},
  "focal": {"name": "focal_loss", "gamma": 2.0, "alpha": 0.25},
}

# HEM paper: its loss and the ones it is compared with (section 5 and appendix B).
HEM = {
  "ce": {"name": "cross_entropy"},
  "logit_norm": {"name": "logit_norm_loss", "tau": 0.04},
  "logit_adjusted": {"name": "logit_adjusted_loss", "class_counts": "train", "tau": 1.0},
  "dice": {"name": "dice_loss"},
  "mm": {"name": "multiclass_margin_loss", "margin": 1.0},
  "hem": {"name": "hem_loss", "margin": "hem"},  # sqrt(2000 / N) for N training examples
  # per-class sqrt(2000 / (K s_k)) on each competing class, Eq. 6 as written (`el_jax.losses.hem_plus_margins`)
  "hem_plus": {"name": "hem_loss", "margin": "hem_plus"},
  # the same margins on the example's own class, as LDAM's
  "hem_plus_label": {"name": "hem_loss", "margin": "hem_plus", "margin_of": "label"},
}

# HEM appendix B.2 (Table 3): MM with each of HEM's two changes ("maz": the mean of the above-zero errors, per
# example and over the batch; "thres": errors below the example's mean set to 0), at Table 3's margin 0.2. Both
# changes together are HEM.
HEM_ABLATION = {
  "mm_maz": {"name": "multiclass_margin_loss", "margin": 0.2, "above_zero_mean": True},
  "mm_thres": {"name": "multiclass_margin_loss", "margin": 0.2, "mean_threshold": True},
}

MARGIN_LOSSES = ("hem_loss", "multiclass_margin_loss")


def loss_section(loss: dict) -> ml_collections.ConfigDict:
  """The `config.loss` section of the loss `loss` (a menu entry). A margin loss's `margin` takes a number, a list or
  a marker from the command line (its field holds any type), and its `M` and `margin_of` are fields even when
  unset (None: the defaults, 2000 and "competitor"); a fresh field per section, so that sections never share one."""
  loss = dict(loss)
  if loss["name"] in MARGIN_LOSSES:
    loss["margin"] = config_dict.FieldReference(loss.get("margin", 1.0), field_type=object)
    loss["M"] = config_dict.FieldReference(loss.get("M"), field_type=float)
    loss["margin_of"] = config_dict.FieldReference(loss.get("margin_of"), field_type=str)
  return ml_collections.ConfigDict(loss)


def loss_config(menu: dict, choice: str) -> ml_collections.ConfigDict:
  """The `config.loss` section for `menu[choice]`; a ValueError listing the menu if `choice` is not in it."""
  return loss_section(variants.choose("loss", choice, menu))
