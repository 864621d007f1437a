"""Orbax checkpoints of the train state, with automatic resume from a workdir's latest one."""

import os

import jax
import orbax.checkpoint as ocp


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
