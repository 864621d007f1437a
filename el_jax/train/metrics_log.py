"""Metrics as JSON lines: `{"step": ..., "epoch": ..., "<name>": <float>, ...}` per line, appended."""

import json
import os


class MetricsLog:
  """Appends one JSON object per call to `path`.

  On resume from step `resume_step`, lines of later steps (written after the checkpoint the run resumes from)
  are removed first, so the log reads as if the run had never been interrupted.
  """

  def __init__(self, path: str, *, resume_step: int = 0, enabled: bool = True):
    self.path = path
    self.enabled = enabled
    if enabled and os.path.exists(path):
      with open(path) as f:
        kept = [line for line in f if line.strip() and json.loads(line)["step"] <= resume_step]
      with open(path, "w") as f:
        f.writelines(kept)

  def write(self, step: int, epoch: float, metrics: dict) -> None:
    if not self.enabled:
      return
    record = {"step": int(step), "epoch": float(epoch)} | {k: float(v) for k, v in metrics.items()}
    with open(self.path, "a") as f:
      f.write(json.dumps(record) + "\n")
