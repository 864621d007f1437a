"""A study is a grid of training runs: every (group, seed) of a set of configs, each evaluated the same way.

A study config file (`configs/studies/*.py`) defines `get_config(arg)` (one run, for `train.py`) and
`get_study(arg) -> Study` (the whole grid, for `reproduce.py`). A run's name is `"<group>/seed<k>"`, where the group
names its variant, e.g. `"lenet/el_le0.75"`; its results live under `<runs_dir>/<study>/<run name>/`.

What the five CPU-scale studies train is defined here, once: each study's loss labels and its models (for long_tail,
its imbalance groups). The study configs build their runs from these tuples, and `el_jax.studies.claims` accepts only
claims that compare what a study trains. A loss label is a key of `configs/studies/menu.py`'s LOSSES, except that
el_analyses labels its SGD runs `"<loss>_sgd_<scale>x"`, the loss trained with SGD at `scale` times the study's base
learning rate (see `sgd_label`).

Focal loss comes as `"focal_a1"` (gamma 2 without a class weight, i.e. alpha = 1: the focal loss of EL's Eq. 10 and of
the mixing paper's equation) and `"focal_a0.25"` (gamma 2, alpha = 0.25: the setting the mixing paper's text names,
after Lin et al.). A scalar alpha scales the softmax focal loss and its gradient, so under SGD alpha = 0.25 is alpha = 1
at a quarter of the learning rate.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Run:
  """One training run: the config for `train.py`, its group labels and how to evaluate it."""

  group: str  # e.g. "lenet/el_le0.75": the variant, without the seed
  labels: dict  # e.g. {"model": "lenet", "loss": "el_le0.75"}: what the report tabulates by
  seed: int
  config: object  # ml_collections.ConfigDict
  evaluation: dict  # el_jax.evaluate.suite.Options fields

  @property
  def name(self) -> str:
    return f"{self.group}/seed{self.seed}"


@dataclasses.dataclass(frozen=True)
class Study:
  """A named grid of runs (trained by `el_jax.train`), or of UCI sweeps (`el_jax.studies.uci`) when `uci` is set."""

  name: str
  title: str
  description: str
  runs: tuple = ()
  uci: object = None  # el_jax.studies.uci.Sweep

  def __post_init__(self):
    names = [run.name for run in self.runs]
    if len(set(names)) != len(names):
      raise ValueError(f"study {self.name!r} names a run twice: {sorted(n for n in names if names.count(n) > 1)}.")


# ---- The studies' grids ------------------------------------------------------------------------------------------

# (a) fashion_mnist: every loss of the three papers' image claims on two of HEM's MNIST networks. HEM's ConvNet (plain,
# unnormalised, ~10x LeNet's compute per image) reached 75% here on the 3,000 images the budget allowed, against
# LeNet's 86.5% on 10,000: an underfitted network whose verdicts measured noise. It trains in study (e) instead, on
# real MNIST digits, HEM's own data. Focal loss is left out: no image claim of the papers compares it (see uci).
FASHION_MNIST_MODELS = ("lenet", "mlp")
FASHION_MNIST_LOSSES = (
  "ce",
  "el_le0.5",
  "el_le0.75",
  "el_le1",
  "mix_f0",
  "mix_f0_05",
  "mix_f0_to_05",
  "hem",
  "mm",
  "logit_norm",
)
PROBED_LOSSES = ("ce", "el_le1")  # LeNet runs that also get EL §4.3's linear probe (its claim: LE = 1 against CE)

# (b) uci: the mixing paper's Table 4 networks and losses.
UCI_NETWORKS = {"linear": 0, "hidden": 1}  # name -> hidden layers
# Focal loss with the paper's alpha = 0.25 and with alpha = 1. Alpha = 0.25 at 4x the learning rate is not a separate
# arm: the sweep's plain SGD with momentum and no weight decay is linear in the gradient, so scaling the gradient by
# 1/4 and every learning rate by 4 (both powers of two, exact in floating point) trains exactly the alpha = 1 runs
# (tests/studies/test_grid.py checks this on a sweep).
UCI_LOSSES = ("ce", "mix_f0", "mix_f0_05", "mix_f0_to_05", "expectation", "focal_a0.25", "focal_a1")

# (c) long_tail: LeNet on long-tailed training sets, with the losses that target imbalance.
LONG_TAIL_RATIOS = (100, 10)  # largest / smallest class size
# HEM+ twice: its per-class margins on the competing class (Eq. 6 as written) and on the example's own class (LDAM's
# reading of §4.3); see `el_jax.losses.hem_plus_margins`.
LONG_TAIL_LOSSES = ("ce", "logit_adjusted", "hem", "hem_plus", "hem_plus_label", "el_aggressive")

# (d) el_analyses: EL Table 2 on LeNet with SGD: (loss, learning-rate scale) arms; the rest of its analyses read study
# (a)'s LeNet runs. EL (LE = 1) at 1x and 0.5x the base rate (Table 2's two EL rows), CE at 1x (Table 1's baseline),
# 2x (Table 2's CE row) and 0.5x (the matched-rate control the paper implies but does not run).
EL_ANALYSES_MODEL = "lenet"
TABLE2_ARMS = (("el_le1", 1.0), ("el_le1", 0.5), ("ce", 1.0), ("ce", 0.5), ("ce", 2.0))


# (e) mnist_digits: real MNIST digits, k-fold. EL Table 1 (and Table 4's OOD) on the L-Softmax CNN; HEM's MNIST
# networks with HEM's losses. Unlike the other studies, not every loss is trained on every model.
MNIST_DIGITS_EL_MODEL = "lsoftmax_cnn"
MNIST_DIGITS_EL_LOSSES = ("ce", "el_le1")
MNIST_DIGITS_HEM_MODELS = ("lenet", "convnet", "mlp")
MNIST_DIGITS_HEM_LOSSES = ("ce", "hem", "mm", "logit_norm")


def long_tail_group(ratio: int) -> str:
  """The group of a long_tail run with imbalance ratio `ratio`: "ratio100" for 100."""
  return f"ratio{ratio}"


def sgd_label(loss: str, scale: float) -> str:
  """The loss label of an el_analyses run of `loss` with SGD at `scale` x the base rate: "el_le1_sgd_0.5x"."""
  return f"{loss}_sgd_{scale:g}x"


STUDY_GROUPS = {  # what each study's runs are grouped by, besides the loss: models, or long_tail's imbalance groups
  "fashion_mnist": FASHION_MNIST_MODELS,
  "uci": tuple(UCI_NETWORKS),
  "long_tail": tuple(long_tail_group(ratio) for ratio in LONG_TAIL_RATIOS),
  "el_analyses": (EL_ANALYSES_MODEL,),
  "mnist_digits": (MNIST_DIGITS_EL_MODEL, *MNIST_DIGITS_HEM_MODELS),
}
STUDY_LOSSES = {  # the loss labels each study trains on every one of its groups (mnist_digits: on some of them)
  "fashion_mnist": FASHION_MNIST_LOSSES,
  "uci": UCI_LOSSES,
  "long_tail": LONG_TAIL_LOSSES,
  "el_analyses": tuple(sgd_label(loss, scale) for loss, scale in TABLE2_ARMS),
  "mnist_digits": tuple(dict.fromkeys(MNIST_DIGITS_EL_LOSSES + MNIST_DIGITS_HEM_LOSSES)),
}
STUDY_CELLS = {  # mnist_digits' (model, loss) pairs, where not every loss is trained on every model
  "mnist_digits": tuple((MNIST_DIGITS_EL_MODEL, loss) for loss in MNIST_DIGITS_EL_LOSSES)
  + tuple((model, loss) for model in MNIST_DIGITS_HEM_MODELS for loss in MNIST_DIGITS_HEM_LOSSES),
}
