"""Training metrics, written by process 0 as JSON lines and TensorBoard event files.

`<workdir>/metrics.jsonl` holds one JSON object per line, `{"step": ..., "epoch": ..., "<name>": <float>, ...}`, floats
at full precision; `<workdir>/tensorboard/` holds the same scalars as TensorBoard events (written with tensorboardX,
no TensorFlow needed).

Both are written synchronously, in the training thread: a write that fails (disk full, permissions) raises there and
stops the run with the error, rather than leaving a background writer dead and the trainer blocked on its queue.
"""

import json
import os
import time
import warnings

from tensorboardX.event_file_writer import EventsWriter
from tensorboardX.proto.event_pb2 import Event, SessionLog
from tensorboardX.summary import scalar


class MetricsLog:
  """Appends one record per `write` to the JSON-lines file and the TensorBoard events.

  On resume from step `resume_step`, records of later steps (written after the checkpoint the run resumes from)
  are removed first, so the log reads as if the run had never been interrupted; so are lines that do not parse
  (a crash in the middle of an append), with a warning naming the file. TensorBoard hides the later events of
  earlier event files (a purge marker at `resume_step + 1`).
  """

  def __init__(self, workdir: str, *, resume_step: int = 0, enabled: bool = True):
    self.path = os.path.join(workdir, "metrics.jsonl")
    self.enabled = enabled
    self._events = None
    if not enabled:
      return
    if os.path.exists(self.path):
      self._truncate(resume_step)
    folder = os.path.join(workdir, "tensorboard")
    os.makedirs(folder, exist_ok=True)
    self._events = EventsWriter(os.path.join(folder, "events"))
    if resume_step:  # TensorBoard drops the events of steps >= the purge step written before it
      self._events.write_event(Event(step=resume_step + 1, session_log=SessionLog(status=SessionLog.START)))
    self._events.flush()

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
      warnings.warn(f"{self.path}: dropped line(s) {damaged} that do not parse (an interrupted write).", stacklevel=3)
    with open(self.path + ".tmp", "w") as f:
      f.writelines(kept)
    os.replace(self.path + ".tmp", self.path)

  def write(self, step: int, epoch: float, metrics: dict) -> None:
    if not self.enabled:
      return
    record = {"step": int(step), "epoch": float(epoch)} | {k: float(v) for k, v in metrics.items()}
    with open(self.path, "a") as f:
      f.write(json.dumps(record) + "\n")
    wall_time = time.time()
    for name, value in record.items():
      if name != "step":
        self._events.write_event(Event(wall_time=wall_time, step=int(step), summary=scalar(name, value)))
    self._events.flush()

  def close(self) -> None:
    if self._events is not None:
      self._events.close()
      self._events = None
