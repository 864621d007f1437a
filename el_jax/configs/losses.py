"""The losses each paper compares, by the names the configs' `loss=` argument takes, with the papers' settings.

Each menu maps a short name to a `config.loss` section: the registered loss name (`el_jax.losses.names()`) and its
hyper-parameters. Markers such as `margin="hem"` are resolved from the training set before training
(`el_jax.losses.resolve_data_hparams`).
"""

import ml_collections

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


def encouraging_loss_menu(log_end: float, *, label_smoothing: float = 0.0) -> dict:
  """EL papers: cross-entropy against EL with the experiment's LE (both with its label smoothing, if any)."""
  return {
    "ce": cross_entropy(label_smoothing=label_smoothing),
    "el": encouraging(log_end=log_end, label_smoothing=label_smoothing),
  }


# Mixing paper: CE and the three schedules of the CE + expectation-loss mixture (`el_jax.losses.FOCUS_SCHEDULES`).
MIXING = {
  "ce": {"name": "cross_entropy"},
  "f0": {"name": "mixed_ce_expectation", "focus_schedule": "F=0"},
  "f0_05": {"name": "mixed_ce_expectation", "focus_schedule": "F=0,0.5"},
  "f0_to_05": {"name": "mixed_ce_expectation", "focus_schedule": "F=0-0.5"},
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
  "hem_plus": {"name": "hem_loss", "margin": "hem_plus"},  # per-class sqrt(2000 / (K s_i))
}


def loss_config(menu: dict, choice: str) -> ml_collections.ConfigDict:
  """The `config.loss` section for `menu[choice]`; a ValueError listing the menu if `choice` is not in it."""
  return ml_collections.ConfigDict(dict(variants.choose("loss", choice, menu)))
