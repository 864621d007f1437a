"""A run's folder and every file in it, written and read through one type.

<workdir>/config.json      the run's config (process 0 writes it when the run starts)
<workdir>/model.json       how to rebuild the model (`setup.ModelSpec`), for evaluation
<workdir>/checkpoints/     Orbax checkpoints, one folder per step (`el_jax.train.checkpoint`)
<workdir>/metrics.jsonl    training and evaluation metrics, one JSON object per line (`metrics_log`)
<workdir>/tensorboard/     the same metrics as TensorBoard events
<workdir>/<name>.json      results written whole (e.g. a study's `result.json`, `continual_results.json`)
"""

import json
import os

from flax import nnx

from el_jax.train import checkpoint
from el_jax.train.metrics_log import MetricsLog
from el_jax.train.setup import ModelSpec

CONFIG_NAME = "config.json"
MODEL_NAME = "model.json"
CHECKPOINTS_NAME = "checkpoints"


class Workdir:
  """The folder `path` of one run."""

  def __init__(self, path: str):
    self.path = str(path)

  def __repr__(self) -> str:
    return f"Workdir({self.path!r})"

  def join(self, name: str) -> str:
    return os.path.join(self.path, name)

  # ---- Starting a run ------------------------------------------------------------------------------------------
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
