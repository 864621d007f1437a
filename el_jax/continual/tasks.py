"""The task sequence a config's `continual` section describes: one training and one test set per episode, dealt
from the run's training and test sources (`setup.Inputs`), read into memory.

`continual.scenario`:
  "split"     class-incremental: the classes are dealt into `num_tasks` equal groups, in the order
              `continual.class_order` says ("random": a permutation drawn from the seed, as Avalanche's
              SplitMNIST/SplitCIFAR do by default; "fixed": 0, 1, 2, ...); labels keep their global values, one head.
  "permuted"  domain-incremental: every episode sees all classes under its own pixel permutation drawn from the
              seed (Avalanche's PermutedMNIST: the first episode's images are permuted too); the test sets get the same
              permutations.
"""

import numpy as np

from el_jax.data.arrays import ArrayDataset
from el_jax.data.continual import class_split, materialise, permuted
from el_jax.data.source import Source

SCENARIOS = ("split", "permuted")
CLASS_ORDERS = ("random", "fixed")


def class_order(num_classes: int, order: str, seed: int) -> np.ndarray:
  """The order in which classes are dealt into tasks: a seeded permutation ("random") or 0..K-1 ("fixed")."""
  if order == "fixed":
    return np.arange(num_classes)
  if order == "random":
    return np.random.default_rng(seed).permutation(num_classes)
  raise ValueError(f"Unknown continual.class_order {order!r}. Valid: {', '.join(CLASS_ORDERS)}.")


def build(train: Source, test: Source, continual, *, seed: int) -> tuple[list[ArrayDataset], list[ArrayDataset]]:
  """`(train_tasks, test_tasks)`: lists of `continual["num_tasks"]` in-memory datasets each, from the whole training
  and test sources."""
  scenario, num_tasks = continual["scenario"], continual["num_tasks"]
  train, test = materialise(train), materialise(test)
  if scenario == "split":
    order = class_order(train.num_classes, continual.get("class_order", "random"), seed)
    return class_split(train, num_tasks, class_order=order), class_split(test, num_tasks, class_order=order)
  if scenario == "permuted":
    return (
      permuted(train, num_tasks, seed=seed, identity_first=False),
      permuted(test, num_tasks, seed=seed, identity_first=False),
    )
  raise ValueError(f"Unknown continual.scenario {scenario!r}. Valid: {', '.join(SCENARIOS)}.")
