"""Continual learning: the episodes of a task sequence trained in order with a loss and a strategy against forgetting.

`train_and_evaluate(config, workdir)` reads `config.continual` (see `configs/hem/continual.py`):

  scenario, num_tasks, class_order   the task sequence (`el_jax.continual.tasks`)
  strategy                           "replay" | "ewc" | "si" | "lfl" | "lwf"
  <strategy>                         its settings:
      replay: memory_size, memory_batch_size      ewc: strength
      si: strength, damping, max_importance       lfl: strength (a number, or one per episode)
      lwf: alpha (a number, or one per episode), temperature, scale_task_loss (weight 1/(t+1) on the loss of
           episode t, as the baselines' LwF recipe)
  max_steps_per_episode              None, or a cap on the updates of an episode (smoke tests)

Every episode starts a fresh optimiser (state and learning-rate schedule over its `num_epochs` epochs), as
Avalanche does, and carries the parameters over. After episode `t` the model is evaluated on the test sets of
episodes `0..t`: row `t` of the accuracy matrix `R[t][j]`. Metrics go to `<workdir>/metrics.jsonl`; the end of every
episode is checkpointed with Orbax (`<workdir>/checkpoints/<episode>`: parameters, model state and what the strategy
carries, plus JSON meta with the config and the matrix so far), and a rerun resumes after the last finished episode;
`el_jax.train.workdir.Workdir(workdir).load_model(episode)` gives the model after a kept episode. EWC's Fisher is
computed in evaluation mode on the episode's training set without augmentation. The run executes on one device
(the default one).
"""

import functools
import json
import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp

from el_jax import data as data_lib
from el_jax import losses, models
from el_jax.continual import ewc, lfl, replay, si, tasks
from el_jax.continual import step as continual_step
from el_jax.data import pipeline, transforms
from el_jax.train import checkpoint, optimizer, setup
from el_jax.train import step as train_step_lib
from el_jax.train.loop import NonFiniteError
from el_jax.train.metrics_log import MetricsLog
from el_jax.train.workdir import Workdir


def for_episode(value, episode: int) -> float:
  """A per-episode setting: `value[episode]` for a list (its last entry past its end), `value` for a number."""
  if isinstance(value, list | tuple):
    if not value:
      raise ValueError("A per-episode setting must not be an empty list.")
    return float(value[min(episode, len(value) - 1)])
  return float(value)


def summarise(rows: list[list[float]], num_tasks: int) -> dict:
  """Final metrics from the rows `R[t][0..t]` of the accuracy matrix.

  `mean_accuracy` is the mean over all tasks after the last episode; `forgetting` (Chaudhry et al., 2018) the mean
  over the tasks before the last of the drop from their best accuracy to their final one; the matrix is `T x T`
  with None above the diagonal (tasks not yet trained).
  """
  matrix = [list(row) + [None] * (num_tasks - len(row)) for row in rows]
  final = rows[-1]
  result = {
    "episodes_done": len(rows),
    "mean_accuracy": float(np.mean(final)),
    "task_accuracies": [float(a) for a in final],
    "accuracy_matrix": matrix,
  }
  if len(rows) == num_tasks and num_tasks > 1:
    drops = [max(rows[t][j] for t in range(j, num_tasks - 1)) - final[j] for j in range(num_tasks - 1)]
    result["forgetting"] = float(np.mean(drops))
  return result


def _as_abstract(tree):
  device = jax.devices()[0]
  sharding = jax.sharding.SingleDeviceSharding(device)
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(np.shape(x), x.dtype, sharding=sharding), tree)


def _carry_template(strategy: str, params, episodes_done: int, memory_shape) -> dict:
  """The structure of what `strategy` carries after `episodes_done` episodes (for restoring a checkpoint)."""
  if strategy == "ewc":
    return {"anchors": {f"episode{e}": {"fisher": params, "params": params} for e in range(episodes_done)}}
  if strategy == "si":
    return {"importance": params, "anchor": params}
  if strategy == "replay":
    images_shape, images_dtype = memory_shape
    size = images_shape[0]
    return {
      "memory": {
        "images": jax.ShapeDtypeStruct(tuple(images_shape), jnp.dtype(images_dtype)),
        "labels": jax.ShapeDtypeStruct((size,), jnp.int32),
        "keys": jax.ShapeDtypeStruct((size,), jnp.float32),
      }
    }
  return {}


def _check_config(config) -> None:
  settings = config.continual
  if settings.strategy not in continual_step.STRATEGIES:
    raise ValueError(
      f"Unknown continual.strategy {settings.strategy!r}. Valid: {', '.join(continual_step.STRATEGIES)}."
    )
  if settings.strategy not in settings:
    raise ValueError(f"config.continual has no {settings.strategy!r} section with the strategy's settings.")
  if jnp.dtype(config.get("compute_dtype", "float32")) != jnp.float32:
    raise ValueError("The continual driver trains in float32 only: set config.compute_dtype='float32'.")
  if settings.num_tasks < 2:
    raise ValueError(f"continual.num_tasks must be at least 2, got {settings.num_tasks}.")


def train_and_evaluate(config, workdir: str) -> dict:
  """Trains the episodes of `config.continual` in order, resuming after the last finished one; returns `summarise`.

  Raises:
    ValueError: for an invalid config, or a workdir holding a checkpoint of a different experiment.
    NonFiniteError: on a non-finite loss or gradient, naming the episode and step.
  """
  _check_config(config)
  settings = config.continual
  strategy = settings.strategy
  hparams = settings[strategy].to_dict()
  num_tasks = settings.num_tasks

  # ---- Data ------------------------------------------------------------------------------------------------
  train_full, test_full = tasks.load(config.dataset.to_dict())
  train_tasks, test_tasks = tasks.build(train_full, test_full, settings.to_dict(), seed=config.seed)
  num_classes = train_full.num_classes
  norm = data_lib.normalization(config.dataset.name) if config.dataset.normalize else None
  input_shape = train_full.input_shape
  augment, eval_transforms = transforms.augmentation(config.dataset.augmentation, size=input_shape[0])

  # ---- Model and loss ----------------------------------------------------------------------------------------
  model_kwargs = {k: v for k, v in config.model.to_dict().items() if k != "name"}
  model = models.create(
    config.model.name, num_classes=num_classes, input_shape=input_shape, seed=config.seed, **model_kwargs
  )
  model_parts, params, model_state = train_step_lib.split_model(model)
  # Data-dependent loss settings (HEM's margin) come from the whole training set.
  hparams_of_loss = losses.resolve_data_hparams(
    setup.section_kwargs(config.loss), lambda: data_lib.class_counts(train_full)
  )
  objective = losses.get_objective(config.loss.name, **hparams_of_loss)
  eval_step = jax.jit(train_step_lib.make_eval_step(model_parts, objective))

  def loss_on_batch(params, model_state, batch):
    logits, _ = train_step_lib.apply_model(model_parts.eval, model_parts, params, model_state, batch["image"])
    return objective(logits, batch["label"], where=batch["mask"], progress=1.0)

  loss_grad = jax.jit(jax.grad(loss_on_batch))

  def evaluate(params, model_state, test_set) -> float:
    state = {"params": params, "model_state": model_state}
    correct = count = 0
    for batch in pipeline.eval_batches(
      test_set, batch_size=config.eval_batch_size, normalization=norm, transforms=eval_transforms
    ):
      sums = jax.device_get(eval_step(state, batch))
      correct, count = correct + float(sums["accuracy"]), count + int(sums["count"])
    if count != len(test_set):
      raise RuntimeError(f"evaluation saw {count} examples instead of {len(test_set)}.")
    return correct / count

  # ---- Resume ----------------------------------------------------------------------------------------------
  os.makedirs(workdir, exist_ok=True)
  ckpt = checkpoint.manager(os.path.join(workdir, "checkpoints"), max_to_keep=config.get("checkpoint_keep", 2))
  done = ckpt.latest_step() or 0
  rows, global_step = [], 0
  carry = {"anchors": {}} if strategy == "ewc" else {}
  memory = replay.empty(input_shape, train_full.images.dtype)
  if done:
    meta = checkpoint.read_meta(ckpt, done)
    # Compared as JSON, the form the checkpoint stores it in (tuples read back as lists).
    checkpoint.check_resumable(meta["config"], json.loads(json.dumps(config.to_dict())), where=workdir)
    template = {
      "params": params,
      "model_state": model_state,
      "carry": _carry_template(strategy, params, done, meta.get("memory")),
    }
    restored = ckpt.restore(done, args=ocp.args.Composite(state=ocp.args.StandardRestore(_as_abstract(template))))[
      "state"
    ]
    params, model_state, carry = restored["params"], restored["model_state"], restored["carry"]
    if strategy == "replay":
      memory = replay.Memory(**{k: np.asarray(v) for k, v in carry.pop("memory").items()})
    rows, global_step = meta["rows"], meta["global_step"]
    print(f"{workdir}: resuming after episode {done} of {num_tasks}.")
  # The model record lets `Workdir.load_model` (and evaluate.py) rebuild the model of a kept checkpoint.
  spec = setup.ModelSpec(config.model.name, num_classes, list(input_shape), model_kwargs)
  Workdir(workdir).start(config.to_dict(), spec)
  log = MetricsLog(workdir, resume_step=global_step)

  # ---- Episodes ----------------------------------------------------------------------------------------------
  compiled = {}
  try:
    for episode in range(done, num_tasks):
      task_train = train_tasks[episode]
      steps_per_epoch = pipeline.steps_per_epoch(len(task_train), config.batch_size)
      total_steps = steps_per_epoch * config.num_epochs
      if settings.get("max_steps_per_episode"):
        total_steps = min(total_steps, settings.max_steps_per_episode)
      # Episodes of the same length share one optimiser and one jitted step (compiled again only when `regs`
      # changes structure); the learning-rate schedule depends on the epoch length unless it is constant.
      schedule_needs_epochs = config.optimizer.get("schedule", "constant") != "constant" or config.optimizer.get(
        "warmup_epochs", 0
      )
      key = (steps_per_epoch if schedule_needs_epochs else None, total_steps)
      if key not in compiled:
        tx = optimizer.create(config.optimizer, steps_per_epoch=steps_per_epoch, num_epochs=config.num_epochs)
        step_fn = continual_step.make_train_step(
          model_parts,
          objective,
          tx,
          strategy=strategy,
          total_steps=total_steps,
          temperature=hparams.get("temperature", 2.0),
          max_importance=hparams.get("max_importance"),
        )
        compiled[key] = (tx, jax.jit(step_fn))
      tx, train_step = compiled[key]
      state = {
        "step": jnp.zeros((), jnp.int32),
        "rng": jax.random.fold_in(jax.random.PRNGKey(config.seed), episode),
        "params": params,
        "model_state": model_state,
        "opt_state": tx.init(params),
      }
      if strategy == "si":
        state["path"] = si.zeros_like(params)
      regs = _episode_regs(strategy, hparams, episode, carry, params, model_state, train_tasks, num_classes)
      batches = _batches(
        task_train, memory, config, hparams, episode, total_steps, steps_per_epoch, norm, augment, num_classes
      )
      pending = []
      for done_steps in range(1, total_steps + 1):
        state, metrics = train_step(state, regs, next(batches))
        pending.append(metrics)
        if done_steps % config.log_every_steps == 0 or done_steps == total_steps:
          fetched = jax.device_get(pending)
          bad = [i for i, m in enumerate(fetched) if not m["finite"]]
          if bad:
            raise NonFiniteError(
              f"non-finite loss or gradients in episode {episode} at step {done_steps - len(fetched) + bad[0] + 1}."
            )
          summary = {f"train/{k}": np.mean([m[k] for m in fetched]) for k in fetched[0] if k != "finite"}
          log.write(global_step + done_steps, episode + done_steps / total_steps, summary | {"episode": episode})
          pending = []
      global_step += total_steps
      start_params, params, model_state = params, state["params"], state["model_state"]

      # End of the episode: what the strategy carries to the next ones.
      if strategy == "ewc":
        fisher = ewc.fisher_diagonal(
          functools.partial(_call_with_state, loss_grad, model_state),
          params,
          pipeline.eval_batches(task_train, batch_size=config.batch_size, normalization=norm),
        )
        carry["anchors"] = {**carry["anchors"], f"episode{episode}": {"fisher": fisher, "params": params}}
      elif strategy == "si":
        importance = carry.get("importance", si.zeros_like(params))
        carry = {
          "importance": si.consolidate(importance, state["path"], start_params, params, hparams["damping"]),
          "anchor": params,
        }
      elif strategy == "replay":
        rng = np.random.default_rng((config.seed, episode))
        memory = replay.update(memory, task_train, hparams["memory_size"], rng)

      # Evaluation on the tasks seen so far.
      row = [evaluate(params, model_state, test_tasks[j]) for j in range(episode + 1)]
      rows.append(row)
      record = {f"eval/task{j}/accuracy": a for j, a in enumerate(row)}
      record |= {"eval/mean_accuracy": float(np.mean(row)), "episode": episode}
      log.write(global_step, episode + 1.0, record)
      print(
        f"episode {episode + 1}/{num_tasks}: accuracy per task {np.round(row, 4).tolist()}, mean {np.mean(row):.4f}"
      )

      saved_carry = dict(carry)
      meta = {"config": config.to_dict(), "rows": rows, "global_step": global_step}
      if strategy == "replay":
        saved_carry["memory"] = {"images": memory.images, "labels": memory.labels, "keys": memory.keys}
        meta["memory"] = [list(memory.images.shape), str(memory.images.dtype)]
      checkpoint.save(ckpt, episode + 1, {"params": params, "model_state": model_state, "carry": saved_carry}, meta)
      ckpt.wait_until_finished()
  finally:
    log.close()
    ckpt.wait_until_finished()
    ckpt.close()

  result = summarise(rows, num_tasks)
  with open(os.path.join(workdir, "continual_results.json"), "w") as f:
    json.dump(result, f, indent=2)
  return result


def _call_with_state(loss_grad, model_state, params, batch):
  return loss_grad(params, model_state, batch)


def _episode_regs(strategy, hparams, episode, carry, params, model_state, train_tasks, num_classes) -> dict:
  """What the train step of `episode` needs from the earlier episodes (see `el_jax.continual.step`)."""
  if episode == 0 or strategy == "replay":
    return {}
  if strategy == "ewc":
    return {"anchors": carry["anchors"], "strength": jnp.float32(hparams["strength"])}
  if strategy == "si":
    return {
      "importance": carry["importance"],
      "anchor": carry["anchor"],
      "strength": jnp.float32(hparams["strength"]),
    }
  previous = {"params": params, "model_state": model_state}
  if strategy == "lfl":
    return {
      "previous": previous,
      "strength": jnp.float32(for_episode(hparams["strength"], episode)),
      "frozen": lfl.head_mask(params),
    }
  seen = np.zeros(num_classes, bool)
  for task in train_tasks[:episode]:
    seen[np.unique(task.labels)] = True
  return {
    "previous": previous,
    "seen": jnp.asarray(seen),
    "alpha": jnp.float32(for_episode(hparams["alpha"], episode)),
    "task_weight": jnp.float32(1.0 / (episode + 1) if hparams.get("scale_task_loss", False) else 1.0),
  }


def _batches(task_train, memory, config, hparams, episode, total_steps, steps_per_epoch, norm, augment, num_classes):
  """The episode's training batches; with a non-empty replay memory, each is followed by a batch from it."""
  seed = config.seed * 1000 + episode
  num_epochs = math.ceil(total_steps / steps_per_epoch)
  dataset = pipeline.train_dataset(
    task_train, batch_size=config.batch_size, seed=seed, num_epochs=num_epochs, normalization=norm, augment=augment
  )
  new = pipeline.train_batches(dataset)
  if not len(memory):
    yield from new
    return
  memory_batch = min(hparams["memory_batch_size"], len(memory))
  memory_epochs = math.ceil(total_steps / pipeline.steps_per_epoch(len(memory), memory_batch))
  old = pipeline.train_batches(
    pipeline.train_dataset(
      memory.as_dataset(num_classes),
      batch_size=memory_batch,
      seed=seed + 500,
      num_epochs=memory_epochs,
      normalization=norm,
      augment=augment,
    )
  )
  for batch, stored in zip(new, old, strict=False):
    yield {k: np.concatenate([batch[k], stored[k]]) for k in ("image", "label")}
