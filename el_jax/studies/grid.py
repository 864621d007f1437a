"""A study is a grid of training runs: every (group, seed) of a set of configs, each evaluated the same way.

A study config file (`configs/studies/*.py`) defines `get_config(arg)` (one run, for `train.py`) and
`get_study(arg) -> Study` (the whole grid, for `reproduce.py`). A run's name is `"<group>/seed<k>"`, where the group
names its variant, e.g. `"lenet/el_le0.75"`; its results live under `<runs_dir>/<study>/<run name>/`.
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
