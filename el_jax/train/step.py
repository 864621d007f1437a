"""The jitted train and eval steps: pure functions of the train state and a batch.

The train state is a dict:
  step         int32 scalar, the number of updates done
  rng          uint32[2] key; the step's randomness (dropout) is `fold_in(rng, step)`
  params       the model's `nnx.Param`s (float32)
  model_state  its other variables except RNG streams (e.g. BatchNorm statistics)
  opt_state    the optimiser state
The model's structure is static: a `Graphdefs` holds it in training mode (batch statistics, dropout on) and in
evaluation mode (running averages, dropout off), plus the model's RNG streams, which are reseeded every step from
`fold_in(rng, step)` so that a resumed run draws the same dropout masks as an uninterrupted one.

Mixed precision: with `compute_dtype=bfloat16` the parameters and images are cast to bfloat16 for the forward and
backward pass (activations and matmuls in bfloat16); parameters, gradients, optimiser state and the loss stay
float32 (the losses upcast their logits).
"""

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from el_jax import losses


@dataclasses.dataclass(frozen=True)
class Graphdefs:
  """The static parts of a model: its structure in train and eval mode, and its RNG stream state and names."""

  train: Any
  eval: Any
  rng_state: Any
  rng_streams: tuple[str, ...]


def split_model(model: nnx.Module):
  """`(Graphdefs, params, model_state)` of a (possibly abstract) model."""
  model.train()
  train_graphdef, params, rng_state, model_state = nnx.split(model, nnx.Param, nnx.RngState, ...)
  model.eval()
  eval_graphdef = nnx.graphdef(model)
  streams = tuple(sorted({v.tag for _, v in nnx.to_flat_state(rng_state) if isinstance(v, nnx.RngKey)}))
  return Graphdefs(train_graphdef, eval_graphdef, rng_state, streams), params, model_state


def init_state(model: nnx.Module, tx: optax.GradientTransformation, *, seed: int = 0):
  """`(Graphdefs, state)` for `model`: its variables, a fresh optimiser state, step 0 and the RNG of `seed`."""
  graphdefs, params, model_state = split_model(model)
  state = {
    "step": jnp.zeros((), jnp.int32),
    "rng": jax.random.PRNGKey(seed),
    "params": params,
    "model_state": model_state,
    "opt_state": tx.init(params),
  }
  return graphdefs, state


def _cast(tree, dtype):
  return jax.tree.map(lambda x: x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x, tree)


def apply_model(graphdef, graphdefs: Graphdefs, params, model_state, images, *, rng=None, compute_dtype=jnp.float32):
  """`(logits, new_model_state)`: runs the model of `graphdef` (train or eval mode) on `images`."""
  if compute_dtype != jnp.float32:
    params, images = _cast(params, compute_dtype), images.astype(compute_dtype)
  # Copies made inside the trace, so that the model may update them (RNG reseeding, BatchNorm statistics).
  rng_state, model_state = jax.tree.map(lambda x: x, (graphdefs.rng_state, model_state))
  model = nnx.merge(graphdef, params, rng_state, model_state)
  if rng is not None and graphdefs.rng_streams:
    nnx.reseed(model, **{name: jax.random.fold_in(rng, i) for i, name in enumerate(graphdefs.rng_streams)})
  logits = model(images)
  return logits, nnx.state(model, nnx.Not(nnx.Any(nnx.Param, nnx.RngState)))


def make_train_step(
  graphdefs: Graphdefs, objective_fn, tx: optax.GradientTransformation, *, total_steps: int, compute_dtype=jnp.float32
):
  """`train_step(state, batch) -> (state, metrics)`: one optimiser update on the batch objective.

  `objective_fn(logits, labels, *, where=None, progress)` returns the scalar training objective (e.g. from
  `el_jax.losses.get_objective`); `progress = step / total_steps` lets scheduled loss weights follow training.
  Metrics: loss, accuracy, gradient and parameter global norms, and `finite` (False if the loss, a gradient or an
  updated parameter is not finite).
  """

  def train_step(state, batch):
    rng = jax.random.fold_in(state["rng"], state["step"])
    progress = losses.training_progress(state["step"], total_steps)

    def objective(params):
      logits, model_state = apply_model(
        graphdefs.train, graphdefs, params, state["model_state"], batch["image"], rng=rng, compute_dtype=compute_dtype
      )
      return objective_fn(logits, batch["label"], progress=progress), (logits, model_state)

    (loss, (logits, model_state)), grads = jax.value_and_grad(objective, has_aux=True)(state["params"])
    updates, opt_state = tx.update(grads, state["opt_state"], state["params"])
    new_state = dict(
      state,
      step=state["step"] + 1,
      params=optax.apply_updates(state["params"], updates),
      model_state=model_state,
      opt_state=opt_state,
    )
    grad_norm, param_norm = optax.tree.norm(grads), optax.tree.norm(new_state["params"])
    metrics = {
      "loss": loss,
      "accuracy": jnp.mean(jnp.argmax(logits, axis=-1) == batch["label"]),
      "grad_norm": grad_norm,
      "param_norm": param_norm,
      "finite": jnp.isfinite(loss) & jnp.isfinite(grad_norm) & jnp.isfinite(param_norm),
    }
    return new_state, metrics

  return train_step


def make_eval_step(graphdefs: Graphdefs, objective_fn, *, compute_dtype=jnp.float32):
  """`eval_step(state, batch) -> sums` over the batch's unmasked examples.

  `loss` is the training objective at the end of training (`progress=1`) times the number of unmasked examples, so
  that summing over batches and dividing by the count gives the mean per-example loss (for losses with a batch-level
  reduction, such as HEM's or DICE, the example-weighted mean of the batch objectives); `cross_entropy` and
  `accuracy` are sums over examples.
  """

  def eval_step(state, batch):
    logits, _ = apply_model(
      graphdefs.eval, graphdefs, state["params"], state["model_state"], batch["image"], compute_dtype=compute_dtype
    )
    mask = batch["mask"]
    correct = (jnp.argmax(logits, axis=-1) == batch["label"]) & mask
    return {
      "loss": objective_fn(logits, batch["label"], where=mask, progress=1.0) * jnp.sum(mask),
      "cross_entropy": jnp.sum(losses.cross_entropy(logits, batch["label"], where=mask)),
      "accuracy": jnp.sum(correct),
      "count": jnp.sum(mask),
    }

  return eval_step
