"""Continual learning (HEM paper §5.3, appendix A.3): episodes of a task sequence trained in order with any el_jax
loss and one of five strategies against catastrophic forgetting, each a small pure piece:

  replay   a class-balanced episodic memory mixed into every batch          (`replay`)
  ewc      elastic weight consolidation: diagonal-Fisher quadratic penalty  (`ewc`)
  si       synaptic intelligence: path-integral importance penalty          (`si`)
  lfl      less-forgetful learning: penultimate-feature distance            (`lfl`, `features`)
  lwf      learning without forgetting: distillation of the old outputs     (`lwf`)

`train_and_evaluate(config, workdir)` runs a config with a `continual` section (`configs/hem/continual.py`).
"""

from el_jax.continual import ewc, features, lfl, lwf, replay, si, tasks
from el_jax.continual.driver import summarise, train_and_evaluate
from el_jax.continual.step import STRATEGIES, make_train_step

__all__ = [
  "STRATEGIES",
  "ewc",
  "features",
  "lfl",
  "lwf",
  "make_train_step",
  "replay",
  "si",
  "summarise",
  "tasks",
  "train_and_evaluate",
]
