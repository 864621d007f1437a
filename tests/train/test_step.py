"""One training step checked against the closed-form gradient of softmax regression."""

import json

import jax
import numpy as np
import optax
import pytest

from el_jax import losses, models
from el_jax.train import step
from tests.losses import reference


def test_one_sgd_step_of_a_linear_model_matches_closed_form():
  rng = np.random.default_rng(0)
  x = rng.uniform(size=(16, 4, 4, 1)).astype(np.float32)
  y = rng.integers(0, 3, 16)
  model = models.create("mlp", num_classes=3, input_shape=(4, 4, 1), depth=0)
  lr = 0.5
  tx = optax.sgd(lr)
  model_parts, state = step.init_state(model, tx)
  w, b = (
    np.asarray(model.head.kernel[...], np.float64),
    np.asarray(model.head.bias[...], np.float64),
  )

  objective = losses.get_objective("cross_entropy")
  train_step = jax.jit(step.make_train_step(model_parts, objective, tx, total_steps=10))
  new_state, metrics = train_step(state, {"image": x, "label": y})

  # Mean CE over the batch: dL/dW = X^T (p - Y) / B, dL/db = mean(p - Y).
  flat = x.reshape(16, -1).astype(np.float64)
  logits = flat @ w + b
  residual = reference.softmax(logits) - reference.one_hot(y, 3)
  new_w = w - lr * flat.T @ residual / 16
  new_b = b - lr * residual.mean(0)
  params = new_state["params"]
  np.testing.assert_allclose(params["head"]["kernel"][...], new_w, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(params["head"]["bias"][...], new_b, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(metrics["loss"], reference.cross_entropy(logits, y).mean(), rtol=1e-5)
  np.testing.assert_allclose(metrics["accuracy"], np.mean(logits.argmax(-1) == y))
  assert int(new_state["step"]) == 1
  # CE's logit gradient of example i is p_i - onehot(y_i).
  np.testing.assert_allclose(metrics["logit_grad_norm"], np.linalg.norm(residual, axis=-1).mean(), rtol=1e-5)


def test_alternate_updates_follow_cot_two_optimisers_by_hand():
  """COT as Chen et al. train it: per batch an SGD-momentum update on CE, then, from its parameters, one on the
  complement entropy with momentum of its own. Two steps of a linear model against the updates written out in
  numpy (the CE gradient p - e_y; the complement entropy's q_j (log q_j - sum_k q_k log q_k) / (K - 1) off the
  label, 0 at it)."""
  rng = np.random.default_rng(2)
  x = rng.uniform(size=(12, 2, 2, 1)).astype(np.float32)
  y = rng.integers(0, 4, 12)
  model = models.create("mlp", num_classes=4, input_shape=(2, 2, 1), depth=0)
  lr, momentum = 0.5, 0.9
  tx = optax.sgd(lr, momentum=momentum)
  model_parts, state = step.init_state(model, tx, alternating=True)
  w, b = np.asarray(model.head.kernel[...], np.float64), np.asarray(model.head.bias[...], np.float64)
  objective, complement = losses.get_objective("cross_entropy"), losses.get_objective("complement_entropy_loss")
  train_step = jax.jit(step.make_train_step(model_parts, objective, tx, total_steps=10, alternate=complement))

  flat, onehot = x.reshape(12, -1).astype(np.float64), reference.one_hot(y, 4)

  def gradient(w, b, kind):
    z = flat @ w + b
    if kind == "ce":
      g = reference.softmax(z) - onehot
    else:
      q = reference.softmax(np.where(onehot > 0, -np.inf, z))
      log_q = np.log(np.where(q > 0, q, 1.0))
      g = q * (log_q - np.sum(q * log_q, axis=-1, keepdims=True)) / 3
    return flat.T @ g / 12, g.mean(0)

  traces = {"ce": [0.0, 0.0], "complement": [0.0, 0.0]}
  for _ in range(2):
    state, metrics = train_step(state, {"image": x, "label": y})
    np.testing.assert_allclose(metrics["loss"], reference.cross_entropy(flat @ w + b, y).mean(), rtol=1e-5)
    for kind in ("ce", "complement"):
      if kind == "complement":
        expected = reference.complement_entropy_loss(flat @ w + b, y).mean()
        np.testing.assert_allclose(metrics["alternate_loss"], expected, rtol=1e-5)
      traces[kind] = [g + momentum * t for g, t in zip(gradient(w, b, kind), traces[kind], strict=True)]
      w, b = w - lr * traces[kind][0], b - lr * traces[kind][1]
  np.testing.assert_allclose(state["params"]["head"]["kernel"][...], w, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(state["params"]["head"]["bias"][...], b, rtol=1e-5, atol=1e-6)
  assert int(state["step"]) == 2


def test_logit_gradient_norm_is_the_mean_per_example_norm_over_the_unmasked_labels():
  rng = np.random.default_rng(1)
  z = rng.normal(size=(6, 5, 7)) * 3
  y = rng.integers(0, 7, (6, 5))
  where = rng.uniform(size=(6, 5)) < 0.7
  for name, hparams, grad in (
    ("cross_entropy", {}, lambda: reference.softmax(z) - reference.one_hot(y, 7)),
    ("encouraging_loss", {"log_end": 1.0}, lambda: reference.encouraging_loss_grad(z, y, log_end=1.0)),
  ):
    objective = losses.get_objective(name, **hparams)
    got = step.logit_gradient_norm(objective, np.float32(z), y, where, 0.5)
    np.testing.assert_allclose(got, np.linalg.norm(grad(), axis=-1)[where].mean(), rtol=1e-4)


def test_eval_step_masks_padding():
  model = models.create("mlp", num_classes=3, input_shape=(2, 2, 1), depth=0)
  model_parts, state = step.init_state(model, optax.sgd(0.1))
  x = np.random.default_rng(1).normal(size=(6, 2, 2, 1)).astype(np.float32)
  y = np.array([0, 1, 2, 0, 0, 0])
  mask = np.array([True] * 4 + [False] * 2)
  sums = jax.jit(step.make_eval_step(model_parts, losses.get_objective("cross_entropy")))(
    state, {"image": x, "label": y, "mask": mask}
  )
  logits = np.asarray(model(x[:4]), np.float64)
  assert int(sums["count"]) == 4
  np.testing.assert_allclose(sums["loss"], reference.cross_entropy(logits, y[:4]).sum(), rtol=1e-5)
  assert int(sums["accuracy"]) == int(np.sum(logits.argmax(-1) == y[:4]))


def test_resume_check_names_differences_and_treats_absent_as_none():
  from el_jax.train import checkpoint

  saved = {"model": {"name": "lenet"}, "dataset": {"name": "fashion_mnist"}, "num_epochs": 10}
  later = {"model": {"name": "lenet"}, "dataset": {"name": "fashion_mnist", "long_tail_ratio": None}, "num_epochs": 20}
  checkpoint.check_resumable(saved, later, where="w")  # a new optional setting, off; a resumable key changed
  with pytest.raises(ValueError, match=r"dataset\.long_tail_ratio: checkpoint '<absent>', now 10\.0"):
    checkpoint.check_resumable(
      saved, {**later, "dataset": {"name": "fashion_mnist", "long_tail_ratio": 10.0}}, where="w"
    )


def test_resume_may_change_the_metrics_writers():
  from el_jax.train import checkpoint

  saved = {"model": {"name": "lenet"}, "num_epochs": 10}  # written before config.writers existed
  later = {**saved, "writers": ("jsonl", "tensorboard", "wandb"), "wandb": {"project": "p", "mode": "online"}}
  checkpoint.check_resumable(saved, later, where="w")
  checkpoint.check_resumable(later, {**later, "writers": ("jsonl",)}, where="w")


def test_resume_check_matches_tuples_with_the_lists_of_the_saved_json():
  from el_jax.train import checkpoint

  config = {"optimizer": {"boundaries": (30, 60), "factors": (0.1, 0.1)}}
  saved = json.loads(json.dumps(config))  # as config.json and the checkpoint's meta hold it: lists
  checkpoint.check_resumable(saved, config, where="w")
  with pytest.raises(ValueError, match=r"optimizer\.boundaries: checkpoint \[30, 60\], now \[30, 80\]"):
    checkpoint.check_resumable(saved, {"optimizer": {"boundaries": (30, 80), "factors": (0.1, 0.1)}}, where="w")
