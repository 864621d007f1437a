"""Orbax checkpoints of the train state, with automatic resume from a workdir's latest one.

A checkpoint (`<workdir>/checkpoints/<step>/`) holds two items, committed atomically (written to a temporary folder,
then renamed): `state`, the train state of el_jax.train.step (parameters, model state, optimiser state, step, RNG), and
`meta`, JSON with the run's config and the data position `{"seed", "next_step"}`. The input pipeline's batch for step
`s` is a pure function of `(seed, s)` (el_jax.data.pipeline), so the step is the data iterator's whole state.
Every process takes part in a save; Orbax writes each array's shards from the processes that hold them.

Integrity: `save` records in `meta["checksums"]` two 32-bit checksums of the bits of every top-level item of the state
(`checksums`), computed on the devices before the write; `restore` and `restore_model` recompute them on what they
read and raise `CorruptCheckpoint` on a mismatch, so a damaged file is never trained on or evaluated silently.
"""

import json
import os

import jax
import jax.numpy as jnp
import orbax.checkpoint as ocp
from flax import nnx


class CorruptCheckpoint(ValueError):
  """A checkpoint that cannot be read, or whose arrays differ from the checksums recorded when it was saved."""


_GOLDEN = 0x9E3779B1  # odd multiplier (2^32 / golden ratio): the positional weights 1 + i * _GOLDEN are distinct


def _bits(x):
  """The bits of `x` as uint32 per element (bool and 8-, 16- and 32-bit types)."""
  x = jnp.asarray(x)
  if x.dtype == jnp.bool_:
    return x.astype(jnp.uint32)
  unsigned = {1: jnp.uint8, 2: jnp.uint16, 4: jnp.uint32}[x.dtype.itemsize]
  return jax.lax.bitcast_convert_type(x, unsigned).astype(jnp.uint32)


def _leaf_checksum(x):
  """`(sum b_i, sum b_i (1 + i * _GOLDEN))` mod 2^32 over the bits `b` of `x`: any change of one element changes the
  first, and a swap of two elements the second. Integer sums wrap, so the result does not depend on the sharding."""
  bits = _bits(x).ravel()
  weights = jnp.arange(bits.size, dtype=jnp.uint32) * jnp.uint32(_GOLDEN) + jnp.uint32(1)
  return jnp.stack([jnp.sum(bits, dtype=jnp.uint32), jnp.sum(bits * weights, dtype=jnp.uint32)])


@jax.jit
def _item_checksums(state: dict) -> dict:
  # One compiled function for the whole state (compiled once per run, about 0.3 s for the quickstart's LeNet).
  return {name: [_leaf_checksum(leaf) for leaf in jax.tree.leaves(item)] for name, item in state.items()}


def checksums(state: dict) -> dict:
  """`{item: [checksum, ...]}` for each top-level item of `state` (e.g. params, opt_state): two uint32 per leaf."""
  found = jax.device_get(_item_checksums(state))
  return {name: [int(v) for leaf in leaves for v in leaf] for name, leaves in found.items()}


def _verify(step: int, restored: dict, recorded: dict | None) -> None:
  if recorded is None:  # a checkpoint written before checksums were recorded
    return
  found = checksums(restored)
  bad = sorted(name for name in found if name in recorded and found[name] != recorded[name])
  if bad:
    raise CorruptCheckpoint(f"checkpoint {step}: the arrays of {', '.join(bad)} differ from those saved (damaged).")


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
    "writers",
    "wandb",
  }
)


AVERAGED_KEY = "averaged_steps"  # in an averaged model's meta (el_jax.train.averaging): the steps it is the mean of


def is_averaged(meta: dict) -> bool:
  """Whether a checkpoint's meta is that of an averaged model (`averaging.average_checkpoints`): its model only,
  for evaluation, without the optimiser state that training would resume from."""
  return AVERAGED_KEY in meta


def manager(directory: str, *, max_to_keep: int | None) -> ocp.CheckpointManager:
  """A `CheckpointManager` writing step-numbered, atomically committed, asynchronous checkpoints under `directory`."""
  options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True, enable_async_checkpointing=True)
  return ocp.CheckpointManager(os.path.abspath(directory), options=options)


def save(mngr: ocp.CheckpointManager, step: int, state: dict, meta: dict) -> None:
  """Starts saving `state` and the JSON `meta`, with the state's `checksums`, as checkpoint `step` (asynchronous;
  `wait_until_finished` joins)."""
  meta = dict(meta, checksums=checksums(state))
  mngr.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)))


def _unreadable(step: int, error: Exception) -> CorruptCheckpoint:
  """The error for checkpoint `step` that raised `error` on reading: one line, since TensorStore's messages span many
  and the caller's warning names the folder the checkpoint was moved to after it."""
  detail = " ".join(str(error).split())[:300]
  return CorruptCheckpoint(f"checkpoint {step} cannot be read: {type(error).__name__}: {detail}")


def restore(mngr: ocp.CheckpointManager, step: int, abstract_state: dict, meta: dict):
  """Checkpoint `step`'s state, laid out as `abstract_state` says (`jax.ShapeDtypeStruct`s with shardings), verified
  against the checksums of its `meta` (`read_meta`). Raises `CorruptCheckpoint` if it cannot be read or differs."""
  try:
    state = mngr.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state)))["state"]
  except Exception as e:  # Orbax and TensorStore raise many types for damaged files
    raise _unreadable(step, e) from e
  _verify(step, state, meta.get("checksums"))
  return state


def read_meta(mngr: ocp.CheckpointManager, step: int) -> dict:
  """Checkpoint `step`'s JSON meta. Raises `CorruptCheckpoint` if it cannot be read."""
  try:
    meta = mngr.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]
  except Exception as e:
    raise CorruptCheckpoint(f"checkpoint {step} has no readable meta: {type(e).__name__}: {str(e)[:300]}") from e
  if not isinstance(meta, dict) or "config" not in meta:
    raise CorruptCheckpoint(f"checkpoint {step} has no readable meta (no config in it).")
  return meta


def differing_settings(saved: dict, current: dict, *, may_differ=frozenset()) -> list[tuple[str, object, object]]:
  """`[(key, saved value, current value)]` of the dotted settings in which two configs (or any JSON-like trees of
  settings) differ, sorted by key, leaving out `may_differ` (dotted keys, compared as whole subtrees).

  Values compare as JSON holds them (a tuple equals the list a saved JSON file holds), and a setting absent from
  one side matches None on the other: an optional setting added to the configs later is off in both. The one
  comparison behind a checkpoint's resume check and a study result's reuse check.
  """

  def flat(tree, prefix=""):
    out = {}
    for key, value in tree.items():
      if isinstance(value, dict) and f"{prefix}{key}" not in may_differ:
        out |= flat(value, f"{prefix}{key}.")
      else:
        out[f"{prefix}{key}"] = value
    return out

  saved, current = (flat(json.loads(json.dumps(tree))) for tree in (saved, current))
  keys = sorted(k for k in saved.keys() | current.keys() if k not in may_differ and saved.get(k) != current.get(k))
  return [(k, saved.get(k, "<absent>"), current.get(k, "<absent>")) for k in keys]


def check_resumable(saved_config: dict, config: dict, *, where: str) -> None:
  """Raises a ValueError naming every setting in which `config` differs from the checkpoint's `saved_config`.

  Only the settings in `RESUMABLE_KEYS` (run length, logging and its writers, evaluation, precision, mesh) may change
  on resume. A setting absent from one side matches None on the other: an optional setting added to the configs after
  a checkpoint was written (e.g. `dataset.long_tail_ratio`) is off in both. Values compare as JSON values (a tuple
  equals the list the checkpoint's JSON holds).
  """
  differing = differing_settings(saved_config, config, may_differ=RESUMABLE_KEYS)
  if differing:
    details = "; ".join(f"{k}: checkpoint {saved!r}, now {now!r}" for k, saved, now in differing)
    raise ValueError(
      f"{where} holds a checkpoint of a different experiment ({details}). Use a new --workdir, or pass overrides "
      "that match the checkpoint's config (saved in its config.json)."
    )


def restore_model(mngr: ocp.CheckpointManager, step: int, model: nnx.Module) -> None:
  """Loads checkpoint `step`'s parameters and model state (e.g. BatchNorm statistics) into `model` in place, verified
  against the checksums recorded at save time, leaving the rest of the train state (optimiser, step, RNG) unread.
  Raises `CorruptCheckpoint` if it cannot be read or differs."""
  meta = read_meta(mngr, step)
  params, _, model_state = nnx.state(model, nnx.Param, nnx.RngState, ...)
  abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, {"params": params, "model_state": model_state})
  restore_args = ocp.checkpoint_utils.construct_restore_args(abstract)
  state_args = ocp.args.PyTreeRestore(abstract, restore_args=restore_args, partial_restore=True)
  try:
    restored = mngr.restore(step, args=ocp.args.Composite(state=state_args))["state"]
  except Exception as e:
    raise _unreadable(step, e) from e
  _verify(step, restored, meta.get("checksums"))
  nnx.update(model, restored["params"], restored["model_state"])
