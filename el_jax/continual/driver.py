"""The continual-learning trainer: the main training loop's pieces (`el_jax.train`) run over a sequence of episodes.

`train_episodes(config, workdir)` reads `config.continual` (see `configs/hem/continual.py`):

  scenario, num_tasks, class_order   the task sequence (`el_jax.continual.tasks`)
  strategy                           a name of `el_jax.continual.strategies` ("replay", "ewc", "si", "lfl", "lwf")
  <strategy>                         its settings (`Strategy.settings`):
      replay: memory_size, memory_batch_size      ewc: strength
      si: strength, damping, max_importance       lfl: strength (a number, or one per episode)
      lwf: alpha (a number, or one per episode), temperature, scale_task_loss (weight 1/(t+1) on the loss of
           episode t, as the baselines' LwF recipe)
  max_steps_per_episode              None, or a cap on the updates of an episode (smoke tests)

The run is set up as the main loop's is (`setup.Inputs`, `setup.ModelSpec`, `setup.objective`, `Workdir`). Every
episode starts a fresh optimiser (state and learning-rate schedule over its `num_epochs` epochs), as Avalanche does,
and carries the parameters over; the strategy's values (`Strategy`) say what else it carries, what the episode's
step takes from the earlier episodes and what its batches are. After episode `t` the model is evaluated
(`loop.evaluate`) on the test sets of episodes `0..t`: row `t` of the accuracy matrix `R[t][j]`, summarised by
`results.summarise` into `<workdir>/continual_results.json`. EWC's Fisher is computed in evaluation mode on the
episode's training set without augmentation.

Devices: the run uses the device mesh as the main loop does (`config.mesh`; `train.py --cpu_devices=N` splits a CPU):
global batches split over the devices, the train state laid out by `mesh.state_shardings`, and the strategies'
episode inputs (trees like the parameters, e.g. EWC's anchors or the previous network) by the same rule, so they sit
next to the parameters they are compared with. Replay's memory stays on the host, whence its batches are drawn.

Files (`Workdir`): config.json, model.json, metrics.jsonl (`train/...` records every `log_every_steps` steps and at
the end of each episode, with the `episode`; one `eval/task<j>/accuracy`, `eval/mean_accuracy` record per episode;
`step` counts the updates of all episodes), and an Orbax checkpoint per finished episode (`checkpoints/<episode
count>`: parameters, model state and what the strategy retains, plus JSON meta with the config, the matrix so far
and the update count). `Workdir(workdir).load_model(t)` gives the model after `t` episodes.

Stopping early:
  * a rerun of a stopped run resumes after its last finished episode (the checkpoint's config must match);
  * SIGTERM (preemption) during an episode stops it at the next step, drops its partial training and raises
    `EpisodePreempted` (a `loop.Preempted`: `train.py` exits with 143); the same command then resumes after the last
    finished episode, repeating the interrupted one from its start, to the same result as an uninterrupted run;
  * a non-finite loss, gradient or parameter raises `NonFiniteError` naming the step and the episode.
"""

import dataclasses
import math
import signal

import jax
import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

from el_jax.continual import step as continual_step
from el_jax.continual import strategies, tasks
from el_jax.continual.results import summarise
from el_jax.data import global_batches, pipeline
from el_jax.train import checkpoint, loop, optimizer, setup
from el_jax.train import mesh as mesh_lib
from el_jax.train import step as train_step_lib
from el_jax.train.adversarial import Adversarial
from el_jax.train.workdir import Workdir

RESULTS_NAME = "continual_results.json"


class EpisodePreempted(loop.Preempted):
  """Training stopped on SIGTERM during an episode; `step` is the number of finished (checkpointed) episodes."""

  def __init__(self, episodes_done: int, signal_number: int = signal.SIGTERM):
    super().__init__(episodes_done, signal_number)
    self.args = (
      f"preempted during episode {episodes_done + 1}: its training so far is dropped; the last checkpoint is that "
      f"of episode {episodes_done} (0: none). Rerun the same command to resume from it.",
    )


@dataclasses.dataclass(frozen=True)
class _EpisodeSteps:
  """The jitted functions of episodes of one length: the start state and the train step (donating the state)."""

  start: object  # start(params, model_state, rng) -> state
  train: object  # train(state, episode_inputs, batch) -> (state, metrics)


def _check_config(config) -> None:
  if jnp.dtype(config.get("compute_dtype", "float32")) != jnp.float32:
    raise ValueError("The continual driver trains in float32 only: set config.compute_dtype='float32'.")
  if config.continual.num_tasks < 2:
    raise ValueError(f"continual.num_tasks must be at least 2, got {config.continual.num_tasks}.")
  if Adversarial.from_config(config.get("adversarial")) is not None:
    raise ValueError(
      "config.adversarial is not supported by the continual-learning trainer (its steps train on the clean "
      "batches); unset config.adversarial.attack."
    )
  if config.loss.get("alternate") is not None:
    raise ValueError(
      "config.loss.alternate (a second update per batch) is not supported by the continual-learning trainer, whose "
      "strategies make one update per batch: unset config.loss.alternate."
    )


def _episode_length(num_examples: int, config) -> tuple[int, int]:
  """`(steps_per_epoch, total_steps)` of an episode on `num_examples` training examples."""
  steps_per_epoch = pipeline.steps_per_epoch(num_examples, config.batch_size)
  total_steps = steps_per_epoch * config.num_epochs
  if config.continual.get("max_steps_per_episode"):
    total_steps = min(total_steps, config.continual.max_steps_per_episode)
  return steps_per_epoch, total_steps


def _seen_classes(earlier_tasks, num_classes: int) -> np.ndarray:
  """`[K]` bools: the classes in the training data of `earlier_tasks`."""
  seen = np.zeros(num_classes, bool)
  for task in earlier_tasks:
    seen[np.unique(task.labels)] = True
  return seen


def train_episodes(config, workdir: str) -> dict:
  """Trains the episodes of `config.continual` in order, resuming after the last finished one; returns the results
  (`results.summarise`), also written to `<workdir>/continual_results.json`.

  Raises:
    ValueError: for an invalid config, or a workdir holding a checkpoint of a different experiment.
    EpisodePreempted: on SIGTERM, keeping the checkpoint of the last finished episode.
    NonFiniteError: on a non-finite loss, gradient or parameter, naming the step and the episode.
    WorkdirLocked: if another trainer is running in the workdir.
  """
  strategy = strategies.get(config.continual.strategy)
  settings = strategy.settings(config.continual.get(strategy.name))
  setup.check_settings(config, num_devices=jax.device_count())
  _check_config(config)
  with Workdir(workdir).lock(enabled=jax.process_index() == 0):
    return _train_episodes(config, workdir, strategy, settings)


def _train_episodes(config, workdir: str, strategy, settings) -> dict:
  num_tasks = config.continual.num_tasks

  # ---- Mesh ------------------------------------------------------------------------------------------------
  mesh = mesh_lib.create(config.mesh)
  batch_sharding, replicated = mesh_lib.batch_sharding(mesh), mesh_lib.replicated(mesh)
  fsdp_min_size = config.mesh.get("fsdp_min_size", 2**14)
  is_chief, multi_process = jax.process_index() == 0, jax.process_count() > 1

  def layout(tree):
    """Shardings for a tree of arrays (or anything with a shape): the train state's rule (`state_shardings`)."""
    return mesh_lib.state_shardings(tree, mesh, fsdp_min_size=fsdp_min_size)

  def placed(tree):
    return jax.device_put(tree, layout(tree))

  # ---- Inputs, tasks, model, objective ---------------------------------------------------------------------
  inputs = setup.Inputs.from_config(config.dataset)
  train_tasks, test_tasks = tasks.build(inputs.train, inputs.eval, config.continual.to_dict(), seed=config.seed)
  spec = setup.ModelSpec.from_config(config.model, inputs)
  model = spec.create(config.seed)
  if setup.fused_output(config.loss, model):
    raise ValueError(
      "config.loss.fused_output=True and config.loss.large_margin are not supported by the continual-learning "
      "trainer (its strategies read the logits); set config.loss.fused_output=False and unset large_margin."
    )
  objective = setup.objective(config.loss, inputs)
  model_parts, params, model_state = train_step_lib.split_model(model)
  params, model_state = placed(params), placed(model_state)
  eval_step = jax.jit(train_step_lib.make_eval_step(model_parts, objective), out_shardings=replicated)

  def loss_on_batch(params, model_state, batch):
    logits, _ = train_step_lib.apply_model(
      model_parts.eval, model_parts, params, model_state, train_step_lib.model_inputs(batch)
    )
    return objective(logits, batch["label"], where=batch["mask"], progress=1.0)

  loss_grad = jax.jit(jax.grad(loss_on_batch))

  def make_batches(source, *, batch_size: int, seed: int, num_epochs: int):
    return global_batches.train(
      source,
      batch_size=batch_size,
      seed=seed,
      num_epochs=num_epochs,
      sharding=batch_sharding,
      normalization=inputs.normalization,
      transforms=inputs.train_transforms,
    )

  def evaluate(params, model_state, source, *, batch_size: int) -> dict:
    return loop.evaluate(
      eval_step,
      {"params": params, "model_state": model_state},
      source,
      batch_size=batch_size,
      sharding=batch_sharding,
      normalization=inputs.normalization,
      transforms=inputs.eval_transforms,
    )

  # ---- Workdir and resume ----------------------------------------------------------------------------------
  run_dir = Workdir(workdir)
  ckpt = run_dir.checkpoints(max_to_keep=config.get("checkpoint_keep"))

  def abstract_state(episodes_done: int, saved: dict):
    if "retained" not in saved:
      raise ValueError(
        f"{workdir} holds a checkpoint of an earlier version of the continual driver, which this one cannot resume: "
        "use a new --workdir."
      )
    template = {
      "params": params,
      "model_state": model_state,
      "retained": strategy.checkpoint_template(params, episodes_done, saved["retained"]),
    }
    return jax.tree.map(
      lambda x, sharding: jax.ShapeDtypeStruct(np.shape(x), x.dtype, sharding=sharding), template, layout(template)
    )

  # Before the config is written: the checkpoint's may differ.
  episodes_done, restored, saved = run_dir.resume(ckpt, config.to_dict(), abstract_state, chief=is_chief)
  run_dir.start(config.to_dict(), spec, chief=is_chief)
  retained = strategy.start(params, train_tasks[0])
  rows, global_step = [], 0
  if episodes_done:
    params, model_state = restored["params"], restored["model_state"]
    retained = strategy.from_checkpoint(restored["retained"])
    rows, global_step = saved["rows"], saved["global_step"]
    print(f"{workdir}: resuming after episode {episodes_done} of {num_tasks}.")

  # ---- Episodes --------------------------------------------------------------------------------------------
  lengths = [_episode_length(len(task), config) for task in train_tasks]
  # Episodes of the same length share one optimiser and one jitted step (compiled again only when the episode
  # inputs change structure); the learning-rate schedule depends on the epoch length unless it is constant.
  schedule_needs_epochs = config.optimizer.get("schedule", "constant") != "constant" or config.optimizer.get(
    "warmup_epochs", 0
  )
  compiled = {}

  def episode_steps(steps_per_epoch: int, total_steps: int) -> _EpisodeSteps:
    key = (steps_per_epoch if schedule_needs_epochs else None, total_steps)
    if key in compiled:
      return compiled[key]
    tx = optimizer.create(config.optimizer, steps_per_epoch=steps_per_epoch, num_epochs=config.num_epochs)

    def start_state(params, model_state, rng):
      return {
        "step": jnp.zeros((), jnp.int32),
        "rng": rng,
        "params": params,
        "model_state": model_state,
        "opt_state": tx.init(params),
        "tracked": strategy.track_start(params),
      }

    state_sharding = layout(jax.eval_shape(start_state, params, model_state, jax.random.PRNGKey(0)))
    train_step = continual_step.make_train_step(
      model_parts, objective, tx, strategy=strategy, settings=settings, total_steps=total_steps
    )
    compiled[key] = _EpisodeSteps(
      # Fresh buffers: the train step donates the state, while the parameters it starts from live on in what the
      # strategy retains and in the episode inputs (the previous network).
      start=jax.jit(start_state, out_shardings=state_sharding),
      train=jax.jit(train_step, out_shardings=(state_sharding, replicated), donate_argnums=0),
    )
    return compiled[key]

  log = run_dir.metrics_log(config.to_dict(), resume_step=global_step, enabled=is_chief)
  bar = tqdm(
    total=sum(total for _, total in lengths),
    initial=sum(total for _, total in lengths[:episodes_done]),
    unit="step",
    disable=not is_chief,
    dynamic_ncols=True,
  )

  def train_episode(episode: int, state, episode_inputs, stop):
    """Trains episode `episode` from `state`; returns the state at its end. Raises EpisodePreempted on SIGTERM."""
    steps_per_epoch, total_steps = lengths[episode]
    train_step = episode_steps(steps_per_epoch, total_steps).train
    data = strategies.EpisodeData(
      seed=config.seed * 1000 + episode,
      total_steps=total_steps,
      num_classes=inputs.num_classes,
      sharding=batch_sharding,
      make_batches=make_batches,
    )
    batches = make_batches(
      train_tasks[episode],
      batch_size=config.batch_size,
      seed=data.seed,
      num_epochs=math.ceil(total_steps / steps_per_epoch),
    )
    if strategy.batches is not None:
      batches = strategy.batches(batches, retained, settings, data)
    window = loop.MetricsWindow(config.batch_size)
    try:
      for episode_step in range(1, total_steps + 1):
        batch = window.next_batch(batches)
        state, step_metrics = train_step(state, episode_inputs, batch)
        window.add(step_metrics, examples=len(batch["label"]))  # replay's memory examples included
        bar.update(1)
        step_number = global_step + episode_step
        preempted = stop.raised or (multi_process and ckpt.reached_preemption(step_number))
        if episode_step % config.log_every_steps == 0 or episode_step == total_steps or preempted:
          try:
            summary = window.flush(step_number)
          except loop.NonFiniteError as e:
            raise loop.NonFiniteError(
              f"{e} (episode {episode}, its step {episode_step}; the last good checkpoint is that of episode "
              f"{episode} (0: none) in {workdir}/checkpoints.)"
            ) from None
          log.write(step_number, episode + episode_step / total_steps, summary | {"episode": episode})
          bar.set_postfix(loss=f"{summary['train/loss']:.4f}", acc=f"{summary['train/accuracy']:.3f}")
        if preempted:
          ckpt.wait_until_finished()
          raise EpisodePreempted(episode, stop.signal_number or signal.SIGTERM)
    finally:
      batches.close()
    return state

  try:
    with loop.StopSignals() as stop:
      for episode in range(episodes_done, num_tasks):
        episode_inputs = {}
        if episode:  # the first episode has no earlier ones
          seen = _seen_classes(train_tasks[:episode], inputs.num_classes)
          start = strategies.EpisodeStart(episode, retained, params, model_state, seen, settings)
          episode_inputs = placed(strategy.episode_inputs(start))
        state = episode_steps(*lengths[episode]).start(
          params, model_state, jax.random.fold_in(jax.random.PRNGKey(config.seed), episode)
        )
        state = train_episode(episode, state, episode_inputs, stop)
        global_step += lengths[episode][1]
        start_params, params, model_state = params, state["params"], state["model_state"]

        # ---- End of the episode: what the strategy retains, evaluation on the tasks so far, checkpoint -------
        end = strategies.EpisodeEnd(
          episode=episode,
          retained=retained,
          start_params=start_params,
          params=params,
          model_state=model_state,
          tracked=state["tracked"],
          train_data=train_tasks[episode],
          settings=settings,
          seed=config.seed,
          loss_grad=lambda params, batch, model_state=model_state: loss_grad(params, model_state, batch),
          train_batches=lambda task=train_tasks[episode]: global_batches.evaluation(
            task,
            batch_size=config.batch_size,
            sharding=batch_sharding,
            normalization=inputs.normalization,
            transforms=inputs.eval_transforms,
          ),
        )
        retained = strategy.end_episode(end)
        row = [
          evaluate(params, model_state, test_tasks[j], batch_size=config.eval_batch_size)["eval/accuracy"]
          for j in range(episode + 1)
        ]
        rows.append(row)
        record = {f"eval/task{j}/accuracy": a for j, a in enumerate(row)}
        log.write(global_step, episode + 1.0, record | {"eval/mean_accuracy": float(np.mean(row)), "episode": episode})
        bar.write(
          f"episode {episode + 1}/{num_tasks}: accuracy per task {np.round(row, 4).tolist()}, mean {np.mean(row):.4f}"
        )
        saved_retained, retained_meta = strategy.to_checkpoint(retained)
        meta = {"config": config.to_dict(), "rows": rows, "global_step": global_step, "retained": retained_meta}
        state_to_save = {"params": params, "model_state": model_state, "retained": saved_retained}
        checkpoint.save(ckpt, episode + 1, state_to_save, meta)
  finally:
    bar.close()
    log.close()
    ckpt.wait_until_finished()
    ckpt.close()

  result = summarise(rows, num_tasks)
  if is_chief:
    run_dir.write_json(RESULTS_NAME, result)
  return result
