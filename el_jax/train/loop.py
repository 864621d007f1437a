"""The training loop: data -> model -> jitted steps over a device mesh -> eval every epoch -> checkpoints.

`train_and_evaluate(config, workdir)` resumes from the workdir's latest checkpoint when there is one. The train
state is created directly in its sharded layout (`jax.eval_shape` + `jax.jit(out_shardings=...)`), batches are split
over the mesh (each process feeds the rows its devices hold), and the train step donates its input state.

Stopping early:
  * SIGTERM (preemption): the run saves a checkpoint of the current step, waits for it to commit and raises
    `Preempted`; `train.py` then exits with status 143 (128 + SIGTERM). The same command resumes.
  * a non-finite loss, gradient or updated parameter raises `NonFiniteError` naming the step; no checkpoint is
    written after it, so the workdir keeps the last good one.
  * `config.early_stopping_patience = N` ends training once the eval `config.early_stopping_metric` ("loss" or
    "accuracy") has not improved for N epochs; the checkpoint of that epoch records it (and the best step), so
    rerunning the command evaluates instead of training on.
"""

import json
import os
import signal
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from tqdm import tqdm

from el_jax import data, losses, models
from el_jax.data import pipeline, transforms
from el_jax.train import checkpoint, optimizer, prefetch, step
from el_jax.train import mesh as mesh_lib
from el_jax.train.metrics_log import MetricsLog


class Preempted(Exception):  # noqa: N818 (an event, not an error)
  """Training stopped on SIGTERM after checkpointing step `step`."""

  def __init__(self, step: int):
    super().__init__(f"preempted: checkpoint saved at step {step}; rerun the same command to resume.")
    self.step = step


class NonFiniteError(FloatingPointError):
  """The loss or a gradient became NaN or infinite."""


class _SigtermFlag:
  """Records SIGTERM instead of dying, while installed (single-process runs; on several processes the JAX
  coordination service catches the signal and Orbax's `reached_preemption` reports it at the same step everywhere)."""

  def __init__(self):
    self.raised = False
    self._previous = None

  def __enter__(self):
    if jax.process_count() == 1:
      self._previous = signal.signal(signal.SIGTERM, self._handle)
    return self

  def _handle(self, signum, frame):
    self.raised = True

  def __exit__(self, *exc):
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)


def _kwargs(section) -> dict:
  """A config section's entries other than `name`, as plain Python values."""
  return {k: v for k, v in section.to_dict().items() if k != "name"}


def evaluate(eval_step, state, eval_data, *, batch_size: int, sharding, normalization=None, transforms=()) -> dict:
  """Mean loss, cross-entropy and accuracy over every example of `eval_data` (padded batches, masked), per label
  (per unmasked token for per-token labels)."""
  rows = mesh_lib.local_rows(sharding, batch_size)
  sums = None
  batches = pipeline.eval_batches(eval_data, batch_size=batch_size, normalization=normalization, transforms=transforms)
  for batch in batches:
    out = eval_step(state, mesh_lib.global_batch({k: v[rows] for k, v in batch.items()}, sharding, batch_size))
    sums = out if sums is None else jax.tree.map(jnp.add, sums, out)
  sums = jax.device_get(sums)
  count, weight = int(sums.pop("count")), float(sums.pop("weight"))
  if count != len(eval_data):
    raise RuntimeError(f"evaluation saw {count} examples instead of {len(eval_data)}.")
  if weight == 0:
    raise ValueError(f"{getattr(eval_data, 'name', 'the evaluation set')} has no unmasked labels to evaluate.")
  return {f"eval/{k}": float(v) / weight for k, v in sums.items()}


def loss_hparams(loss: dict, train_data) -> dict:
  """The loss section's hyper-parameters (without `name`), with training-set markers such as `margin="hem"`
  resolved (`losses.resolve_data_hparams`); the class counts are only read when a marker needs them."""
  hparams = {k: v for k, v in loss.items() if k != "name"}
  return losses.resolve_data_hparams(hparams, lambda: data.class_counts(train_data))


def _input_shape_and_transforms(dataset, train_data):
  """`(input_shape, train_transforms, eval_transforms)`: the model's input shape after the image transforms of the
  config's `dataset` section. Sources of other inputs (a dict `input_shape`, e.g. tokens) take no image options."""
  if isinstance(train_data.input_shape, dict):
    if dataset.image_size or dataset.augmentation != "none":
      raise ValueError(
        f"{train_data.name} has no images (its inputs are {sorted(train_data.input_shape)}): set "
        "dataset.image_size=None and dataset.augmentation='none'."
      )
    return {k: list(v) for k, v in train_data.input_shape.items()}, (), ()
  input_shape = list(train_data.input_shape)
  if dataset.image_size:  # images cropped or resized to a fixed size (e.g. ImageNet's 224)
    input_shape[:2] = [dataset.image_size] * 2
  return input_shape, *transforms.augmentation(dataset.augmentation, size=input_shape[0])


class _EarlyStopping:
  """Tracks the best eval `metric` ("loss": lowest, "accuracy": highest); `update(metrics)` is True once it has not
  improved for `patience` evaluations.

  Its state is a JSON-able dict kept in the checkpoint's meta, so a resumed run counts on from where it stopped.
  """

  def __init__(self, patience: int | None, metric: str = "loss", state: dict | None = None):
    if patience is not None and patience < 1:
      raise ValueError(f"config.early_stopping_patience must be None or at least 1, got {patience}.")
    if metric not in ("loss", "accuracy"):
      raise ValueError(f"config.early_stopping_metric must be 'loss' or 'accuracy', got {metric!r}.")
    self.patience, self.metric = patience, metric
    self.state = dict(state or {"best": None, "best_step": None, "since_best": 0, "stopped": False})

  def update(self, metrics: dict, step: int) -> bool:
    if self.patience is None:
      return False
    value = metrics[f"eval/{self.metric}"]
    sign = 1.0 if self.metric == "loss" else -1.0
    if self.state["best"] is None or sign * value < sign * self.state["best"]:
      self.state.update(best=value, best_step=step, since_best=0)
    else:
      self.state["since_best"] += 1
    self.state["stopped"] = self.state["since_best"] >= self.patience
    return self.state["stopped"]


def _check_divisible(name: str, batch_size: int, num_devices: int) -> None:
  if batch_size % num_devices:
    raise ValueError(
      f"config.{name}={batch_size} is not divisible by the {num_devices} devices of the mesh: "
      f"use a multiple of {num_devices}."
    )


def train_and_evaluate(config, workdir: str) -> dict:
  """Trains as `config` says, evaluating after every epoch; returns the last eval metrics.

  Raises:
    Preempted: on SIGTERM, after checkpointing the current step.
    NonFiniteError: on a non-finite loss, gradient or parameter, naming the step.
    ValueError: if the workdir holds a checkpoint of a different experiment, or the config is invalid.
  """
  # ---- Mesh ------------------------------------------------------------------------------------------------
  mesh = mesh_lib.create(config.mesh)
  batch_sharding = mesh_lib.batch_sharding(mesh)
  replicated = mesh_lib.replicated(mesh)
  _check_divisible("batch_size", config.batch_size, jax.device_count())
  _check_divisible("eval_batch_size", config.eval_batch_size, jax.device_count())
  is_chief = jax.process_index() == 0
  multi_process = jax.process_count() > 1
  compute_dtype = jnp.dtype(config.compute_dtype)

  # ---- Data ------------------------------------------------------------------------------------------------
  train_data, eval_data = data.from_config(config.dataset.to_dict())
  norm = data.normalization(config.dataset.name) if config.dataset.normalize else None
  input_shape, train_transforms, eval_transforms = _input_shape_and_transforms(config.dataset, train_data)
  steps_per_epoch = pipeline.steps_per_epoch(len(train_data), config.batch_size)
  total_steps = steps_per_epoch * config.num_epochs
  checkpoint_every = config.checkpoint_every_steps or steps_per_epoch

  # ---- Model, loss, optimiser, state -------------------------------------------------------------------------
  model_spec = {
    "name": config.model.name,
    "num_classes": train_data.num_classes,
    "input_shape": input_shape,
    "kwargs": _kwargs(config.model),
  }

  def create_model():
    return models.create(
      model_spec["name"],
      num_classes=model_spec["num_classes"],
      input_shape=model_spec["input_shape"],
      seed=config.seed,
      **model_spec["kwargs"],
    )

  objective = losses.get_objective(config.loss.name, **loss_hparams(config.loss.to_dict(), train_data))
  tx = optimizer.create(config.optimizer, steps_per_epoch=steps_per_epoch, num_epochs=config.num_epochs)

  def init_state():
    return step.init_state(create_model(), tx, seed=config.seed)[1]

  graphdefs, _, _ = step.split_model(nnx.eval_shape(create_model))
  abstract_state = jax.eval_shape(init_state)
  state_sharding = mesh_lib.state_shardings(abstract_state, mesh, fsdp_min_size=config.mesh.get("fsdp_min_size", 2**14))

  os.makedirs(workdir, exist_ok=True)
  ckpt = checkpoint.manager(os.path.join(workdir, "checkpoints"), max_to_keep=config.checkpoint_keep)
  start_step = ckpt.latest_step() or 0
  saved = {}
  if start_step:  # restored straight into its sharded layout
    saved = checkpoint.read_meta(ckpt, start_step)
    checkpoint.check_resumable(saved["config"], config.to_dict(), where=workdir)
    abstract_state = jax.tree.map(
      lambda x, sharding: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding), abstract_state, state_sharding
    )
    state = checkpoint.restore(ckpt, start_step, abstract_state)
  elif config.model.get("checkpoint"):
    # Pretrained weights (e.g. BERT's) are read on the host and placed on the mesh, rather than becoming constants of
    # a compiled initialisation.
    state = jax.device_put(init_state(), state_sharding)
  else:  # created in place, never materialised unsharded
    state = jax.jit(init_state, out_shardings=state_sharding)()
  if is_chief:
    with open(os.path.join(workdir, "config.json"), "w") as f:
      json.dump(config.to_dict(), f, indent=2)
    checkpoint.write_model_spec(workdir, model_spec)

  train_step = jax.jit(
    step.make_train_step(graphdefs, objective, tx, total_steps=total_steps, compute_dtype=compute_dtype),
    in_shardings=(state_sharding, batch_sharding),
    out_shardings=(state_sharding, replicated),
    donate_argnums=0,
  )
  eval_step = jax.jit(
    step.make_eval_step(graphdefs, objective, compute_dtype=compute_dtype),
    in_shardings=(state_sharding, batch_sharding),
    out_shardings=replicated,
  )

  def run_eval(state):
    return evaluate(
      eval_step,
      state,
      eval_data,
      batch_size=config.eval_batch_size,
      sharding=batch_sharding,
      normalization=norm,
      transforms=eval_transforms,
    )

  early_stopping = _EarlyStopping(
    config.get("early_stopping_patience"), config.get("early_stopping_metric") or "loss", saved.get("early_stopping")
  )
  if start_step >= total_steps or early_stopping.state["stopped"]:
    print(f"{workdir}: training already complete ({start_step} steps); evaluating the final checkpoint.")
    metrics = run_eval(state)
    print(json.dumps(metrics))
    ckpt.close()
    return metrics
  if start_step:
    print(f"{workdir}: resuming from the checkpoint at step {start_step} (epoch {start_step / steps_per_epoch:g}).")

  # ---- Train -----------------------------------------------------------------------------------------------
  log = MetricsLog(workdir, resume_step=start_step, enabled=is_chief)
  dataset = pipeline.train_dataset(
    train_data,
    batch_size=config.batch_size,
    seed=config.seed,
    num_epochs=config.num_epochs,
    normalization=norm,
    augment=train_transforms,
    rows=mesh_lib.local_rows(batch_sharding, config.batch_size),
  )
  batches = prefetch.DevicePrefetch(
    pipeline.train_batches(dataset, start_step=start_step),
    lambda batch: mesh_lib.global_batch(batch, batch_sharding, config.batch_size),
  )
  meta = {"config": config.to_dict(), "data": {"seed": config.seed, "next_step": None}, "early_stopping": None}
  last_saved = start_step or None
  pending, data_wait, window_start, metrics = [], 0.0, time.perf_counter(), {}

  def flush(done: int) -> None:
    """Logs the metrics of the steps since the last flush; raises NonFiniteError if one was not finite."""
    nonlocal pending, data_wait, window_start
    if not pending:
      return
    fetched = jax.device_get(pending)
    elapsed = time.perf_counter() - window_start
    bad = [i for i, m in enumerate(fetched) if not m["finite"]]
    if bad:
      ckpt.wait_until_finished()
      first = done - len(fetched) + bad[0] + 1
      raise NonFiniteError(
        f"non-finite loss, gradients or parameters at step {first}; training stopped. The last good checkpoint is "
        f"{f'step {last_saved}' if last_saved else 'none'} in {workdir}/checkpoints."
      )
    summary = {f"train/{k}": np.mean([m[k] for m in fetched]) for k in fetched[0] if k != "finite"}
    summary["train/examples_per_second"] = len(fetched) * config.batch_size / elapsed
    summary["train/data_wait_fraction"] = data_wait / elapsed
    log.write(done, done / steps_per_epoch, summary)
    bar.set_postfix(
      loss=f"{summary['train/loss']:.4f}",
      acc=f"{summary['train/accuracy']:.3f}",
      img_per_s=f"{summary['train/examples_per_second']:.0f}",
    )
    pending, data_wait, window_start = [], 0.0, time.perf_counter()

  def save(done: int) -> None:
    nonlocal last_saved
    meta["data"]["next_step"] = done
    meta["early_stopping"] = early_stopping.state
    checkpoint.save(ckpt, done, state, meta)
    last_saved = done

  bar = tqdm(total=total_steps, initial=start_step, unit="step", disable=not is_chief, dynamic_ncols=True)
  try:
    with _SigtermFlag() as sigterm:
      for done in range(start_step + 1, total_steps + 1):
        fetch_start = time.perf_counter()
        batch = next(batches)
        if not pending or pending[-1]["loss"].is_ready():
          # Waiting for input stalls training only once the step before has finished: count the whole wait then (an
          # upper bound), and none of it while that step was still computing through it.
          data_wait += time.perf_counter() - fetch_start
        state, step_metrics = train_step(state, batch)
        pending.append(step_metrics)
        bar.update(1)
        end_of_epoch = done % steps_per_epoch == 0
        preempted = sigterm.raised or (multi_process and ckpt.reached_preemption(done))
        if done % config.log_every_steps == 0 or end_of_epoch or done % checkpoint_every == 0 or preempted:
          flush(done)
        stop_early = False
        if end_of_epoch:
          metrics = run_eval(state)
          log.write(done, done / steps_per_epoch, metrics)
          bar.write(
            f"epoch {done // steps_per_epoch}/{config.num_epochs}: eval loss {metrics['eval/loss']:.4f}, "
            f"accuracy {metrics['eval/accuracy']:.4f}"
          )
          stop_early = early_stopping.update(metrics, done)
        if end_of_epoch or done % checkpoint_every == 0 or preempted:
          save(done)
          window_start = time.perf_counter()
        if stop_early:
          bar.write(
            f"early stopping: the eval {early_stopping.metric} has not improved for {early_stopping.patience} "
            f"epochs (best {early_stopping.state['best']:.4f}, at step {early_stopping.state['best_step']})."
          )
          break
        if preempted:
          ckpt.wait_until_finished()
          raise Preempted(done)
  finally:
    batches.close()
    bar.close()
    log.close()
    ckpt.wait_until_finished()
    ckpt.close()
  return metrics
