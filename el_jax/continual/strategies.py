"""The five strategies against forgetting as values, looked up by name: `get("ewc")`.

A `Strategy` is a frozen set of pure functions; the driver and the train step call them and never ask which strategy
they run. Between episodes a strategy holds what it `retained` from the episodes so far (EWC's anchors, SI's
importance, replay's memory; nothing for LFL and LwF, whose reference is simply the network the last episode left);
from it, before each episode after the first, it derives its `episode_inputs`, the train step's inputs from the
past, constant within the episode. In the first episode there is no past: the inputs are empty and the step trains
on the task loss alone. Per strategy (the maths lives in the module named in brackets):

            retained (checkpointed)            episode inputs                  loss terms, other effects
  replay    class-balanced memory [replay]     -                               memory batches mixed into each batch
  ewc       {episode<e>: Fisher, params} [ewc] anchors, strength               parameter penalty (eq. 3)
  si        importance, anchor [si]            importance, anchor, strength    parameter penalty; path integral
  lfl       -                                  previous network, strength,     feature distance to the previous
                                               classifier mask [lfl]           network; classifier frozen
  lwf       -                                  previous network, seen classes, alpha * distillation from the
                                               alpha, task weight [lwf]        previous network; task loss weighted

The step's objective is `task_weight * L_task + output_penalty + parameter_penalty`, with the output penalty a
function of the model's outputs on the batch and the previous network's (run in evaluation mode), and the parameter
penalty differentiated separately and added to the gradient (see `el_jax.continual.step`).

Settings (`config.continual.<strategy>`): each strategy names the ones it needs and the defaults of the others; a
missing or unknown setting is an error. A per-episode setting (LFL's strength, LwF's alpha) is a number or a list with
one value per episode (`for_episode`).
"""

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from el_jax.continual import ewc, lfl, lwf, replay, si
from el_jax.data import pipeline
from el_jax.data.arrays import ArrayDataset


def for_episode(value, episode: int) -> float:
  """A per-episode setting: `value[episode]` for a list (its last entry past its end), `value` for a number."""
  if isinstance(value, list | tuple):
    if not value:
      raise ValueError("A per-episode setting must not be an empty list.")
    return float(value[min(episode, len(value) - 1)])
  return float(value)


class Outputs(NamedTuple):
  """A network's outputs on a batch: logits `[N, K]` and penultimate features `[N, D]` (None when not computed)."""

  logits: Any
  features: Any


@dataclasses.dataclass(frozen=True)
class EpisodeStart:
  """What a strategy derives an episode's inputs from (from the second episode on).

  Attributes:
    episode: the episode's index (>= 1).
    retained: what the strategy retained after the earlier episodes.
    params, model_state: the network as the previous episode left it (the "previous network").
    seen_classes: `[K]` bools, the classes of the earlier episodes' training data.
    settings: the strategy's settings (`Strategy.settings`).
  """

  episode: int
  retained: Any
  params: Any
  model_state: Any
  seen_classes: np.ndarray
  settings: Mapping


@dataclasses.dataclass(frozen=True)
class EpisodeEnd:
  """What a strategy updates what it retains from, at the end of an episode.

  Attributes:
    episode: the episode's index.
    retained: what the strategy retained before the episode.
    start_params: the parameters at the start of the episode.
    params, model_state: the network at its end.
    tracked: the train-state entries the strategy tracked during the episode (`Strategy.track_start`).
    train_data: the episode's training set.
    settings: the strategy's settings.
    seed: the run's seed.
    loss_grad: `loss_grad(params, batch)`, the gradient of the training objective in evaluation mode (model state
      of the episode's end) on a padded batch, its padding masked.
    train_batches: `train_batches()` iterates the episode's training set once in padded evaluation batches of the
      training batch size, without augmentation (a context manager: use it in a `with` block).
  """

  episode: int
  retained: Any
  start_params: Any
  params: Any
  model_state: Any
  tracked: Mapping
  train_data: ArrayDataset
  settings: Mapping
  seed: int
  loss_grad: Callable
  train_batches: Callable


@dataclasses.dataclass(frozen=True)
class EpisodeData:
  """How the driver makes an episode's global batches, for a strategy that adds batches of its own (replay).

  Attributes:
    seed: the seed of the episode's batches of new data.
    total_steps: the episode's number of updates.
    num_classes: the number of classes.
    sharding: the batch sharding of the mesh.
    make_batches: `make_batches(source, *, batch_size, seed, num_epochs)`, a closeable iterator of global training
      batches of `source` (`el_jax.data.global_batches.train` with the run's normalisation and augmentation).
  """

  seed: int
  total_steps: int
  num_classes: int
  sharding: Any
  make_batches: Callable


def _nothing(*_):
  return {}


def _unchanged(end: EpisodeEnd):
  return end.retained


def _as_saved(retained) -> tuple[Any, dict]:
  return retained, {}


def _identity(tree):
  return tree


@dataclasses.dataclass(frozen=True)
class Strategy:
  """A strategy against forgetting, as pure functions (see the module docstring).

  Between episodes:
    start(params, train_data) -> retained: what it holds before the first episode (`train_data`: the first
      episode's training set, for the shape and type of its inputs).
    episode_inputs(EpisodeStart) -> dict: the train step's inputs for an episode after the first; a strategy with
      an `output_penalty` puts the previous network there as `{"previous": {"params", "model_state"}}`.
    end_episode(EpisodeEnd) -> retained.
  Loss terms and updates (traced inside the jitted step, from the second episode on):
    task_weight(inputs) -> scalar weight of the task loss.
    output_penalty(outputs, previous_outputs, inputs, settings) -> scalar, or None: a penalty on the model's
      `Outputs` on the batch given the previous network's (`needs_features`: the model's outputs include its
      penultimate features).
    parameter_penalty(params, inputs, settings) -> scalar, or None: a penalty on the parameters, differentiated
      apart from the objective and added to its gradient.
    frozen(inputs) -> a tree of bools like the parameters, or None: parameters that get no update.
  During every episode (the first too):
    track_start(params) -> dict: train-state entries the strategy tracks (the state's `tracked`).
    track_update(tracked, task_grads, old_params, new_params) -> dict, or None: their update after a step, given
      the gradient of the task objective alone.
    batches(new_batches, retained, settings, EpisodeData) -> iterator, or None: the episode's batches from those
      of its new data (a closeable iterator of global batches).
  Checkpoints:
    to_checkpoint(retained) -> (arrays, meta): what goes into the checkpoint (a tree of arrays) and a JSON-able
      description of it.
    checkpoint_template(params, episodes_done, meta) -> a tree like the saved arrays (anything with `shape` and
      `dtype`), for restoring them.
    from_checkpoint(arrays) -> retained.
  """

  name: str
  required: tuple[str, ...]
  defaults: Mapping[str, Any]
  start: Callable
  episode_inputs: Callable
  end_episode: Callable = _unchanged
  task_weight: Callable = lambda inputs: 1.0
  needs_features: bool = False
  output_penalty: Callable | None = None
  parameter_penalty: Callable | None = None
  frozen: Callable | None = None
  track_start: Callable = _nothing
  track_update: Callable | None = None
  batches: Callable | None = None
  to_checkpoint: Callable = _as_saved
  checkpoint_template: Callable = _nothing
  from_checkpoint: Callable = _identity

  def settings(self, section: Mapping | None) -> dict:
    """The strategy's settings from its config section (`config.continual.<name>`), with the defaults filled in.

    Raises:
      ValueError: naming a missing required setting or an unknown one.
    """
    section = section.to_dict() if hasattr(section, "to_dict") else dict(section or {})
    missing = [k for k in self.required if k not in section]
    unknown = sorted(set(section) - set(self.required) - set(self.defaults))
    if missing or unknown:
      problems = ([f"missing {', '.join(map(repr, missing))}"] if missing else []) + (
        [f"unknown {', '.join(map(repr, unknown))}"] if unknown else []
      )
      raise ValueError(
        f"config.continual.{self.name}: {'; '.join(problems)}. "
        f"Settings of {self.name}: {', '.join(self.required)} (required), "
        f"{', '.join(f'{k}={v!r}' for k, v in self.defaults.items()) or 'no optional ones'}."
      )
    return dict(self.defaults) | section


def _previous_network(start: EpisodeStart) -> dict:
  return {"params": start.params, "model_state": start.model_state}


# ---- Replay ------------------------------------------------------------------------------------------------------
def _replay_batches(new_batches, memory: replay.Memory, settings, data: EpisodeData):
  """The new data's batches each followed by `min(memory_batch_size, |memory|)` examples of the memory, drawn by a
  pipeline of their own (seed: the episode's + 500) for as many epochs of the memory as the episode needs."""
  if not len(memory):
    return new_batches
  memory_batch = min(settings["memory_batch_size"], len(memory))
  memory_epochs = math.ceil(data.total_steps / pipeline.steps_per_epoch(len(memory), memory_batch))
  stored = data.make_batches(
    memory.as_dataset(data.num_classes), batch_size=memory_batch, seed=data.seed + 500, num_epochs=memory_epochs
  )
  return replay.MixedBatches(new_batches, stored, data.sharding)


def _replay_end(end: EpisodeEnd) -> replay.Memory:
  rng = np.random.default_rng((end.seed, end.episode))
  return replay.update(end.retained, end.train_data, end.settings["memory_size"], rng)


def _replay_to_checkpoint(memory: replay.Memory):
  arrays = {"images": memory.images, "labels": memory.labels, "keys": memory.keys}
  return arrays, {"images": [list(memory.images.shape), str(memory.images.dtype)]}


def _replay_template(params, episodes_done: int, meta: dict):
  shape, dtype = meta["images"]
  size = shape[0]
  return {
    "images": jax.ShapeDtypeStruct(tuple(shape), jnp.dtype(dtype)),
    "labels": jax.ShapeDtypeStruct((size,), jnp.int32),
    "keys": jax.ShapeDtypeStruct((size,), jnp.float32),
  }


def _on_host(x) -> np.ndarray:
  """A replicated array's value on this host (its first local copy holds all of it)."""
  return np.asarray(x.addressable_data(0)) if isinstance(x, jax.Array) else np.asarray(x)


REPLAY = Strategy(
  name="replay",
  required=("memory_size", "memory_batch_size"),
  defaults={},
  start=lambda params, train_data: replay.empty(train_data.images.shape[1:], train_data.images.dtype),
  episode_inputs=_nothing,
  end_episode=_replay_end,
  batches=_replay_batches,
  to_checkpoint=_replay_to_checkpoint,
  checkpoint_template=_replay_template,
  from_checkpoint=lambda arrays: replay.Memory(**{k: _on_host(v) for k, v in arrays.items()}),
)


# ---- EWC ---------------------------------------------------------------------------------------------------------
def _ewc_end(end: EpisodeEnd) -> dict:
  """Adds the anchor of the episode: its final parameters and the Fisher diagonal on its training set."""
  with end.train_batches() as batches:
    fisher = ewc.fisher_diagonal(end.loss_grad, end.params, batches)
  return {**end.retained, f"episode{end.episode}": {"fisher": fisher, "params": end.params}}


EWC = Strategy(
  name="ewc",
  required=("strength",),
  defaults={},
  start=lambda params, train_data: {},
  episode_inputs=lambda start: {"anchors": start.retained, "strength": jnp.float32(start.settings["strength"])},
  end_episode=_ewc_end,
  parameter_penalty=lambda params, inputs, settings: ewc.penalty(params, inputs["anchors"], inputs["strength"]),
  checkpoint_template=lambda params, episodes_done, meta: {
    f"episode{e}": {"fisher": params, "params": params} for e in range(episodes_done)
  },
)


# ---- SI ----------------------------------------------------------------------------------------------------------
def _si_end(end: EpisodeEnd) -> dict:
  importance = si.consolidate(
    end.retained["importance"], end.tracked["path"], end.start_params, end.params, end.settings["damping"]
  )
  return {"importance": importance, "anchor": end.params}


SI = Strategy(
  name="si",
  required=("strength", "damping"),
  defaults={"max_importance": None},
  start=lambda params, train_data: {"importance": si.zeros_like(params), "anchor": params},
  episode_inputs=lambda start: {
    "importance": start.retained["importance"],
    "anchor": start.retained["anchor"],
    "strength": jnp.float32(start.settings["strength"]),
  },
  end_episode=_si_end,
  parameter_penalty=lambda params, inputs, settings: si.penalty(
    params, inputs["importance"], inputs["anchor"], inputs["strength"], max_importance=settings["max_importance"]
  ),
  track_start=lambda params: {"path": si.zeros_like(params)},
  track_update=lambda tracked, grads, old, new: {"path": si.accumulate_path(tracked["path"], grads, old, new)},
  checkpoint_template=lambda params, episodes_done, meta: {"importance": params, "anchor": params},
)


# ---- LFL ---------------------------------------------------------------------------------------------------------
LFL = Strategy(
  name="lfl",
  required=("strength",),
  defaults={},
  start=lambda params, train_data: {},
  episode_inputs=lambda start: {
    "previous": _previous_network(start),
    "strength": jnp.float32(for_episode(start.settings["strength"], start.episode)),
    "frozen": lfl.head_mask(start.params),
  },
  needs_features=True,
  output_penalty=lambda outputs, previous, inputs, settings: (
    inputs["strength"] * lfl.feature_distance(outputs.features, previous.features)
  ),
  frozen=lambda inputs: inputs["frozen"],
)


# ---- LwF ---------------------------------------------------------------------------------------------------------
def _lwf_inputs(start: EpisodeStart) -> dict:
  """Weights of episode `t`: `alpha_t`, and `1 / (t + 1)` on the task loss with `scale_task_loss`."""
  task_weight = 1.0 / (start.episode + 1) if start.settings["scale_task_loss"] else 1.0
  return {
    "previous": _previous_network(start),
    "seen": jnp.asarray(start.seen_classes),
    "alpha": jnp.float32(for_episode(start.settings["alpha"], start.episode)),
    "task_weight": jnp.float32(task_weight),
  }


LWF = Strategy(
  name="lwf",
  required=("alpha",),
  defaults={"temperature": 2.0, "scale_task_loss": False},
  start=lambda params, train_data: {},
  episode_inputs=_lwf_inputs,
  task_weight=lambda inputs: inputs["task_weight"],
  output_penalty=lambda outputs, previous, inputs, settings: (
    inputs["alpha"] * lwf.distillation_loss(outputs.logits, previous.logits, settings["temperature"], inputs["seen"])
  ),
)


_STRATEGIES = {s.name: s for s in (REPLAY, EWC, SI, LFL, LWF)}


def names() -> list[str]:
  """The registered strategy names."""
  return list(_STRATEGIES)


def get(name: str) -> Strategy:
  """The strategy `name` (`config.continual.strategy`)."""
  if name not in _STRATEGIES:
    raise ValueError(f"Unknown continual.strategy {name!r}. Valid: {', '.join(names())}.")
  return _STRATEGIES[name]


__all__ = [
  "EWC",
  "LFL",
  "LWF",
  "REPLAY",
  "SI",
  "EpisodeData",
  "EpisodeEnd",
  "EpisodeStart",
  "Outputs",
  "Strategy",
  "for_episode",
  "get",
  "names",
]
