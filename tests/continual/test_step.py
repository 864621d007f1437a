"""One train step of each strategy on a one-hidden-layer MLP under SGD, against gradients written out in numpy:
x -> pre = x W1 + b1 -> h = relu(pre) -> z = h W2 + b2, mean cross-entropy."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from el_jax import losses, models
from el_jax.continual import step as continual_step
from el_jax.continual import strategies
from el_jax.train import step

LR = 0.5
N, K = 5, 3


def _setup():
  model = models.create("mlp", num_classes=K, input_shape=(2, 2, 1), depth=1, width=3, seed=0)
  model_parts, params, model_state = step.split_model(model)
  rng = np.random.default_rng(0)
  batch = {
    "image": jnp.asarray(rng.normal(size=(N, 2, 2, 1)), jnp.float32),
    "label": jnp.asarray([0, 2, 1, 2, 0], jnp.int32),
  }
  return model_parts, params, model_state, batch


def _like(params, seed, scale=1.0, positive=False):
  rng = np.random.default_rng(seed)

  def draw(x):
    value = rng.normal(size=np.shape(x)) * scale
    return jnp.asarray(np.abs(value) if positive else value, jnp.float32)

  return jax.tree.map(draw, params)


def _np(tree) -> dict:
  """The MLP's four parameter arrays as float64 numpy arrays."""
  hidden, head = tree["hidden"][0], tree["head"]
  return {
    name: np.asarray(layer[key][...], np.float64)
    for name, layer, key in (
      ("w1", hidden, "kernel"),
      ("b1", hidden, "bias"),
      ("w2", head, "kernel"),
      ("b2", head, "bias"),
    )
  }


def _forward(p, x):
  x = np.asarray(x, np.float64).reshape(len(x), -1)
  pre = x @ p["w1"] + p["b1"]
  h = np.maximum(pre, 0)
  return x, pre, h, h @ p["w2"] + p["b2"]


def _softmax(z):
  e = np.exp(z - z.max(axis=-1, keepdims=True))
  return e / e.sum(axis=-1, keepdims=True)


def _backward(p, x, pre, h, dz, dh_extra=0.0) -> dict:
  """Gradients of the parameters given the loss's gradient in the logits `dz` (and any extra one in `h`)."""
  dh = dz @ p["w2"].T + dh_extra
  dpre = dh * (pre > 0)
  return {"w1": x.T @ dpre, "b1": dpre.sum(0), "w2": h.T @ dz, "b2": dz.sum(0)}


def _cross_entropy(p, batch):
  """`(ce, its gradients, forward values)` of the mean cross-entropy."""
  x, pre, h, z = _forward(p, batch["image"])
  labels = np.asarray(batch["label"])
  probs, onehot = _softmax(z), np.eye(K)[labels]
  ce = -np.mean(np.log(probs[np.arange(N), labels]))
  return ce, _backward(p, x, pre, h, (probs - onehot) / N), (x, pre, h, z)


def _run(name, settings, episode_inputs):
  model_parts, params, model_state, batch = _setup()
  strategy = strategies.get(name)
  settings = strategy.settings(settings)
  tx = optax.sgd(LR)
  state = {
    "step": jnp.zeros((), jnp.int32),
    "rng": jax.random.PRNGKey(0),
    "params": params,
    "model_state": model_state,
    "opt_state": tx.init(params),
    "tracked": strategy.track_start(params),
  }
  train_step = continual_step.make_train_step(
    model_parts, losses.get_objective("cross_entropy"), tx, strategy=strategy, settings=settings, total_steps=10
  )
  inputs = episode_inputs(params, model_state) if callable(episode_inputs) else episode_inputs
  new_state, metrics = jax.jit(train_step)(state, inputs, batch)
  return _np(params), batch, new_state, jax.device_get(metrics)


def _assert_sgd(before, after, grads, frozen=()):
  for key, value in _np(after).items():
    expected = before[key] if key in frozen else before[key] - LR * grads[key]
    np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-6, err_msg=key)


def test_the_first_episode_trains_on_the_task_loss_alone():
  # LwF's inputs are empty in the first episode: no distillation, task weight 1.
  before, batch, state, metrics = _run("lwf", {"alpha": 3.0, "scale_task_loss": True}, {})
  ce, grads, (*_, z) = _cross_entropy(before, batch)
  _assert_sgd(before, state["params"], grads)
  np.testing.assert_allclose([metrics["loss"], metrics["task_loss"]], [ce, ce], rtol=1e-5)
  assert metrics["penalty"] == 0 and metrics["finite"]
  assert metrics["accuracy"] == pytest.approx(np.mean(z.argmax(-1) == np.asarray(batch["label"])))
  assert int(state["step"]) == 1 and state["tracked"] == {}


def test_ewc_adds_twice_lambda_fisher_times_the_distance_to_each_anchor_to_the_gradient():
  def inputs(params, _):
    anchors = {
      f"episode{e}": {"fisher": _like(params, e, positive=True), "params": _like(params, e + 10)} for e in (0, 1)
    }
    return {"anchors": anchors, "strength": jnp.float32(0.3)}

  before, batch, state, metrics = _run("ewc", {"strength": 0.3}, inputs)
  model_parts, params, _, _ = _setup()
  anchors = inputs(params, None)["anchors"]
  ce, grads, _ = _cross_entropy(before, batch)
  penalty = 0.0
  for anchor in anchors.values():
    fisher, theta = _np(anchor["fisher"]), _np(anchor["params"])
    for key in grads:
      penalty += 0.3 * np.sum(fisher[key] * (before[key] - theta[key]) ** 2)
      grads[key] = grads[key] + 2 * 0.3 * fisher[key] * (before[key] - theta[key])
  _assert_sgd(before, state["params"], grads)
  np.testing.assert_allclose(
    [metrics["penalty"], metrics["loss"], metrics["task_loss"]], [penalty, ce + penalty, ce], rtol=1e-5
  )


def test_si_clips_the_importance_and_its_path_integral_takes_the_task_gradient_alone():
  def inputs(params, _):
    importance = _like(params, 1, scale=2e-3, positive=True)  # about half of it above the 1e-3 clip
    return {"importance": importance, "anchor": _like(params, 2), "strength": jnp.float32(50.0)}

  settings = {"strength": 50.0, "damping": 0.1, "max_importance": 1e-3}
  before, batch, state, metrics = _run("si", settings, inputs)
  _, params, _, _ = _setup()
  given = inputs(params, None)
  importance, anchor = _np(given["importance"]), _np(given["anchor"])
  ce, task_grads, _ = _cross_entropy(before, batch)
  grads, penalty = {}, 0.0
  for key in task_grads:
    clipped = np.minimum(importance[key], 1e-3)
    penalty += 50.0 * np.sum(clipped * (before[key] - anchor[key]) ** 2)
    grads[key] = task_grads[key] + 2 * 50.0 * clipped * (before[key] - anchor[key])
  _assert_sgd(before, state["params"], grads)
  np.testing.assert_allclose(metrics["penalty"], penalty, rtol=1e-5)
  after, path = _np(state["params"]), _np(state["tracked"]["path"])
  for key in task_grads:  # omega = -g_task * (theta_new - theta_old), starting from zero
    np.testing.assert_allclose(path[key], -task_grads[key] * (after[key] - before[key]), rtol=1e-4, atol=1e-9)


def test_lfl_pulls_the_features_towards_the_previous_network_and_freezes_the_classifier():
  def inputs(params, model_state):
    previous = {"params": _like(params, 5), "model_state": model_state}
    start = strategies.EpisodeStart(1, {}, previous["params"], model_state, np.ones(K, bool), {"strength": 0.7})
    return strategies.get("lfl").episode_inputs(start)

  before, batch, state, metrics = _run("lfl", {"strength": 0.7}, inputs)
  _, params, model_state, _ = _setup()
  old = _np(inputs(params, model_state)["previous"]["params"])
  ce, _, (x, pre, h, z) = _cross_entropy(before, batch)
  h_old = _forward(old, batch["image"])[2]
  distance = np.mean((h - h_old) ** 2)
  dz = (_softmax(z) - np.eye(K)[np.asarray(batch["label"])]) / N
  grads = _backward(before, x, pre, h, dz, dh_extra=0.7 * 2 * (h - h_old) / h.size)
  _assert_sgd(before, state["params"], grads, frozen=("w2", "b2"))
  np.testing.assert_allclose([metrics["penalty"], metrics["loss"]], [0.7 * distance, ce + 0.7 * distance], rtol=1e-5)


def test_lwf_distills_the_previous_outputs_over_the_seen_classes_and_weights_the_task_loss():
  seen = np.array([True, False, True])
  temperature, alpha, weight = 2.0, 1.5, 1 / 3

  def inputs(params, model_state):
    previous = {"params": _like(params, 6), "model_state": model_state}
    return {
      "previous": previous,
      "seen": jnp.asarray(seen),
      "alpha": jnp.float32(alpha),
      "task_weight": jnp.float32(weight),
    }

  before, batch, state, metrics = _run("lwf", {"alpha": alpha, "temperature": temperature}, inputs)
  _, params, model_state, _ = _setup()
  old = _np(inputs(params, model_state)["previous"]["params"])
  ce, _, (x, pre, h, z) = _cross_entropy(before, batch)
  z_old = _forward(old, batch["image"])[3]
  p, q = _softmax(z[:, seen] / temperature), _softmax(z_old[:, seen] / temperature)
  kl = np.mean(np.sum(q * (np.log(q) - np.log(p)), axis=1))
  dz = weight * (_softmax(z) - np.eye(K)[np.asarray(batch["label"])]) / N
  dz[:, seen] += alpha * (p - q) / (temperature * N)
  _assert_sgd(before, state["params"], _backward(before, x, pre, h, dz))
  np.testing.assert_allclose(
    [metrics["task_loss"], metrics["penalty"], metrics["loss"]], [ce, alpha * kl, weight * ce + alpha * kl], rtol=1e-5
  )


def test_a_non_finite_penalty_is_flagged():
  def inputs(params, _):
    return {"anchors": {"episode0": {"fisher": _like(params, 0), "params": params}}, "strength": jnp.float32(np.inf)}

  *_, metrics = _run("ewc", {"strength": 1.0}, inputs)
  assert not metrics["finite"]
