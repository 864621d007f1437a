"""A run's folder and every file in it, written and read through one type.

<workdir>/config.json      the run's config (process 0 writes it when the run starts)
<workdir>/model.json       how to rebuild the model (`setup.ModelSpec`), for evaluation
<workdir>/checkpoints/     Orbax checkpoints, one folder per step (`el_jax.train.checkpoint`)
<workdir>/checkpoints_set_aside/  checkpoints that could not be restored or failed their checksums, moved there
<workdir>/metrics.jsonl    training and evaluation metrics, one JSON object per line (`metrics_log`)
<workdir>/tensorboard/     the same metrics as TensorBoard events (`config.writers`), and under `plugins/profile/`
                           the traces of `--profile_steps`
<workdir>/wandb/           the Weights & Biases run, when `config.writers` names "wandb"; its id in `wandb_run_id.txt`
<workdir>/<name>.json      results written whole (e.g. a study's `result.json`, `continual_results.json`)
<workdir>/lock.json        while a trainer runs: its host and process id (`Workdir.lock`)
"""

import contextlib
import itertools
import json
import os
import socket
import warnings

import jax
from flax import nnx
from jax.experimental import multihost_utils

from el_jax.train import checkpoint
from el_jax.train.metrics_log import DEFAULT_WRITERS, MetricsLog
from el_jax.train.setup import ModelSpec

CONFIG_NAME = "config.json"
MODEL_NAME = "model.json"
CHECKPOINTS_NAME = "checkpoints"
SET_ASIDE_NAME = "checkpoints_set_aside"
LOCK_NAME = "lock.json"


class WorkdirLocked(RuntimeError):
  """Another trainer holds the workdir."""


def _process_alive(pid) -> bool:
  if not isinstance(pid, int) or pid <= 0:
    return True  # not a process id this host can check: never taken over
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:  # alive, another user's
    return True
  return True


def _read_lock(path: str) -> dict | None:
  """The holder recorded in a lock file; {} when there is none; None when the file cannot be parsed."""
  try:
    with open(path) as f:
      holder = json.load(f)
  except FileNotFoundError:
    return {}
  except ValueError:
    return None
  return holder if isinstance(holder, dict) else None


class Workdir:
  """The folder `path` of one run."""

  def __init__(self, path: str):
    self.path = str(path)

  def __repr__(self) -> str:
    return f"Workdir({self.path!r})"

  def join(self, name: str) -> str:
    return os.path.join(self.path, name)

  # ---- Starting a run ------------------------------------------------------------------------------------------
  @contextlib.contextmanager
  def lock(self, *, enabled: bool = True):
    """Holds `<workdir>/lock.json` (this host and process id) while the block runs: one trainer per workdir.

    A second trainer fails at once with `WorkdirLocked`, naming the holder. A lock left by a process of this host that
    no longer runs (e.g. killed with -9) is taken over with a warning; one from another host is never taken over (its
    process cannot be checked from here): delete the file once that trainer is known to have stopped. On several
    processes only process 0 takes it (`enabled`).
    """
    if not enabled:
      yield
      return
    os.makedirs(self.path, exist_ok=True)
    path, record = self.join(LOCK_NAME), {"host": socket.gethostname(), "pid": os.getpid()}
    while True:
      try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        break
      except FileExistsError:
        holder = _read_lock(path)
        if holder == {}:  # released in the meantime
          continue
        stale = holder is not None and holder.get("host") == record["host"] and not _process_alive(holder.get("pid"))
        if not stale:
          raise WorkdirLocked(
            f"{self.path} is in use by another trainer ({holder if holder else 'an unreadable lock'}, in {path}). "
            "Wait for it to finish or use another --workdir; if that trainer has stopped, delete the lock file."
          ) from None
        warnings.warn(f"{path}: taking over the lock of process {holder['pid']}, which no longer runs.", stacklevel=3)
        with contextlib.suppress(FileNotFoundError):  # another trainer took it over first: retry against its lock
          os.replace(path, path + ".stale")
    with os.fdopen(fd, "w") as f:
      json.dump(record, f)
    try:
      yield
    finally:
      if _read_lock(path) == record:
        os.remove(path)

  def start(self, config: dict, spec: ModelSpec, *, chief: bool = True) -> None:
    """Creates the folder and, on process 0 (`chief`), records the run's config and model."""
    os.makedirs(self.path, exist_ok=True)
    if chief:
      self.write_json(CONFIG_NAME, config)
      self.write_json(MODEL_NAME, spec.to_json())

  def checkpoints(self, *, max_to_keep: int | None):
    """The run's Orbax `CheckpointManager` (`checkpoint.manager`) over `<workdir>/checkpoints`."""
    return checkpoint.manager(self.join(CHECKPOINTS_NAME), max_to_keep=max_to_keep)

  def resume(self, manager, config: dict, abstract_state, *, chief: bool = True) -> tuple[int, object, dict]:
    """`(step, state, meta)` of the newest intact checkpoint; `(0, None, {})` when there is none.

    `abstract_state(step, meta)` gives the tree to restore into (`jax.ShapeDtypeStruct`s with shardings). A
    checkpoint that cannot be read or fails its checksums (`checkpoint.CorruptCheckpoint`) is moved, not deleted, to
    `<workdir>/checkpoints_set_aside/`, with a warning naming it, and the next older one is tried.

    Raises:
      ValueError: naming the settings in which `config` differs from the checkpoint's (`check_resumable`), or when
        the workdir holds an averaged model (`checkpoint.is_averaged`).
      CorruptCheckpoint: if there were checkpoints and none is intact (after setting them all aside).
    """
    set_aside = []
    for step in sorted(manager.all_steps(), reverse=True):
      try:
        meta = checkpoint.read_meta(manager, step)
        if checkpoint.is_averaged(meta):
          raise ValueError(
            f"{self.path} holds an average of checkpoints {meta[checkpoint.AVERAGED_KEY]} (a model to evaluate, "
            "without optimiser state): train in the run's own workdir, or in a new --workdir."
          )
        checkpoint.check_resumable(meta["config"], config, where=self.path)
        return step, checkpoint.restore(manager, step, abstract_state(step, meta), meta), meta
      except checkpoint.CorruptCheckpoint as e:
        set_aside.append(self._set_aside(manager, step, e, chief=chief))
    if set_aside:
      raise checkpoint.CorruptCheckpoint(
        f"{self.path} holds no intact checkpoint: {', '.join(set_aside)} could not be restored and were set aside. "
        "Rerun the same command to train from the start, or put back a copy of the checkpoints you trust."
      )
    return 0, None, {}

  def _set_aside(self, manager, step: int, error: Exception, *, chief: bool) -> str:
    """Moves checkpoint `step` to `<workdir>/checkpoints_set_aside/` (process 0; the others wait for it)."""
    folder = self.join(SET_ASIDE_NAME)
    target = os.path.join(folder, str(step))
    for copy in itertools.count(1):
      if not os.path.exists(target):
        break
      target = os.path.join(folder, f"{step}.{copy}")
    if chief:
      os.makedirs(folder, exist_ok=True)
      os.replace(os.path.join(str(manager.directory), str(step)), target)
      warnings.warn(
        f"{error} It was moved to {target}; resuming from an older checkpoint if one is intact.", stacklevel=3
      )
    if jax.process_count() > 1:
      multihost_utils.sync_global_devices(f"set aside checkpoint {step}")
    manager.reload()
    return target

  def metrics_log(self, config: dict | None = None, *, resume_step: int = 0, enabled: bool = True) -> MetricsLog:
    """The metrics log of the run's `config` (its `writers`, default `DEFAULT_WRITERS`), with the records after
    `resume_step` removed (see `MetricsLog`)."""
    writers = (config or {}).get("writers") or DEFAULT_WRITERS
    return MetricsLog(self.path, resume_step=resume_step, enabled=enabled, writers=writers, config=config)

  # ---- Whole files ---------------------------------------------------------------------------------------------
  def write_json(self, name: str, value) -> str:
    """Writes `value` as `<workdir>/<name>` atomically (a reader sees the old file or the new one); returns the path."""
    path = self.join(name)
    with open(path + ".tmp", "w") as f:
      json.dump(value, f, indent=2)
    os.replace(path + ".tmp", path)
    return path

  def read_json(self, name: str):
    path = self.join(name)
    if not os.path.isfile(path):
      raise FileNotFoundError(f"{path} not found: {self.path} is not a workdir written by train.py.")
    with open(path) as f:
      try:
        return json.load(f)
      except ValueError as e:
        raise ValueError(
          f"{path} is damaged ({e}); it is written when a run starts: rerun train.py to rewrite it."
        ) from None

  # ---- A finished run ------------------------------------------------------------------------------------------
  def read_config(self) -> dict:
    return self.read_json(CONFIG_NAME)

  def model_spec(self) -> ModelSpec:
    return ModelSpec.from_json(self.read_json(MODEL_NAME))

  def load_model(self, step: int | None = None) -> tuple[nnx.Module, int]:
    """The trained model, in evaluation mode, and the step of the checkpoint it comes from (the latest unless
    `step`; for a continual run, the episode).

    Without `step`, a checkpoint that cannot be read or fails its checksums is skipped, with a warning naming it, for
    the next older one (left where it is: a trainer may be using the workdir).

    Raises:
      FileNotFoundError: if the workdir has no model record or no checkpoint.
      CorruptCheckpoint: if checkpoint `step`, or with no `step` every checkpoint, cannot be restored.
    """
    model = self.model_spec().create()
    with self.checkpoints(max_to_keep=None) as manager:
      steps = sorted(manager.all_steps(), reverse=True) if step is None else [step]
      if not steps:
        raise FileNotFoundError(f"{self.join(CHECKPOINTS_NAME)} holds no checkpoint to load.")
      for candidate in steps:
        try:
          checkpoint.restore_model(manager, candidate, model)
          break
        except checkpoint.CorruptCheckpoint as e:
          if step is not None or candidate == steps[-1]:
            raise
          warnings.warn(f"{e} Loading an older checkpoint.", stacklevel=2)
    model.eval()
    return model, candidate
