"""Continual learning (HEM paper §5.3, appendix A.3): the episodes of a task sequence trained in order with any
el_jax loss and a strategy against catastrophic forgetting.

  tasks        the task sequence: Split (class-incremental) or Permuted (domain-incremental) episodes
  strategies   each strategy as one value (`Strategy`: what it retains between episodes, its inputs to an episode's
               step, its loss terms, its batches, its checkpoint), registered by name; their maths, one module each:
                 replay   a class-balanced episodic memory mixed into every batch
                 ewc      elastic weight consolidation: diagonal-Fisher quadratic penalty
                 si       synaptic intelligence: path-integral importance penalty
                 lfl      less-forgetful learning: penultimate-feature distance (`features` gives the features)
                 lwf      learning without forgetting: distillation of the old outputs
  step         the jitted train step of an episode: the loss objective plus the strategy's terms
  driver       `train_episodes(config, workdir)`: the main loop's pieces (`el_jax.train`) run over the episodes
  results      the accuracy matrix's summary: mean accuracy and forgetting

`train.py` runs a config with a `continual` section (`configs/hem/continual.py`) through `train_episodes`.
"""

from el_jax import _extras

_extras.require("el_jax.continual", "train")

from el_jax.continual import ewc, features, lfl, lwf, replay, si, strategies, tasks  # noqa: E402
from el_jax.continual.driver import EpisodePreempted, train_episodes  # noqa: E402
from el_jax.continual.results import summarise  # noqa: E402
from el_jax.continual.step import make_train_step  # noqa: E402
from el_jax.continual.strategies import Strategy  # noqa: E402

__all__ = [
  "EpisodePreempted",
  "Strategy",
  "ewc",
  "features",
  "lfl",
  "lwf",
  "make_train_step",
  "replay",
  "si",
  "strategies",
  "summarise",
  "tasks",
  "train_episodes",
]
