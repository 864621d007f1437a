"""Checkpoint averaging: a new workdir whose model is the mean of a run's last checkpoints.

The EL paper's translation results (Table 1, App. B.1) are the BLEU of the average of the last 10 epochs'
checkpoints, as fairseq's checkpoint averaging makes it: every parameter is the element-wise mean of its values in
those checkpoints, :math:`\\bar\\theta = \\frac{1}{N} \\sum_{i=1}^{N} \\theta_i`. `average_checkpoints` writes that
model as the one checkpoint of a new workdir (the run's config and model record copied, the step that of the newest
averaged checkpoint), which `evaluate.py --workdir` and `Workdir.load_model` read as any other; the run's own workdir
is left untouched.

Every floating-point array of the model (its parameters and model state, such as batch-norm statistics) is averaged,
summed in float64 and rounded once to its dtype; integer and boolean state (counters) comes from the newest
checkpoint. The averaged checkpoint holds the model only, not the optimiser: it is for evaluation, and training
refuses to resume from it (`checkpoint.is_averaged`).
"""

import os

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from el_jax.train import checkpoint
from el_jax.train.workdir import CHECKPOINTS_NAME, CONFIG_NAME, MODEL_NAME, Workdir


def _floating(x) -> bool:
  return np.issubdtype(x.dtype, np.floating)


def _model_arrays(model) -> dict:
  """The model's arrays as a checkpoint holds them (parameters and model state, not the RNG state), in numpy."""
  params, _, model_state = nnx.state(model, nnx.Param, nnx.RngState, ...)
  return jax.tree.map(lambda x: np.asarray(jax.device_get(x)), {"params": params, "model_state": model_state})


def average_checkpoints(workdir: str, out_dir: str, *, last: int = 10) -> list[int]:
  """Writes to `out_dir` a workdir whose one checkpoint is the mean of the `last` newest checkpoints of `workdir`.

  Returns the averaged steps, oldest first. Each checkpoint is verified against its checksums as it is read.

  Raises:
    ValueError: if `last` < 1, if `workdir` holds fewer than `last` checkpoints (keep more with
      `config.checkpoint_keep`), or if one of them is itself an averaged model.
    FileExistsError: if `out_dir` already holds a config, model or checkpoints (nothing is overwritten).
    FileNotFoundError: if `workdir` is not a workdir written by train.py.
    CorruptCheckpoint: if a checkpoint cannot be read or fails its checksums.
  """
  if last < 1:
    raise ValueError(f"last must be >= 1 checkpoint, got {last}.")
  source, target = Workdir(workdir), Workdir(out_dir)
  config, spec = source.read_config(), source.model_spec()
  taken = [name for name in (CONFIG_NAME, MODEL_NAME, CHECKPOINTS_NAME) if os.path.exists(target.join(name))]
  if taken:
    raise FileExistsError(f"{out_dir} already holds {', '.join(taken)}: choose a new --out_dir for the average.")
  model = spec.create()
  with source.checkpoints(max_to_keep=None) as manager:
    steps = sorted(manager.all_steps())[-last:]
    if len(steps) < last:
      raise ValueError(
        f"{workdir} holds {len(steps)} checkpoint(s) {steps}, fewer than the {last} to average: pass a smaller "
        "--last, or train with config.checkpoint_keep >= the number to average."
      )
    total = None
    for step in steps:
      meta = checkpoint.read_meta(manager, step)
      if checkpoint.is_averaged(meta):
        raise ValueError(
          f"checkpoint {step} of {workdir} is itself an average, of checkpoints {meta[checkpoint.AVERAGED_KEY]}."
        )
      checkpoint.restore_model(manager, step, model)
      arrays = _model_arrays(model)
      if total is None:
        total = jax.tree.map(lambda x: x.astype(np.float64) if _floating(x) else x, arrays)
      else:  # floats summed in float64; the other arrays keep the newest checkpoint's values
        total = jax.tree.map(lambda t, x: t + x if _floating(x) else x, total, arrays)
  mean = jax.tree.map(
    lambda t, x: jnp.asarray(t / len(steps), x.dtype) if _floating(x) else jnp.asarray(x), total, arrays
  )
  target.start(config, spec)
  with target.checkpoints(max_to_keep=None) as out:
    checkpoint.save(out, steps[-1], mean, {**meta, checkpoint.AVERAGED_KEY: steps})
    out.wait_until_finished()
  return steps
