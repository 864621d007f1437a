"""The jitted train and eval steps: pure functions of the train state and a batch.

The train state is a dict:
  step         int32 scalar, the number of updates done
  rng          uint32[2] key; the step's randomness (dropout) is `fold_in(rng, step)`
  params       the model's `nnx.Param`s (float32)
  model_state  its other variables except RNG streams (e.g. BatchNorm statistics)
  opt_state    the optimiser state; with an alternate objective, a pair: the objective's and the alternate's
The model's structure is static: a `ModelParts` holds it in training mode (batch statistics, dropout on) and in
evaluation mode (running averages, dropout off), plus the model's RNG streams, which are reseeded every step from
`fold_in(rng, step)` so that a resumed run draws the same dropout masks as an uninterrupted one.

A batch is a dict of arrays with a leading batch axis:
  label        int32 `[B]` classes, or `[B, T]` for per-token labels (e.g. translation)
  label_mask   optional bool, the shape of `label`: False on padding tokens, which the loss and accuracy ignore
  mask         evaluation only: bool `[B]`, False on the examples that pad the last batch
  (any other)  the model's inputs: `model(batch["image"])` when `image` is the only one, else `model(**inputs)`
               (e.g. `tokens`, or `nodes`, `adjacency` and `node_mask`)

Mixed precision: with `compute_dtype=bfloat16` the parameters and float inputs are cast to bfloat16 for the forward
and backward pass (activations and matmuls in bfloat16); parameters, gradients, optimiser state and the loss stay
float32 (the losses upcast their logits). Integer and bool inputs (tokens, masks) are left as they are.
"""

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from el_jax import losses
from el_jax.evaluate.metrics import correct
from el_jax.train.adversarial import ATTACK_RNG_FOLD, Adversarial, adversarial_images

# The alternate update's randomness (its dropout masks): `fold_in(fold_in(rng, step), ALTERNATE_RNG_FOLD)`, apart
# from the first update's and the attack's.
ALTERNATE_RNG_FOLD = 0x7FFF_FFFE


@dataclasses.dataclass(frozen=True)
class ModelParts:
  """The static parts of a model: its structure in train and eval mode, and its RNG stream state and names."""

  train: Any
  eval: Any
  rng_state: Any
  rng_streams: tuple[str, ...]


def split_model(model: nnx.Module):
  """`(ModelParts, params, model_state)` of a (possibly abstract) model."""
  model.train()
  train_graphdef, params, rng_state, model_state = nnx.split(model, nnx.Param, nnx.RngState, ...)
  model.eval()
  eval_graphdef = nnx.graphdef(model)
  streams = tuple(sorted({v.tag for _, v in nnx.to_flat_state(rng_state) if isinstance(v, nnx.RngKey)}))
  return ModelParts(train_graphdef, eval_graphdef, rng_state, streams), params, model_state


def init_state(model: nnx.Module, tx: optax.GradientTransformation, *, seed: int = 0, alternating: bool = False):
  """`(ModelParts, state)` for `model`: its variables, a fresh optimiser state, step 0 and the RNG of `seed`. With
  `alternating`, the optimiser state is a pair, one for each of the two updates of `make_train_step`'s
  `alternate`."""
  model_parts, params, model_state = split_model(model)
  state = {
    "step": jnp.zeros((), jnp.int32),
    "rng": jax.random.PRNGKey(seed),
    "params": params,
    "model_state": model_state,
    "opt_state": (tx.init(params), tx.init(params)) if alternating else tx.init(params),
  }
  return model_parts, state


# Batch keys that are not model inputs.
NOT_INPUTS = ("label", "label_mask", "mask")


def model_inputs(batch: dict) -> dict:
  """The entries of `batch` that the model takes (every key but `label`, `label_mask` and `mask`)."""
  return {k: v for k, v in batch.items() if k not in NOT_INPUTS}


def label_weights(batch: dict):
  """Bool weights of the shape of `batch["label"]`: the `label_mask` (True when absent), and with the example
  `mask` of evaluation batches broadcast over per-token labels."""
  labels = batch["label"]
  weights = jnp.ones(labels.shape, bool) if "label_mask" not in batch else batch["label_mask"].astype(bool)
  if "mask" in batch:
    weights = weights & batch["mask"].reshape(batch["mask"].shape + (1,) * (labels.ndim - 1))
  return weights


def _cast(tree, dtype):
  return jax.tree.map(lambda x: x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x, tree)


def apply_model(
  graphdef,
  model_parts: ModelParts,
  params,
  model_state,
  inputs,
  *,
  rng=None,
  compute_dtype=jnp.float32,
  fused_output: bool = False,
):
  """`(logits, new_model_state)`: runs the model of `graphdef` (train or eval mode) on `inputs`, an array of images
  or a dict of model inputs (see the module docstring). With `fused_output`, the model's `linear_outputs` instead
  of its `__call__`: a `losses.LinearOutputs` (last hidden states and output projection) in place of the logits."""
  if compute_dtype != jnp.float32:
    params, inputs = _cast(params, compute_dtype), _cast(inputs, compute_dtype)
  # Copies made inside the trace, so that the model may update them (RNG reseeding, BatchNorm statistics).
  rng_state, model_state = jax.tree.map(lambda x: x, (model_parts.rng_state, model_state))
  model = nnx.merge(graphdef, params, rng_state, model_state)
  if rng is not None and model_parts.rng_streams:
    nnx.reseed(model, **{name: jax.random.fold_in(rng, i) for i, name in enumerate(model_parts.rng_streams)})
  call = model.linear_outputs if fused_output else model
  if not isinstance(inputs, dict):
    logits = call(inputs)
  elif set(inputs) == {"image"}:
    logits = call(inputs["image"])
  else:
    logits = call(**inputs)
  return logits, nnx.state(model, nnx.Not(nnx.Any(nnx.Param, nnx.RngState)))


def make_train_step(
  model_parts: ModelParts,
  objective_fn,
  tx: optax.GradientTransformation,
  *,
  total_steps: int,
  compute_dtype=jnp.float32,
  fused_output: bool = False,
  adversarial: Adversarial | None = None,
  normalization: tuple | None = None,
  alternate=None,
):
  """`train_step(state, batch) -> (state, metrics)`: one optimiser update on the batch objective.

  `objective_fn(logits, labels, *, where=None, progress)` returns the scalar training objective (e.g. from
  `el_jax.losses.get_objective`); `progress = step / total_steps` lets scheduled loss weights follow training.
  A batch's `label_mask`, when present, is the objective's `where`. Metrics: loss, accuracy (over the unmasked
  labels), the per-label logit-gradient norm (`logit_grad_norm`, see `logit_gradient_norm`), gradient and parameter
  global norms, and `finite` (False if the loss, a gradient or an updated parameter is not finite).

  With `fused_output`, the objective takes the model's `linear_outputs` (see `apply_model`) and computes the loss
  without materialising the logits; the training accuracy and `logit_grad_norm`, which need every logit, are then
  not among the metrics (the evaluation's accuracy is, from the eval step's logits). The large-margin head
  (`config.loss.large_margin`) trains this way, so its runs log neither.

  With `adversarial` (`el_jax.train.adversarial`), the first `adversarial.count(B)` images of the batch are replaced
  by adversarial versions crafted against the current parameters (images standardised with `normalization`, the
  attack in [0, 1] pixel space) before the update, and `adv_accuracy` (the training forward pass's accuracy on them)
  joins the metrics. None (the default) leaves the step as it is without the option.

  With `alternate` (an objective like `objective_fn`), each batch gets two updates in turn, as complement objective
  training makes them (COT, Chen et al. 2019): one on `objective_fn`, then, from the parameters and model state it
  left, a second forward pass and one update on `alternate`, each update with its own optimiser state (the pair of
  `init_state(alternating=True)`; Chen et al.'s two SGD optimisers) and the same learning-rate schedule.
  `alternate_loss` joins the metrics; the others are the first update's.
  """

  def train_step(state, batch):
    rng = jax.random.fold_in(state["rng"], state["step"])
    progress = losses.training_progress(state["step"], total_steps)

    where = batch.get("label_mask")
    inputs = model_inputs(batch)
    if adversarial is not None:
      inputs = adversarial_inputs(
        adversarial,
        model_parts,
        state,
        inputs,
        batch["label"],
        rng,
        normalization=normalization,
        compute_dtype=compute_dtype,
      )

    def update(fn, params, model_state, opt_state, key):
      """One optimiser update on objective `fn`: `(loss, logits, grads, params, model_state, opt_state)`."""

      def objective(params):
        logits, new_model_state = apply_model(
          model_parts.train,
          model_parts,
          params,
          model_state,
          inputs,
          rng=key,
          compute_dtype=compute_dtype,
          fused_output=fused_output,
        )
        return fn(logits, batch["label"], where=where, progress=progress), (logits, new_model_state)

      (loss, (logits, model_state)), grads = jax.value_and_grad(objective, has_aux=True)(params)
      updates, opt_state = tx.update(grads, opt_state, params)
      return loss, logits, grads, optax.apply_updates(params, updates), model_state, opt_state

    opt_state = state["opt_state"][0] if alternate is not None else state["opt_state"]
    loss, logits, grads, params, model_state, opt_state = update(
      objective_fn, state["params"], state["model_state"], opt_state, rng
    )
    metrics = {"loss": loss}
    if alternate is not None:
      key = jax.random.fold_in(rng, ALTERNATE_RNG_FOLD)
      metrics["alternate_loss"], _, _, params, model_state, alternate_opt_state = update(
        alternate, params, model_state, state["opt_state"][1], key
      )
      opt_state = (opt_state, alternate_opt_state)
    new_state = dict(state, step=state["step"] + 1, params=params, model_state=model_state, opt_state=opt_state)
    grad_norm, param_norm = optax.tree.norm(grads), optax.tree.norm(new_state["params"])
    weights = label_weights(batch)
    if not fused_output:
      metrics["accuracy"] = jnp.sum(correct(logits, batch["label"], weights)) / jnp.maximum(jnp.sum(weights), 1)
      metrics["logit_grad_norm"] = logit_gradient_norm(objective_fn, logits, batch["label"], where, progress)
      if adversarial is not None:
        k = adversarial.count(batch["label"].shape[0])
        metrics["adv_accuracy"] = jnp.mean(correct(logits[:k], batch["label"][:k]))
    metrics |= {
      "grad_norm": grad_norm,
      "param_norm": param_norm,
      "finite": jnp.isfinite(loss) & jnp.isfinite(grad_norm) & jnp.isfinite(param_norm),
    }
    return new_state, metrics

  return train_step


def logit_gradient_norm(objective_fn, logits, labels, where, progress):
  r"""The mean over the unmasked labels (`where`, None for all) of :math:`n \lVert \partial J / \partial z_i \rVert_2`,
  for the batch objective :math:`J` of the logits :math:`z` and :math:`n` labels: for an objective that is the mean of
  per-example losses, the mean per-example logit-gradient norm :math:`\lVert \partial \ell_i / \partial z_i
  \rVert_2`, whose ratio to cross-entropy's the EL paper discusses (§4.2 (b): over 5x for LE = 1, under 1.7x for
  LE = 0.75). For a batch-level reduction (HEM's mean of the losses above zero, DICE) or class weights, it is the same
  norm of the objective's own gradient, each label's share of it scaled by :math:`n`.

  The gradient is the objective's at the step's logits, computed apart from the update (the logits held constant):
  one more pass of the loss alone, no pass through the model.
  """
  gradient = jax.grad(lambda z: objective_fn(z, labels, where=where, progress=progress))(jax.lax.stop_gradient(logits))
  weights = jnp.ones(labels.shape, bool) if where is None else jnp.asarray(where, bool)
  count = jnp.maximum(jnp.sum(weights), 1)
  norms = jnp.linalg.norm(gradient.astype(jnp.float32), axis=-1) * count
  return jnp.sum(jnp.where(weights, norms, 0.0)) / count


def adversarial_inputs(
  adversarial: Adversarial, model_parts, state, inputs, labels, rng, *, normalization=None, compute_dtype=jnp.float32
):
  """The batch's `{"image": ...}` with its first images replaced by adversarial ones (`adversarial_images`), crafted
  in `adversarial.attack_mode`: "eval" (running statistics, no dropout) or "train" (batch statistics and the
  update's dropout masks, the statistics discarded)."""
  if set(inputs) != {"image"} or labels.ndim != 1:
    raise ValueError(
      f"config.adversarial needs batches of images and one label per example; this one has inputs {sorted(inputs)} "
      f"and labels of shape {labels.shape}: unset config.adversarial.attack."
    )
  train_mode = adversarial.attack_mode == "train"
  graphdef = model_parts.train if train_mode else model_parts.eval

  def logits_fn(variables, images):
    params, model_state = variables
    logits, _ = apply_model(
      graphdef, model_parts, params, model_state, images, rng=rng if train_mode else None, compute_dtype=compute_dtype
    )
    return logits.astype(jnp.float32)

  key = jax.random.fold_in(rng, ATTACK_RNG_FOLD)
  images = adversarial_images(
    adversarial,
    logits_fn,
    (state["params"], state["model_state"]),
    inputs["image"],
    labels,
    key,
    normalization=normalization,
  )
  return {"image": images}


def make_eval_step(model_parts: ModelParts, objective_fn, *, compute_dtype=jnp.float32):
  """`eval_step(state, batch) -> sums` over the batch's unmasked labels.

  `weight` counts the unmasked labels (examples, or tokens for per-token labels) and `count` the unmasked examples.
  `loss` is the training objective at the end of training (`progress=1`) times `weight`, so that summing over
  batches and dividing by the summed weight gives the mean loss per label (for losses with a batch-level reduction,
  such as HEM's or DICE, the weighted mean of the batch objectives); `cross_entropy` and `accuracy` are sums over
  the unmasked labels.
  """

  def eval_step(state, batch):
    logits, _ = apply_model(
      model_parts.eval,
      model_parts,
      state["params"],
      state["model_state"],
      model_inputs(batch),
      compute_dtype=compute_dtype,
    )
    weights = label_weights(batch)
    weight = jnp.sum(weights)
    return {
      "loss": objective_fn(logits, batch["label"], where=weights, progress=1.0) * weight,
      "cross_entropy": jnp.sum(losses.cross_entropy(logits, batch["label"], where=weights)),
      "accuracy": jnp.sum(correct(logits, batch["label"], weights)),
      "weight": weight,
      "count": jnp.sum(batch["mask"]),
    }

  return eval_step
