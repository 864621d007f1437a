"""The jitted train and eval steps: pure functions of the train state and a batch.

The train state is a dict `{"step", "params", "model_state", "opt_state"}`: the model's `nnx.Param`s, its other
variables (e.g. batch statistics), and the optimiser state. The model's structure (`graphdef`) is static; a model
has two, one in training mode (batch statistics, dropout on) for the train step and one in evaluation mode
(running averages, dropout off) for the eval step.
"""

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from el_jax import losses


def graphdefs(model: nnx.Module):
  """`(train_graphdef, eval_graphdef)`: the model's structure in training and in evaluation mode."""
  model.train()
  train_graphdef = nnx.graphdef(model)
  model.eval()
  eval_graphdef = nnx.graphdef(model)
  return train_graphdef, eval_graphdef


def init_state(model: nnx.Module, tx: optax.GradientTransformation):
  """`(train_graphdef, eval_graphdef, state)` for `model`, with a fresh optimiser state and step 0."""
  train_graphdef, eval_graphdef = graphdefs(model)
  params, model_state = nnx.state(model, nnx.Param, ...)
  state = {
    "step": jnp.zeros((), jnp.int32),
    "params": params,
    "model_state": model_state,
    "opt_state": tx.init(params),
  }
  return train_graphdef, eval_graphdef, state


def _apply(graphdef, params, model_state, images):
  model = nnx.merge(graphdef, params, model_state)
  logits = model(images)
  return logits, nnx.state(model, nnx.Not(nnx.Param))


def make_train_step(graphdef, loss_fn, tx: optax.GradientTransformation):
  """`train_step(state, batch) -> (state, metrics)`: one optimiser update on the batch's mean loss."""

  def train_step(state, batch):
    def objective(params):
      logits, model_state = _apply(graphdef, params, state["model_state"], batch["image"])
      return jnp.mean(loss_fn(logits, batch["label"])), (logits, model_state)

    (loss, (logits, model_state)), grads = jax.value_and_grad(objective, has_aux=True)(state["params"])
    updates, opt_state = tx.update(grads, state["opt_state"], state["params"])
    new_state = {
      "step": state["step"] + 1,
      "params": optax.apply_updates(state["params"], updates),
      "model_state": model_state,
      "opt_state": opt_state,
    }
    accuracy = jnp.mean(jnp.argmax(logits, axis=-1) == batch["label"])
    return new_state, {"loss": loss, "accuracy": accuracy}

  return train_step


def make_eval_step(graphdef, loss_fn):
  """`eval_step(state, batch) -> sums`: masked sums of the loss, cross-entropy and correct predictions."""

  def eval_step(state, batch):
    logits, _ = _apply(graphdef, state["params"], state["model_state"], batch["image"])
    mask = batch["mask"]
    correct = (jnp.argmax(logits, axis=-1) == batch["label"]) & mask
    return {
      "loss": jnp.sum(loss_fn(logits, batch["label"], where=mask)),
      "cross_entropy": jnp.sum(losses.cross_entropy(logits, batch["label"], where=mask)),
      "accuracy": jnp.sum(correct),
      "count": jnp.sum(mask),
    }

  return eval_step
