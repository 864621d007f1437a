"""The training loop: data -> model -> jitted steps over a device mesh -> eval every epoch -> checkpoint.

`train_and_evaluate(config, workdir)` resumes from the workdir's latest checkpoint when there is one.
Batches are sharded over the mesh's `data` axis; the train state is replicated.
"""

import json
import os
import time

import jax
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
from tqdm import tqdm

from el_jax import data, losses, models
from el_jax.data import pipeline
from el_jax.train import checkpoint, optimizer, step
from el_jax.train.metrics_log import MetricsLog


def _kwargs(section) -> dict:
  """A config section's entries other than `name`, as plain Python values."""
  return {k: v for k, v in section.to_dict().items() if k != "name"}


def _global_batch(batch: dict, sharding: NamedSharding) -> dict:
  return {k: jax.make_array_from_process_local_data(sharding, v) for k, v in batch.items()}


def evaluate(eval_step, state, eval_data, *, batch_size: int, sharding: NamedSharding, normalization=None) -> dict:
  """Mean loss, cross-entropy and accuracy over every example of `eval_data` (padded batches, masked)."""
  sums = None
  for batch in pipeline.eval_batches(eval_data, batch_size=batch_size, normalization=normalization):
    out = eval_step(state, _global_batch(batch, sharding))
    sums = out if sums is None else jax.tree.map(lambda a, b: a + b, sums, out)
  sums = jax.device_get(sums)
  count = int(sums.pop("count"))
  if count != len(eval_data):
    raise RuntimeError(f"evaluation saw {count} examples instead of {len(eval_data)}.")
  return {f"eval/{k}": float(v) / count for k, v in sums.items()}


def _check_batch_size(name: str, batch_size: int, num_devices: int) -> None:
  if batch_size % num_devices:
    raise ValueError(
      f"config.{name}={batch_size} is not divisible by the {num_devices} devices of the mesh: "
      f"use a multiple of {num_devices}."
    )


def train_and_evaluate(config, workdir: str) -> dict:
  """Trains as `config` says, evaluating and checkpointing after every epoch; returns the last eval metrics."""
  mesh = jax.make_mesh((jax.device_count(),), ("data",))
  data_sharding = NamedSharding(mesh, P("data"))
  replicated = NamedSharding(mesh, P())
  _check_batch_size("batch_size", config.batch_size, jax.device_count())
  _check_batch_size("eval_batch_size", config.eval_batch_size, jax.device_count())
  is_chief = jax.process_index() == 0

  # ---- Data ------------------------------------------------------------------------------------------------
  train_data = data.load(config.dataset.name, config.dataset.train_split).take(config.dataset.train_subset)
  eval_data = data.load(config.dataset.name, config.dataset.eval_split).take(config.dataset.eval_subset)
  norm = data.normalization(config.dataset.name) if config.dataset.normalize else None
  steps_per_epoch = pipeline.steps_per_epoch(len(train_data), config.batch_size)
  total_steps = steps_per_epoch * config.num_epochs

  # ---- Model, loss, optimiser, state -------------------------------------------------------------------------
  model_spec = {
    "name": config.model.name,
    "num_classes": train_data.num_classes,
    "input_shape": list(train_data.input_shape),
    "kwargs": _kwargs(config.model),
  }
  model = models.create(
    model_spec["name"],
    num_classes=model_spec["num_classes"],
    input_shape=model_spec["input_shape"],
    seed=config.seed,
    **model_spec["kwargs"],
  )
  loss_fn = losses.get(config.loss.name, **_kwargs(config.loss))
  tx = optimizer.create(config.optimizer, steps_per_epoch=steps_per_epoch, num_epochs=config.num_epochs)
  train_graphdef, eval_graphdef, state = step.init_state(model, tx)
  state = jax.device_put(state, replicated)

  os.makedirs(workdir, exist_ok=True)
  ckpt = checkpoint.manager(os.path.join(workdir, "checkpoints"), max_to_keep=config.checkpoint_keep)
  state = checkpoint.restore_latest(ckpt, state)
  start_step = int(state["step"])
  if is_chief:
    with open(os.path.join(workdir, "config.json"), "w") as f:
      json.dump(config.to_dict(), f, indent=2)
    checkpoint.write_model_spec(workdir, model_spec)
  log = MetricsLog(os.path.join(workdir, "metrics.jsonl"), resume_step=start_step, enabled=is_chief)

  train_step = jax.jit(step.make_train_step(train_graphdef, loss_fn, tx), donate_argnums=0)
  eval_step = jax.jit(step.make_eval_step(eval_graphdef, loss_fn))

  def run_eval(state):
    return evaluate(
      eval_step, state, eval_data, batch_size=config.eval_batch_size, sharding=data_sharding, normalization=norm
    )

  if start_step >= total_steps:
    print(f"{workdir}: training already complete ({start_step} steps); evaluating the final checkpoint.")
    metrics = run_eval(state)
    print(json.dumps(metrics))
    return metrics
  if start_step:
    print(f"{workdir}: resuming from the checkpoint at step {start_step} (epoch {start_step // steps_per_epoch}).")

  # ---- Train -----------------------------------------------------------------------------------------------
  dataset = pipeline.train_dataset(
    train_data, batch_size=config.batch_size, seed=config.seed, num_epochs=config.num_epochs, normalization=norm
  )
  batches = pipeline.train_batches(dataset, start_step=start_step)
  pending, window_start, metrics = [], time.perf_counter(), {}
  bar = tqdm(total=total_steps, initial=start_step, unit="step", disable=not is_chief, dynamic_ncols=True)
  for step_index in range(start_step, total_steps):
    state, step_metrics = train_step(state, _global_batch(next(batches), data_sharding))
    pending.append(step_metrics)
    done = step_index + 1
    bar.update(1)
    end_of_epoch = done % steps_per_epoch == 0
    if done % config.log_every_steps == 0 or end_of_epoch:
      pending = jax.device_get(pending)
      elapsed = time.perf_counter() - window_start
      train_metrics = {f"train/{k}": np.mean([m[k] for m in pending]) for k in pending[0]}
      train_metrics["train/examples_per_second"] = len(pending) * config.batch_size / elapsed
      log.write(done, done / steps_per_epoch, train_metrics)
      bar.set_postfix(
        loss=f"{train_metrics['train/loss']:.4f}",
        acc=f"{train_metrics['train/accuracy']:.3f}",
        img_per_s=f"{train_metrics['train/examples_per_second']:.0f}",
      )
      pending, window_start = [], time.perf_counter()
    if end_of_epoch:
      metrics = run_eval(state)
      log.write(done, done / steps_per_epoch, metrics)
      bar.write(
        f"epoch {done // steps_per_epoch}/{config.num_epochs}: eval loss {metrics['eval/loss']:.4f}, "
        f"accuracy {metrics['eval/accuracy']:.4f}"
      )
      checkpoint.save(ckpt, done, state)
      window_start = time.perf_counter()
  bar.close()
  ckpt.wait_until_finished()
  ckpt.close()
  return metrics
