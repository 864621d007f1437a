"""Training metrics, written by process 0 to the writers a run's `config.writers` names.

  jsonl        `<workdir>/metrics.jsonl`, one JSON object per line, `{"step": ..., "epoch": ..., "<name>": <float>}`,
               floats at full precision: the run's own record (resume truncates it; reports and tests read it), so
               every run writes it
  tensorboard  `<workdir>/tensorboard/`, the same scalars as TensorBoard events (written with tensorboardX, no
               TensorFlow needed)
  wandb        a Weights & Biases run (the `wandb` extra), in `<workdir>/wandb/`, offline unless
               `config.wandb.mode="online"`

All are written synchronously, in the training thread: a write that fails (disk full, permissions) raises there and
stops the run with the error, rather than leaving a background writer dead and the trainer blocked on its queue.
"""

import json
import os
import time
import uuid
import warnings

from tensorboardX.event_file_writer import EventsWriter
from tensorboardX.proto.event_pb2 import Event, SessionLog
from tensorboardX.summary import scalar

from el_jax import _extras

DEFAULT_WRITERS = ("jsonl", "tensorboard")
WANDB_ID_NAME = "wandb_run_id.txt"


class JsonlWriter:
  """Appends one record per `write` to `<workdir>/metrics.jsonl`.

  On resume from step `resume_step`, records of later steps (written after the checkpoint the run resumes from)
  are removed first, so the log reads as if the run had never been interrupted; so are lines that do not parse
  (a crash in the middle of an append), with a warning naming the file.
  """

  def __init__(self, workdir: str, *, resume_step: int = 0, config: dict | None = None):
    self.path = os.path.join(workdir, "metrics.jsonl")
    if os.path.exists(self.path):
      self._truncate(resume_step)

  def _truncate(self, resume_step: int) -> None:
    kept, damaged = [], []
    with open(self.path) as f:
      for number, line in enumerate(f, start=1):
        if not line.strip():
          continue
        try:
          record = json.loads(line)
        except ValueError:
          damaged.append(number)
          continue
        if record["step"] <= resume_step:
          kept.append(line if line.endswith("\n") else line + "\n")
    if damaged:
      warnings.warn(f"{self.path}: dropped line(s) {damaged} that do not parse (an interrupted write).", stacklevel=4)
    with open(self.path + ".tmp", "w") as f:
      f.writelines(kept)
    os.replace(self.path + ".tmp", self.path)

  def write(self, step: int, epoch: float, metrics: dict) -> None:
    with open(self.path, "a") as f:
      f.write(json.dumps({"step": step, "epoch": epoch} | metrics) + "\n")

  def close(self) -> None:
    pass


class TensorBoardWriter:
  """Writes each record's scalars (and `epoch`) as TensorBoard events in `<workdir>/tensorboard/`.

  On resume, TensorBoard hides the later events of earlier event files (a purge marker at `resume_step + 1`).
  """

  def __init__(self, workdir: str, *, resume_step: int = 0, config: dict | None = None):
    folder = os.path.join(workdir, "tensorboard")
    os.makedirs(folder, exist_ok=True)
    self._events = EventsWriter(os.path.join(folder, "events"))
    if resume_step:  # TensorBoard drops the events of steps >= the purge step written before it
      self._events.write_event(Event(step=resume_step + 1, session_log=SessionLog(status=SessionLog.START)))
    self._events.flush()

  def write(self, step: int, epoch: float, metrics: dict) -> None:
    wall_time = time.time()
    for name, value in ({"epoch": epoch} | metrics).items():
      self._events.write_event(Event(wall_time=wall_time, step=step, summary=scalar(name, value)))
    self._events.flush()

  def close(self) -> None:
    if self._events is not None:
      self._events.close()
      self._events = None


class WandbWriter:
  """Logs each record to a Weights & Biases run, at its step, with the run's config.

  Settings in `config["wandb"]`: `project`, `entity`, `mode` ("offline", the default: nothing leaves the machine;
  `wandb sync <workdir>/wandb/offline-run-*` uploads later; or "online") and `tags`. The run is named after the
  workdir and kept in `<workdir>/wandb/`; its id is stored in `<workdir>/wandb_run_id.txt`, so a resumed run continues
  the same W&B run. W&B keeps the first value logged at a step: the steps a resumed run repeats (those after its
  checkpoint) keep the values of the interrupted attempt there, while `metrics.jsonl` holds the new ones.
  """

  def __init__(self, workdir: str, *, resume_step: int = 0, config: dict | None = None):
    wandb = _extras.load("wandb", "wandb", "config.writers 'wandb'")
    config = config or {}
    settings = config.get("wandb") or {}
    id_path = os.path.join(workdir, WANDB_ID_NAME)
    if os.path.exists(id_path):
      with open(id_path) as f:
        run_id = f.read().strip()
    else:
      run_id = uuid.uuid4().hex[:16]
      with open(id_path + ".tmp", "w") as f:
        f.write(run_id + "\n")
      os.replace(id_path + ".tmp", id_path)
    self._run = wandb.init(
      project=settings.get("project"),
      entity=settings.get("entity"),
      mode=settings.get("mode") or "offline",
      tags=list(settings.get("tags") or ()),
      dir=workdir,
      name=os.path.basename(os.path.normpath(os.path.abspath(workdir))),
      id=run_id,
      resume="allow",
      config=config,
    )

  def write(self, step: int, epoch: float, metrics: dict) -> None:
    self._run.log({"epoch": epoch} | metrics, step=step)

  def close(self) -> None:
    if self._run is not None:
      self._run.finish()
      self._run = None


WRITERS = {"jsonl": JsonlWriter, "tensorboard": TensorBoardWriter, "wandb": WandbWriter}


def writer_class(name: str):
  """The writer class registered as `name`; a ValueError listing the valid names for an unknown one."""
  if name not in WRITERS:
    raise ValueError(f"Unknown metrics writer {name!r}. Valid: {', '.join(WRITERS)}.")
  return WRITERS[name]


class MetricsLog:
  """Writes one record per `write` to each of `writers` (names in `WRITERS`), in order; `close` closes them.

  `resume_step` is the step of the checkpoint the run resumes from (see `JsonlWriter` and `TensorBoardWriter` for what
  each does with it); `config` is the run's config as a dict (W&B logs it and reads its `wandb` section). On every
  process but 0 (`enabled=False`) it writes nothing.
  """

  def __init__(
    self,
    workdir: str,
    *,
    resume_step: int = 0,
    enabled: bool = True,
    writers=DEFAULT_WRITERS,
    config: dict | None = None,
  ):
    self.path = os.path.join(workdir, "metrics.jsonl")
    self.enabled = enabled
    classes = [writer_class(name) for name in writers]
    self._writers = []
    if not enabled:
      return
    try:
      for cls in classes:
        self._writers.append(cls(workdir, resume_step=resume_step, config=config))
    except BaseException:
      self.close()  # those already open
      raise

  def write(self, step: int, epoch: float, metrics: dict) -> None:
    step, epoch, metrics = int(step), float(epoch), {k: float(v) for k, v in metrics.items()}
    for writer in self._writers:
      writer.write(step, epoch, metrics)

  def close(self) -> None:
    writers, self._writers = self._writers, []
    for writer in writers:
      writer.close()
