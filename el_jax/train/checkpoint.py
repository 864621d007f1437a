"""Orbax checkpoints of the train state, with automatic resume from a workdir's latest one."""

import json
import os

import jax
import orbax.checkpoint as ocp
from flax import nnx

from el_jax import models


def manager(directory: str, *, max_to_keep: int) -> ocp.CheckpointManager:
  """A `CheckpointManager` writing step-numbered, atomically committed checkpoints under `directory`."""
  options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True)
  return ocp.CheckpointManager(os.path.abspath(directory), options=options)


def restore_latest(mngr: ocp.CheckpointManager, state):
  """The latest checkpointed state, laid out (shapes, dtypes, shardings) like `state`; `state` if none."""
  step = mngr.latest_step()
  if step is None:
    return state
  abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, state)
  return mngr.restore(step, args=ocp.args.StandardRestore(abstract))


def save(mngr: ocp.CheckpointManager, step: int, state) -> None:
  """Starts saving `state` as checkpoint `step` (asynchronously; `mngr.wait_until_finished()` joins)."""
  mngr.save(step, args=ocp.args.StandardSave(state))


_MODEL_SPEC = "model.json"


def write_model_spec(workdir: str, spec: dict) -> None:
  """Records how to rebuild the workdir's model: `{"name", "num_classes", "input_shape", "kwargs"}`."""
  with open(os.path.join(workdir, _MODEL_SPEC), "w") as f:
    json.dump(spec, f, indent=2)


def load_model(workdir: str, step: int | None = None) -> tuple[nnx.Module, int]:
  """The trained model of a workdir, in evaluation mode, and the step of the checkpoint it comes from.

  Args:
    workdir: a folder written by `train.py`.
    step: the checkpoint to load; the latest when None.

  Raises:
    FileNotFoundError: if the workdir has no model record or no checkpoint.
  """
  spec_path = os.path.join(workdir, _MODEL_SPEC)
  if not os.path.isfile(spec_path):
    raise FileNotFoundError(f"{spec_path} not found: {workdir} is not a workdir written by train.py.")
  with open(spec_path) as f:
    spec = json.load(f)
  model = models.create(
    spec["name"], num_classes=spec["num_classes"], input_shape=tuple(spec["input_shape"]), **spec["kwargs"]
  )
  with manager(os.path.join(workdir, "checkpoints"), max_to_keep=None) as mngr:
    step = mngr.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError(f"{workdir}/checkpoints holds no checkpoint to load.")
    params, model_state = nnx.state(model, nnx.Param, ...)
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, {"params": params, "model_state": model_state})
    restore_args = ocp.checkpoint_utils.construct_restore_args(abstract)
    restored = mngr.restore(
      step, args=ocp.args.PyTreeRestore(abstract, restore_args=restore_args, partial_restore=True)
    )
  nnx.update(model, restored["params"], restored["model_state"])
  model.eval()
  return model, step
