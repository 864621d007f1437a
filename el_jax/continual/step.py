"""The jitted train step of an episode: the loss objective plus the strategy's penalty.

`train_step(state, regs, batch) -> (state, metrics)`. `state` is the train state of `el_jax.train.step` (`step` counts
the episode's updates; SI adds `path`, its running path integral). `regs` holds what the strategy carries from the
earlier episodes and its weights for this episode; it is constant within an episode (empty in the first one):

  ewc     {"anchors": {name: {"fisher", "params"}}, "strength"}             penalty `ewc.penalty`
  si      {"importance", "anchor", "strength"}                              penalty `si.penalty`
  lfl     {"previous": {"params", "model_state"}, "strength", "frozen"}     `strength * lfl.feature_distance`
  lwf     {"previous": {...}, "seen", "alpha", "task_weight"}              `alpha * lwf.distillation_loss`
  replay  {} (the batch already holds the memory's examples)

The objective is `task_weight * L_task + output penalty + parameter penalty`. The previous network runs in
evaluation mode. Parameters in LFL's `frozen` mask (the classifier) get no update.
"""

import jax
import jax.numpy as jnp
import optax

from el_jax import losses
from el_jax.continual import ewc, features, lfl, lwf, si
from el_jax.train import step as train_step_lib

STRATEGIES = ("replay", "ewc", "si", "lfl", "lwf")


def make_train_step(
  model_parts,
  objective_fn,
  tx: optax.GradientTransformation,
  *,
  strategy: str,
  total_steps: int,
  temperature: float = 2.0,
  max_importance: float | None = None,
):
  """The train step of `strategy` (one of `STRATEGIES`) for an episode of `total_steps` updates."""
  if strategy not in STRATEGIES:
    raise ValueError(f"Unknown continual-learning strategy {strategy!r}. Valid: {', '.join(STRATEGIES)}.")
  needs_features = strategy == "lfl"

  def train_step(state, regs, batch):
    rng = jax.random.fold_in(state["rng"], state["step"])
    progress = losses.training_progress(state["step"], total_steps)
    previous = regs.get("previous")
    if previous is not None:
      previous_logits, previous_features, _ = features.apply_with_features(
        model_parts.eval, model_parts, previous["params"], previous["model_state"], batch["image"]
      )

    def objective(params):
      if needs_features:
        logits, feats, model_state = features.apply_with_features(
          model_parts.train, model_parts, params, state["model_state"], batch["image"], rng=rng
        )
      else:
        logits, model_state = train_step_lib.apply_model(
          model_parts.train, model_parts, params, state["model_state"], batch["image"], rng=rng
        )
      task = objective_fn(logits, batch["label"], progress=progress)
      extra = jnp.zeros((), jnp.float32)
      if previous is not None and strategy == "lfl":
        extra = regs["strength"] * lfl.feature_distance(feats, previous_features)
      if previous is not None and strategy == "lwf":
        extra = regs["alpha"] * lwf.distillation_loss(logits, previous_logits, temperature, regs["seen"])
      return regs.get("task_weight", 1.0) * task + extra, (task, extra, logits, model_state)

    (_, (task, extra, logits, model_state)), grads = jax.value_and_grad(objective, has_aux=True)(state["params"])
    penalty = extra
    total_grads = grads
    if strategy == "ewc" and regs.get("anchors"):
      param_penalty, penalty_grads = jax.value_and_grad(ewc.penalty)(state["params"], regs["anchors"], regs["strength"])
    elif strategy == "si" and "importance" in regs:
      param_penalty, penalty_grads = jax.value_and_grad(
        lambda p: si.penalty(p, regs["importance"], regs["anchor"], regs["strength"], max_importance=max_importance)
      )(state["params"])
    else:
      param_penalty = penalty_grads = None
    if penalty_grads is not None:
      penalty = penalty + param_penalty
      total_grads = jax.tree.map(jnp.add, grads, penalty_grads)
    updates, opt_state = tx.update(total_grads, state["opt_state"], state["params"])
    if "frozen" in regs:
      updates = jax.tree.map(lambda u, frozen: jnp.where(frozen, jnp.zeros_like(u), u), updates, regs["frozen"])
    params = optax.apply_updates(state["params"], updates)
    new_state = dict(state, step=state["step"] + 1, params=params, model_state=model_state, opt_state=opt_state)
    if "path" in state:  # SI: the task gradient along the path actually taken
      new_state["path"] = si.accumulate_path(state["path"], grads, state["params"], params)
    grad_norm = optax.tree.norm(total_grads)
    loss = regs.get("task_weight", 1.0) * task + penalty
    metrics = {
      "loss": loss,
      "task_loss": task,
      "penalty": penalty,
      "accuracy": jnp.mean(jnp.argmax(logits, axis=-1) == batch["label"]),
      "grad_norm": grad_norm,
      "finite": jnp.isfinite(loss) & jnp.isfinite(grad_norm),
    }
    return new_state, metrics

  return train_step
