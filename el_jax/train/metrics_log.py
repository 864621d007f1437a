"""Training metrics, written by process 0 as JSON lines and TensorBoard event files.

`<workdir>/metrics.jsonl` holds one JSON object per line, `{"step": ..., "epoch": ..., "<name>": <float>, ...}`, floats
at full precision; `<workdir>/tensorboard/` holds the same scalars as TensorBoard events (written with tensorboardX,
no TensorFlow needed).
"""

import json
import os

from tensorboardX import SummaryWriter


class MetricsLog:
  """Appends one record per `write` to the JSON-lines file and the TensorBoard events.

  On resume from step `resume_step`, records of later steps (written after the checkpoint the run resumes from)
  are removed first, so the log reads as if the run had never been interrupted.
  """

  def __init__(self, workdir: str, *, resume_step: int = 0, enabled: bool = True):
    self.path = os.path.join(workdir, "metrics.jsonl")
    self.enabled = enabled
    self._events = None
    if not enabled:
      return
    if os.path.exists(self.path):
      with open(self.path) as f:
        kept = [line for line in f if line.strip() and json.loads(line)["step"] <= resume_step]
      with open(self.path, "w") as f:
        f.writelines(kept)
    self._events = SummaryWriter(
      os.path.join(workdir, "tensorboard"), purge_step=resume_step + 1 if resume_step else None
    )

  def write(self, step: int, epoch: float, metrics: dict) -> None:
    if not self.enabled:
      return
    record = {"step": int(step), "epoch": float(epoch)} | {k: float(v) for k, v in metrics.items()}
    with open(self.path, "a") as f:
      f.write(json.dumps(record) + "\n")
    for name, value in record.items():
      if name not in ("step",):
        self._events.add_scalar(name, value, int(step))

  def close(self) -> None:
    if self._events is not None:
      self._events.close()
