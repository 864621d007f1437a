"""The losses the CPU-scale studies compare, by label, with the papers' hyper-parameters."""

LOSSES = {
  "ce": {"name": "cross_entropy"},
  "el_le0.5": {"name": "encouraging_loss", "log_end": 0.5},  # EL conservative bonus, LE = 0.5
  "el_le0.75": {"name": "encouraging_loss", "log_end": 0.75},
  "el_le1": {"name": "encouraging_loss"},  # EL's normal bonus (LE = 1)
  "el_aggressive": {"name": "encouraging_loss", "bonus_start": 0.5},  # EL's aggressive bonus (bs = 0.5)
  "mix_f0": {"name": "mixed_ce_expectation", "focus_schedule": "F=0"},
  "mix_f0_05": {"name": "mixed_ce_expectation", "focus_schedule": "F=0,0.5"},
  "mix_f0_to_05": {"name": "mixed_ce_expectation", "focus_schedule": "F=0-0.5"},
  "expectation": {"name": "expectation_loss"},
  "focal": {"name": "focal_loss", "gamma": 2.0},
  "focal_a0.25": {"name": "focal_loss", "gamma": 2.0, "alpha": 0.25},  # the mixing paper's focal baseline
  "hem": {"name": "hem_loss", "margin": "hem"},  # margin sqrt(2000 / N)
  "hem_plus": {"name": "hem_loss", "margin": "hem_plus"},  # per-class margins sqrt(2000 / (K s_i))
  "mm": {"name": "multiclass_margin_loss", "margin": 1.0},
  "logit_norm": {"name": "logit_norm_loss", "tau": 0.04},
  "logit_adjusted": {"name": "logit_adjusted_loss", "class_counts": "train"},
}


def loss(label: str) -> dict:
  """The loss config of `label`; a ValueError lists the labels."""
  if label not in LOSSES:
    raise ValueError(f"Unknown loss label {label!r}. Valid: {', '.join(LOSSES)}.")
  return dict(LOSSES[label])
