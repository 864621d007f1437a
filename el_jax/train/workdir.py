"""A run's folder and every file in it, written and read through one type.

<workdir>/config.json      the run's config (process 0 writes it when the run starts)
<workdir>/model.json       how to rebuild the model (`setup.ModelSpec`), for evaluation
<workdir>/checkpoints/     Orbax checkpoints, one folder per step (`el_jax.train.checkpoint`)
<workdir>/metrics.jsonl    training and evaluation metrics, one JSON object per line (`metrics_log`)
<workdir>/tensorboard/     the same metrics as TensorBoard events
<workdir>/<name>.json      results written whole (e.g. a study's `result.json`, `continual_results.json`)
<workdir>/lock.json        while a trainer runs: its host and process id (`Workdir.lock`)
"""

import contextlib
import json
import os
import socket
import warnings

from flax import nnx

from el_jax.train import checkpoint
from el_jax.train.metrics_log import MetricsLog
from el_jax.train.setup import ModelSpec

CONFIG_NAME = "config.json"
MODEL_NAME = "model.json"
CHECKPOINTS_NAME = "checkpoints"
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

  def resume_point(self, manager, config: dict) -> tuple[int, dict]:
    """`(step, meta)` of the latest checkpoint, checked to come from `config`'s experiment; `(0, {})` when there
    is none. Raises a ValueError naming the settings that differ (`checkpoint.check_resumable`)."""
    step = manager.latest_step() or 0
    if not step:
      return 0, {}
    meta = checkpoint.read_meta(manager, step)
    checkpoint.check_resumable(meta["config"], config, where=self.path)
    return step, meta

  def metrics_log(self, *, resume_step: int = 0, enabled: bool = True) -> MetricsLog:
    """The metrics log, with the records after `resume_step` removed (see `MetricsLog`)."""
    return MetricsLog(self.path, resume_step=resume_step, enabled=enabled)

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
      return json.load(f)

  # ---- A finished run ------------------------------------------------------------------------------------------
  def read_config(self) -> dict:
    return self.read_json(CONFIG_NAME)

  def model_spec(self) -> ModelSpec:
    return ModelSpec.from_json(self.read_json(MODEL_NAME))

  def load_model(self, step: int | None = None) -> tuple[nnx.Module, int]:
    """The trained model, in evaluation mode, and the step of the checkpoint it comes from (the latest unless
    `step`; for a continual run, the episode).

    Raises:
      FileNotFoundError: if the workdir has no model record or no checkpoint.
    """
    model = self.model_spec().create()
    with self.checkpoints(max_to_keep=None) as manager:
      step = manager.latest_step() if step is None else step
      if step is None:
        raise FileNotFoundError(f"{self.join(CHECKPOINTS_NAME)} holds no checkpoint to load.")
      checkpoint.restore_model(manager, step, model)
    model.eval()
    return model, step
