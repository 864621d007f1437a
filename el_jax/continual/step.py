"""The jitted train step of an episode: the loss objective plus the terms of a strategy against forgetting.

`train_step(state, episode_inputs, batch) -> (state, metrics)`. `state` is the train state of `el_jax.train.step`
(`step` counts the episode's updates) plus `tracked`, the entries the strategy follows during the episode (SI's path
integral). `episode_inputs` is what the strategy takes from the earlier episodes (`Strategy.episode_inputs`), constant
within the episode and empty in the first one, which trains on the task loss alone. From the second episode on the
step minimises

    task_weight * L_task + output_penalty(f(x), f_old(x)) + parameter_penalty(theta),

with `f_old` the previous network (run in evaluation mode) when the strategy has an output penalty. The parameter
penalty is differentiated apart from the rest and its gradient added, so the strategy's tracking (SI) sees the
gradient of the task objective alone; parameters in the strategy's `frozen` mask get no update.

Metrics: loss (the whole objective), task_loss, penalty (both penalties), accuracy, grad_norm (of the whole
gradient), param_norm, and `finite` (False if the loss, the gradient or an updated parameter is not finite).
"""

import jax
import jax.numpy as jnp
import optax

from el_jax import losses
from el_jax.continual import features
from el_jax.continual.strategies import Outputs, Strategy
from el_jax.evaluate.metrics import correct
from el_jax.train import step as train_step_lib


def make_train_step(
  model_parts: train_step_lib.ModelParts,
  objective_fn,
  tx: optax.GradientTransformation,
  *,
  strategy: Strategy,
  settings: dict,
  total_steps: int,
):
  """The train step of an episode of `total_steps` updates under `strategy` with its `settings`."""

  def forward(graphdef, params, model_state, images, *, rng=None, with_features: bool):
    if with_features:
      logits, feats, model_state = features.apply_with_features(
        graphdef, model_parts, params, model_state, images, rng=rng
      )
      return Outputs(logits, feats), model_state
    logits, model_state = train_step_lib.apply_model(graphdef, model_parts, params, model_state, images, rng=rng)
    return Outputs(logits, None), model_state

  def train_step(state, episode_inputs, batch):
    rng = jax.random.fold_in(state["rng"], state["step"])
    progress = losses.training_progress(state["step"], total_steps)
    has_past = bool(episode_inputs)  # static: False in the first episode
    output_penalty = strategy.output_penalty if has_past else None
    parameter_penalty = strategy.parameter_penalty if has_past else None
    task_weight = strategy.task_weight(episode_inputs) if has_past else 1.0
    if output_penalty is not None:
      previous = episode_inputs["previous"]
      previous_outputs, _ = forward(
        model_parts.eval, previous["params"], previous["model_state"], batch["image"], with_features=True
      )

    def objective(params):
      outputs, model_state = forward(
        model_parts.train, params, state["model_state"], batch["image"], rng=rng, with_features=strategy.needs_features
      )
      task = objective_fn(outputs.logits, batch["label"], progress=progress)
      extra = jnp.zeros((), jnp.float32)
      if output_penalty is not None:
        extra = output_penalty(outputs, previous_outputs, episode_inputs, settings)
      return task_weight * task + extra, (task, extra, outputs.logits, model_state)

    (_, (task, penalty, logits, model_state)), grads = jax.value_and_grad(objective, has_aux=True)(state["params"])
    total_grads = grads
    if parameter_penalty is not None:
      param_penalty, penalty_grads = jax.value_and_grad(lambda p: parameter_penalty(p, episode_inputs, settings))(
        state["params"]
      )
      penalty = penalty + param_penalty
      total_grads = jax.tree.map(jnp.add, grads, penalty_grads)
    updates, opt_state = tx.update(total_grads, state["opt_state"], state["params"])
    if has_past and strategy.frozen is not None:
      frozen = strategy.frozen(episode_inputs)
      updates = jax.tree.map(lambda u, f: jnp.where(f, jnp.zeros_like(u), u), updates, frozen)
    params = optax.apply_updates(state["params"], updates)
    tracked = state["tracked"]
    if strategy.track_update is not None:
      tracked = strategy.track_update(tracked, grads, state["params"], params)
    new_state = dict(
      state, step=state["step"] + 1, params=params, model_state=model_state, opt_state=opt_state, tracked=tracked
    )
    loss = task_weight * task + penalty
    grad_norm, param_norm = optax.tree.norm(total_grads), optax.tree.norm(params)
    metrics = {
      "loss": loss,
      "task_loss": task,
      "penalty": penalty,
      "accuracy": jnp.mean(correct(logits, batch["label"])),
      "grad_norm": grad_norm,
      "param_norm": param_norm,
      "finite": jnp.isfinite(loss) & jnp.isfinite(grad_norm) & jnp.isfinite(param_norm),
    }
    return new_state, metrics

  return train_step
