"""The losses the CPU-scale studies compare, by label, with the papers' hyper-parameters (from `configs.losses`)."""

from el_jax.configs import losses

LOSSES = {
  "ce": losses.cross_entropy(),
  "el_le0.5": losses.encouraging(log_end=0.5),  # EL's conservative bonus, LE = 0.5
  "el_le0.75": losses.encouraging(log_end=0.75),
  "el_le1": losses.encouraging(),  # EL's normal bonus (LE = 1)
  "el_aggressive": losses.encouraging(bonus_start=0.5),  # EL's aggressive bonus (bs = 0.5)
  "mix_f0": losses.MIXING["f0"],
  "mix_f0_05": losses.MIXING["f0_05"],
  "mix_f0_to_05": losses.MIXING["f0_to_05"],
  "expectation": losses.MIXING_UCI["expectation"],
  "focal_a1": {"name": "focal_loss", "gamma": 2.0},  # no class weight (alpha = 1): EL's Eq. 10, the mixing paper's Eq.
  "focal_a0.25": losses.MIXING_UCI["focal"],  # gamma 2, alpha 0.25: the focal baseline the mixing paper's text names
  "hem": losses.HEM["hem"],  # margin sqrt(2000 / N)
  "hem_plus": losses.HEM["hem_plus"],  # per-class margins sqrt(2000 / (K s_k)) on the competing class (Eq. 6)
  "hem_plus_label": losses.HEM["hem_plus_label"],  # the same margins on the example's own class (LDAM's reading)
  "mm": losses.HEM["mm"],
  "logit_norm": losses.HEM["logit_norm"],
  "logit_adjusted": losses.HEM["logit_adjusted"],
}


def loss(label: str) -> dict:
  """The loss config of `label`; a ValueError lists the labels."""
  if label not in LOSSES:
    raise ValueError(f"Unknown loss label {label!r}. Valid: {', '.join(LOSSES)}.")
  return dict(LOSSES[label])


def loss_section(label: str):
  """The `config.loss` section of `label` (`configs.losses.loss_section`: margins overridable on the command line)."""
  return losses.loss_section(loss(label))
