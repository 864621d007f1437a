"""Orbax checkpoints of the train state, with automatic resume from a workdir's latest one.

A checkpoint (`<workdir>/checkpoints/<step>/`) holds two items, committed atomically (written to a temporary folder,
then renamed): `state`, the train state of el_jax.train.step (parameters, model state, optimiser state, step, RNG), and
`meta`, JSON with the run's config and the data position `{"seed", "next_step"}`. The input pipeline's batch for step
`s` is a pure function of `(seed, s)` (el_jax.data.pipeline), so the step is the data iterator's whole state.
Every process takes part in a save; Orbax writes each array's shards from the processes that hold them.
"""

import json
import os

import jax
import orbax.checkpoint as ocp
from flax import nnx

# Config entries that may differ between a checkpoint and the run resuming it; any other difference means the
# checkpoint belongs to another experiment.
RESUMABLE_KEYS = frozenset(
  {
    "num_epochs",
    "log_every_steps",
    "checkpoint_every_steps",
    "checkpoint_keep",
    "eval_batch_size",
    "evals",
    "compute_dtype",
    "mesh",
    "dataset.eval_split",
    "dataset.eval_subset",
  }
)


def manager(directory: str, *, max_to_keep: int | None) -> ocp.CheckpointManager:
  """A `CheckpointManager` writing step-numbered, atomically committed, asynchronous checkpoints under `directory`."""
  options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True, enable_async_checkpointing=True)
  return ocp.CheckpointManager(os.path.abspath(directory), options=options)


def save(mngr: ocp.CheckpointManager, step: int, state, meta: dict) -> None:
  """Starts saving `state` and the JSON `meta` as checkpoint `step` (asynchronous; `wait_until_finished` joins)."""
  mngr.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)))


def restore(mngr: ocp.CheckpointManager, step: int, abstract_state):
  """Checkpoint `step`'s state, laid out as `abstract_state` says (`jax.ShapeDtypeStruct`s with shardings)."""
  return mngr.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state)))["state"]


def read_meta(mngr: ocp.CheckpointManager, step: int) -> dict:
  return mngr.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]


def _flatten(tree: dict, prefix: str = "") -> dict:
  out = {}
  for key, value in tree.items():
    if isinstance(value, dict) and f"{prefix}{key}" not in RESUMABLE_KEYS:
      out |= _flatten(value, f"{prefix}{key}.")
    else:
      out[f"{prefix}{key}"] = value
  return out


def check_resumable(saved_config: dict, config: dict, *, where: str) -> None:
  """Raises a ValueError naming every setting in which `config` differs from the checkpoint's `saved_config`.

  Only the settings in `RESUMABLE_KEYS` (run length, logging, evaluation, precision, mesh) may change on resume. A
  setting absent from one side matches None on the other: an optional setting added to the configs after a
  checkpoint was written (e.g. `dataset.long_tail_ratio`) is off in both. Values compare as JSON values (a tuple
  equals the list the checkpoint's JSON holds).
  """
  # Compared as JSON holds them: the saved config's lists are the current config's tuples.
  saved, current = (_flatten(json.loads(json.dumps(c))) for c in (saved_config, config))
  differing = sorted(
    key for key in saved.keys() | current.keys() if key not in RESUMABLE_KEYS and saved.get(key) != current.get(key)
  )
  if differing:
    details = "; ".join(
      f"{k}: checkpoint {saved.get(k, '<absent>')!r}, now {current.get(k, '<absent>')!r}" for k in differing
    )
    raise ValueError(
      f"{where} holds a checkpoint of a different experiment ({details}). Use a new --workdir, or pass overrides "
      "that match the checkpoint's config (saved in its config.json)."
    )


def restore_model(mngr: ocp.CheckpointManager, step: int, model: nnx.Module) -> None:
  """Loads checkpoint `step`'s parameters and model state (e.g. BatchNorm statistics) into `model` in place,
  leaving the rest of the train state (optimiser, step, RNG) unread."""
  params, _, model_state = nnx.state(model, nnx.Param, nnx.RngState, ...)
  abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, {"params": params, "model_state": model_state})
  restore_args = ocp.checkpoint_utils.construct_restore_args(abstract)
  state_args = ocp.args.PyTreeRestore(abstract, restore_args=restore_args, partial_restore=True)
  restored = mngr.restore(step, args=ocp.args.Composite(state=state_args))["state"]
  nnx.update(model, restored["params"], restored["model_state"])
