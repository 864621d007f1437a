"""The training loop: run setup -> jitted steps over a device mesh -> eval every epoch -> checkpoints.

`train_and_evaluate(config, workdir)` resumes from the workdir's latest checkpoint when there is one. With
`config.max_tokens` set, the training batches are token-count batches of parallel text (`el_jax.data.token_batches`)
and an epoch is as many steps as they make; otherwise `batch_size` examples per step. The train
state is created directly in its sharded layout (`jax.eval_shape` + `jax.jit(out_shardings=...)`), the input
pipeline hands the loop global batches already split over the mesh (`el_jax.data.global_batches`), and the train
step donates its input state. The evaluators of `config.evals` (`el_jax.evaluate`) run after the epochs they name.

Stopping early:
  * SIGTERM (preemption) or SIGINT (Ctrl-C): the run saves a checkpoint of the current step, waits for it to commit
    and raises `Preempted`; `train.py` then exits with status 143 (128 + SIGTERM) or 130 (128 + SIGINT). The same
    command resumes. A second Ctrl-C stops at once, without that checkpoint.
  * a non-finite loss, gradient or updated parameter raises `NonFiniteError` naming the step; no checkpoint is
    written after it, so the workdir keeps the last good one.
  * `config.early_stopping_patience = N` ends training once the eval `config.early_stopping_metric` ("loss" or
    "accuracy") has not improved for N epochs; the checkpoint of that epoch records it (and the best step), so
    rerunning the command evaluates instead of training on.

Profiling: `profile_steps=(A, B)` (`--profile_steps=A:B`) writes a `jax.profiler` trace of steps A..B-1 to
`<workdir>/tensorboard/plugins/profile/`, where TensorBoard's profile plugin finds it.

The pieces that are not about one run's epochs (`evaluate`, `MetricsWindow`, `StopSignals`, `compile_steps`) are
shared with the continual driver (`el_jax.continual`), which trains a sequence of episodes with them.
"""

import dataclasses
import json
import signal
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from tqdm import tqdm

from el_jax.data import global_batches, pipeline, token_batches
from el_jax.train import checkpoint, optimizer, setup, step
from el_jax.train import mesh as mesh_lib
from el_jax.train.adversarial import Adversarial
from el_jax.train.workdir import Workdir


class Preempted(Exception):  # noqa: N818 (an event, not an error)
  """Training stopped on SIGTERM (or SIGINT: `signal_number`) after checkpointing step `step`."""

  def __init__(self, step: int, signal_number: int = signal.SIGTERM):
    name = signal.Signals(signal_number).name
    super().__init__(f"preempted ({name}): checkpoint saved at step {step}; rerun the same command to resume.")
    self.step, self.signal_number = step, int(signal_number)


class NonFiniteError(FloatingPointError):
  """The loss or a gradient became NaN or infinite."""


class StopSignals:
  """Records SIGTERM and SIGINT (Ctrl-C) instead of dying, while installed, so the loop can checkpoint the current step
  and stop: `raised` is True once one arrived, `signal_number` says which. A second Ctrl-C while stopping raises
  KeyboardInterrupt at once. Single-process runs only: on several processes a signal reaching one of them cannot stop
  the others at the same step, so SIGTERM is left to the JAX coordination service (whose preemption sync point
  Orbax's `reached_preemption` reports at the same step on every process) and SIGINT keeps its default.
  """

  def __init__(self):
    self.raised, self.signal_number = False, None
    self._previous = {}

  def __enter__(self):
    names = () if jax.process_count() > 1 else (signal.SIGTERM, signal.SIGINT)
    self._previous = {s: signal.signal(s, self._handle) for s in names}
    return self

  def _handle(self, signum, frame):
    if self.raised and signum == signal.SIGINT:
      raise KeyboardInterrupt
    self.raised, self.signal_number = True, signum

  def __exit__(self, *exc):
    for s, previous in self._previous.items():
      signal.signal(s, previous)


def evaluate(eval_step, state, source, *, batch_size: int, sharding, normalization=None, transforms=()) -> dict:
  """Mean loss, cross-entropy and accuracy over every example of `source` (padded batches, masked), per label
  (per unmasked token for per-token labels), as `{"eval/loss": ..., "eval/cross_entropy": ..., "eval/accuracy": ...}`.

  `eval_step(state, batch) -> sums` is `step.make_eval_step`'s, jitted; the batches are global, laid out by
  `sharding`, and each process reads only its rows of them.
  """
  sums = None
  with global_batches.evaluation(
    source, batch_size=batch_size, sharding=sharding, normalization=normalization, transforms=transforms
  ) as batches:
    for batch in batches:
      out = eval_step(state, batch)
      sums = out if sums is None else jax.tree.map(jnp.add, sums, out)
  sums = jax.device_get(sums)
  count, weight = int(sums.pop("count")), float(sums.pop("weight"))
  if count != len(source):
    raise RuntimeError(f"evaluation saw {count} examples instead of {len(source)}.")
  if weight == 0:
    raise ValueError(f"{getattr(source, 'name', 'the evaluation set')} has no unmasked labels to evaluate.")
  return {f"eval/{k}": float(v) / weight for k, v in sums.items()}


class MetricsWindow:
  """The train steps' metrics since the last flush: their mean, the examples per second and the fraction of the
  time spent waiting for input, checked for non-finite values before they are logged."""

  def __init__(self, batch_size: int):
    self.batch_size = batch_size
    self._reset()

  def _reset(self) -> None:
    self.pending, self.examples, self.data_wait, self.start = [], 0, 0.0, time.perf_counter()

  def restart_clock(self) -> None:
    """Starts timing afresh (after a checkpoint or an evaluation, which are not training time)."""
    self.start = time.perf_counter()

  def next_batch(self, batches):
    """`next(batches)`, timing the wait."""
    fetch_start = time.perf_counter()
    batch = next(batches)
    if not self.pending or self.pending[-1]["loss"].is_ready():
      # Waiting for input stalls training only once the step before has finished: count the whole wait then (an
      # upper bound), and none of it while that step was still computing through it.
      self.data_wait += time.perf_counter() - fetch_start
    return batch

  def add(self, step_metrics: dict, *, examples: int | None = None) -> None:
    """Adds a step's metrics; `examples` is the number of examples it trained on (default: the batch size)."""
    self.pending.append(step_metrics)
    self.examples += self.batch_size if examples is None else examples

  def flush(self, step: int) -> dict:
    """`{"train/<name>": mean}` of the window ending at `step` (empty if the window is); starts a new window.

    Raises:
      NonFiniteError: naming the first step whose metrics say `finite` is False.
    """
    if not self.pending:
      return {}
    fetched = jax.device_get(self.pending)
    elapsed = time.perf_counter() - self.start
    bad = [i for i, m in enumerate(fetched) if not m["finite"]]
    if bad:
      first = step - len(fetched) + bad[0] + 1
      raise NonFiniteError(f"non-finite loss, gradients or parameters at step {first}; training stopped.")
    summary = {f"train/{k}": np.mean([m[k] for m in fetched]) for k in fetched[0] if k != "finite"}
    summary["train/examples_per_second"] = self.examples / elapsed
    summary["train/data_wait_fraction"] = self.data_wait / elapsed
    self._reset()
    return summary


class EarlyStopping:
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


@dataclasses.dataclass(frozen=True)
class Steps:
  """A run's jitted steps and the layouts they use."""

  train: object  # train(state, batch) -> (state, metrics), donating `state`
  eval: object  # eval(state, batch) -> sums (see `step.make_eval_step`)
  batch_sharding: object
  state_sharding: object


def compile_steps(
  model_parts: step.ModelParts,
  objective,
  tx,
  *,
  mesh,
  state_sharding,
  total_steps: int,
  config,
  fused_output: bool = False,
  adversarial: Adversarial | None = None,
  normalization: tuple | None = None,
  alternate=None,
):
  """The train and eval steps of `config` (its `compute_dtype`), jitted over `mesh`; the train step computes the
  loss fused with the output layer when `fused_output`, trains on `adversarial` examples crafted from images
  standardised with `normalization` when `adversarial` is set, and makes a second update on `alternate` when it is
  set (see `step.make_train_step`)."""
  compute_dtype = jnp.dtype(config.compute_dtype)
  batch_sharding, replicated = mesh_lib.batch_sharding(mesh), mesh_lib.replicated(mesh)
  train_step = jax.jit(
    step.make_train_step(
      model_parts,
      objective,
      tx,
      total_steps=total_steps,
      compute_dtype=compute_dtype,
      fused_output=fused_output,
      adversarial=adversarial,
      normalization=normalization,
      alternate=alternate,
    ),
    in_shardings=(state_sharding, batch_sharding),
    out_shardings=(state_sharding, replicated),
    donate_argnums=0,
  )
  eval_step = jax.jit(
    step.make_eval_step(model_parts, objective, compute_dtype=compute_dtype),
    in_shardings=(state_sharding, batch_sharding),
    out_shardings=replicated,
  )
  return Steps(train_step, eval_step, batch_sharding, state_sharding)


class StepProfiler:
  """A `jax.profiler` trace of the train steps `steps` (a range), written by process 0 (`enabled`) to `folder`.

  The trace starts before the first of them once the steps before it have finished, and stops once the last has
  finished (the loop dispatches steps asynchronously: without waiting, the trace would miss their work). A run that
  resumes inside the range traces the rest of it; one that stops inside it stops the trace (`close`).
  """

  def __init__(self, steps: range | None, folder: str, *, enabled: bool = True):
    self.steps, self.folder = (steps if enabled else None), folder
    self.active = False

  def before(self, step_number: int, state) -> None:
    if self.steps is not None and not self.active and step_number in self.steps:
      jax.block_until_ready(state)
      jax.profiler.start_trace(self.folder)
      self.active = True

  def after(self, step_number: int, outputs) -> None:
    if self.active and step_number == self.steps[-1]:
      jax.block_until_ready(outputs)
      self.close()

  def close(self) -> None:
    if self.active:
      jax.profiler.stop_trace()
      self.active, self.steps = False, None


def profile_range(profile_steps) -> range | None:
  """The steps `A..B-1` of `profile_steps`, given as "A:B" or `(A, B)`; None for None.

  Raises:
    ValueError: unless A and B are integers with 1 <= A < B.
  """
  if profile_steps is None:
    return None
  try:
    parts = profile_steps.split(":") if isinstance(profile_steps, str) else list(profile_steps)
    first, end = (int(p) for p in parts)
  except (TypeError, ValueError):
    first = end = None
  if first is None or first < 1 or end <= first:
    raise ValueError(
      f"profile_steps={profile_steps!r} is invalid: use A:B, the steps A..B-1 to trace, with 1 <= A < B (e.g. 10:15)."
    )
  return range(first, end)


def train_and_evaluate(config, workdir: str, *, profile_steps=None) -> dict:
  """Trains as `config` says, evaluating after every epoch; returns the last eval metrics.

  `profile_steps` ("A:B" or `(A, B)`) traces steps A..B-1 with `jax.profiler` (see `StepProfiler`).

  Raises:
    Preempted: on SIGTERM or SIGINT, after checkpointing the current step.
    NonFiniteError: on a non-finite loss, gradient or parameter, naming the step.
    ValueError: if the workdir holds a checkpoint of a different experiment, or the config or `profile_steps` is
      invalid.
    WorkdirLocked: if another trainer is running in the workdir.
  """
  setup.check_settings(config, num_devices=jax.device_count())
  profile = profile_range(profile_steps)
  with Workdir(workdir).lock(enabled=jax.process_index() == 0):
    return _train_and_evaluate(config, workdir, profile)


def _train_and_evaluate(config, workdir: str, profile: range | None = None) -> dict:
  from el_jax import evaluate as evaluators  # the evaluation suite imports this package

  # ---- Mesh ------------------------------------------------------------------------------------------------
  mesh = mesh_lib.create(config.mesh)
  is_chief = jax.process_index() == 0
  multi_process = jax.process_count() > 1
  evals = evaluators.check_evals(config.get("evals") or {})

  # ---- Inputs, model, objective, optimiser, state ------------------------------------------------------------
  inputs = setup.Inputs.from_config(config.dataset)
  spec = setup.ModelSpec.from_config(config.model, inputs)
  token_plan = None  # config.max_tokens: token-count batches of parallel text (el_jax.data.token_batches)
  if config.get("max_tokens"):
    token_plan = token_batches.TokenBatches.for_source(
      inputs.train, max_tokens=config.max_tokens, seed=config.seed, multiple=mesh_lib.batch_sharding(mesh).num_devices
    )
    steps_per_epoch = token_plan.num_batches
  else:
    steps_per_epoch = pipeline.steps_per_epoch(len(inputs.train), config.batch_size)
  total_steps = steps_per_epoch * config.num_epochs
  checkpoint_every = config.checkpoint_every_steps or steps_per_epoch
  objective = setup.objective(config.loss, inputs, total_steps)
  alternate = setup.alternate_objective(config.loss, inputs)
  adversarial = Adversarial.from_config(
    config.get("adversarial"), has_images=inputs.has_images, batch_size=config.batch_size
  )
  tx = optimizer.create(config.optimizer, steps_per_epoch=steps_per_epoch, num_epochs=config.num_epochs)

  def init_state():
    return step.init_state(spec.create(config.seed), tx, seed=config.seed, alternating=alternate is not None)[1]

  abstract_model = nnx.eval_shape(lambda: spec.create(config.seed))
  fused_output = setup.fused_output(config.loss, abstract_model)
  model_parts, _, _ = step.split_model(abstract_model)
  abstract_state = jax.eval_shape(init_state)
  state_sharding = mesh_lib.state_shardings(abstract_state, mesh, fsdp_min_size=config.mesh.get("fsdp_min_size", 2**14))

  run_dir = Workdir(workdir)
  ckpt = run_dir.checkpoints(max_to_keep=config.checkpoint_keep)
  abstract_state = jax.tree.map(  # restored straight into its sharded layout
    lambda x, sharding: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding), abstract_state, state_sharding
  )
  # Before the config is written: the checkpoint's may differ.
  start_step, state, saved = run_dir.resume(ckpt, config.to_dict(), lambda step, meta: abstract_state, chief=is_chief)
  run_dir.start(config.to_dict(), spec, chief=is_chief)
  if not start_step and config.model.get("checkpoint"):
    # Pretrained weights (e.g. BERT's) are read on the host and placed on the mesh, rather than becoming constants of
    # a compiled initialisation.
    state = jax.device_put(init_state(), state_sharding)
  elif not start_step:  # created in place, never materialised unsharded
    state = jax.jit(init_state, out_shardings=state_sharding)()

  steps = compile_steps(
    model_parts,
    objective,
    tx,
    mesh=mesh,
    state_sharding=state_sharding,
    total_steps=total_steps,
    config=config,
    fused_output=fused_output,
    adversarial=adversarial,
    normalization=inputs.normalization,
    alternate=alternate,
  )

  def run_eval(state):
    return evaluate(
      steps.eval,
      state,
      inputs.eval,
      batch_size=config.eval_batch_size,
      sharding=steps.batch_sharding,
      normalization=inputs.normalization,
      transforms=inputs.eval_transforms,
    )

  early_stopping = EarlyStopping(
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
  log = run_dir.metrics_log(config.to_dict(), resume_step=start_step, enabled=is_chief)
  profiler = StepProfiler(profile, run_dir.join("tensorboard"), enabled=is_chief)
  if token_plan is not None:
    batches = global_batches.train_tokens(
      inputs.train, token_plan, num_epochs=config.num_epochs, sharding=steps.batch_sharding, start_step=start_step
    )
  else:
    batches = global_batches.train(
      inputs.train,
      batch_size=config.batch_size,
      seed=config.seed,
      num_epochs=config.num_epochs,
      sharding=steps.batch_sharding,
      start_step=start_step,
      normalization=inputs.normalization,
      transforms=inputs.train_transforms,
    )
  meta = {"config": config.to_dict(), "data": {"seed": config.seed, "next_step": None}, "early_stopping": None}
  last_saved = start_step or None
  window, metrics = MetricsWindow(config.batch_size), {}

  def flush(step_number: int) -> None:
    """Logs the metrics of the steps since the last flush; raises NonFiniteError if one was not finite."""
    try:
      summary = window.flush(step_number)
    except NonFiniteError as e:
      ckpt.wait_until_finished()
      last_good = f"step {last_saved}" if last_saved else "none"
      raise NonFiniteError(f"{e} The last good checkpoint is {last_good} in {workdir}/checkpoints.") from None
    if summary:
      log.write(step_number, step_number / steps_per_epoch, summary)
      shown = {"loss": f"{summary['train/loss']:.4f}"}
      if "train/accuracy" in summary:  # not with a fused output layer (see step.make_train_step)
        shown["acc"] = f"{summary['train/accuracy']:.3f}"
      bar.set_postfix(**shown, img_per_s=f"{summary['train/examples_per_second']:.0f}")

  def save(step_number: int) -> None:
    nonlocal last_saved
    meta["data"]["next_step"] = step_number
    meta["early_stopping"] = early_stopping.state
    checkpoint.save(ckpt, step_number, state, meta)
    last_saved = step_number

  bar = tqdm(total=total_steps, initial=start_step, unit="step", disable=not is_chief, dynamic_ncols=True)
  try:
    with StopSignals() as stop:
      for step_number in range(start_step + 1, total_steps + 1):
        batch = window.next_batch(batches)
        profiler.before(step_number, state)
        state, step_metrics = steps.train(state, batch)
        profiler.after(step_number, (state, step_metrics))
        # examples: the batch's sentence pairs with token batches (empty rows not counted), else the batch size
        window.add(step_metrics, examples=token_plan and token_plan.sentences(step_number - 1))
        bar.update(1)
        end_of_epoch = step_number % steps_per_epoch == 0
        preempted = stop.raised or (multi_process and ckpt.reached_preemption(step_number))
        if (
          step_number % config.log_every_steps == 0 or end_of_epoch or step_number % checkpoint_every == 0 or preempted
        ):
          flush(step_number)
        stop_early = False
        if end_of_epoch:
          epoch = step_number // steps_per_epoch
          metrics = run_eval(state)
          if due := evaluators.due(evals, epoch):
            model = nnx.merge(model_parts.eval, state["params"], model_parts.rng_state, state["model_state"])
            metrics |= evaluators.run_during_training(due, model, inputs, config.loss.to_dict(), seed=config.seed)
          log.write(step_number, step_number / steps_per_epoch, metrics)
          bar.write(
            f"epoch {epoch}/{config.num_epochs}: eval loss {metrics['eval/loss']:.4f}, "
            f"accuracy {metrics['eval/accuracy']:.4f}"
          )
          stop_early = early_stopping.update(metrics, step_number)
        if end_of_epoch or step_number % checkpoint_every == 0 or preempted:
          save(step_number)
          window.restart_clock()
        if stop_early:
          bar.write(
            f"early stopping: the eval {early_stopping.metric} has not improved for {early_stopping.patience} "
            f"epochs (best {early_stopping.state['best']:.4f}, at step {early_stopping.state['best_step']})."
          )
          break
        if preempted:
          ckpt.wait_until_finished()
          raise Preempted(step_number, stop.signal_number or signal.SIGTERM)
  finally:
    profiler.close()
    batches.close()
    bar.close()
    log.close()
    ckpt.wait_until_finished()
    ckpt.close()
  return metrics
