"""A study is a grid of training runs: every (group, seed) of a set of configs, each evaluated the same way.

A study config file (`configs/studies/*.py`) defines `get_config(arg)` (one run, for `train.py`) and
`get_study(arg) -> Study` (the whole grid, for `reproduce.py`). A run's name is `"<group>/seed<k>"`, where the group
names its variant, e.g. `"lenet/el_le0.75"`; its results live under `<runs_dir>/<study>/<run name>/`.

What the four CPU-scale studies train is defined here, once: each study's loss labels and its models (for long_tail,
its imbalance groups). The study configs build their runs from these tuples, and `el_jax.studies.claims` accepts only
claims that compare what a study trains. A loss label is a key of `configs/studies/menu.py`'s LOSSES, except that
el_analyses labels its half-learning-rate runs `"<loss>_half_lr"` and the UCI study's "focal" is the menu's
"focal_a0.25" (see `configs/studies/uci.py`).
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

# (a) fashion_mnist: every loss of the three papers on HEM's MNIST networks.
FASHION_MNIST_MODELS = ("lenet", "mlp", "convnet")
FASHION_MNIST_LOSSES = (
  "ce",
  "el_le0.5",
  "el_le0.75",
  "el_le1",
  "mix_f0",
  "mix_f0_05",
  "mix_f0_to_05",
  "focal",
  "hem",
  "mm",
  "logit_norm",
)
PROBED_LOSSES = ("ce", "el_le0.5", "el_le0.75", "el_le1")  # LeNet runs that also get EL §4.3's linear probe

# (b) uci: the mixing paper's Table 4 networks and losses.
UCI_NETWORKS = {"linear": 0, "hidden": 1}  # name -> hidden layers
UCI_LOSSES = ("ce", "mix_f0", "mix_f0_05", "mix_f0_to_05", "expectation", "focal")

# (c) long_tail: LeNet on long-tailed training sets, with the losses that target imbalance.
LONG_TAIL_RATIOS = (100, 10)  # largest / smallest class size
LONG_TAIL_LOSSES = ("ce", "logit_adjusted", "hem", "hem_plus", "el_aggressive")

# (d) el_analyses: LeNet at half the learning rate; the rest of its analyses read study (a)'s LeNet runs.
EL_ANALYSES_MODEL = "lenet"
HALF_LR_LOSSES = ("ce", "el_le1")


def long_tail_group(ratio: int) -> str:
  """The group of a long_tail run with imbalance ratio `ratio`: "ratio100" for 100."""
  return f"ratio{ratio}"


def half_lr_label(loss: str) -> str:
  """The loss label of an el_analyses run of `loss` at half the learning rate: "el_le1_half_lr" for "el_le1"."""
  return f"{loss}_half_lr"


STUDY_GROUPS = {  # what each study's runs are grouped by, besides the loss: models, or long_tail's imbalance groups
  "fashion_mnist": FASHION_MNIST_MODELS,
  "uci": tuple(UCI_NETWORKS),
  "long_tail": tuple(long_tail_group(ratio) for ratio in LONG_TAIL_RATIOS),
  "el_analyses": (EL_ANALYSES_MODEL,),
}
STUDY_LOSSES = {  # the loss labels each study trains on every one of its groups
  "fashion_mnist": FASHION_MNIST_LOSSES,
  "uci": UCI_LOSSES,
  "long_tail": LONG_TAIL_LOSSES,
  "el_analyses": tuple(half_lr_label(loss) for loss in HALF_LR_LOSSES),
}
