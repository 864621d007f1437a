"""The strategies registry and each strategy's between-episode functions, against hand-computed values."""

import contextlib
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from el_jax.continual import replay, strategies
from el_jax.data import ArrayDataset

ALL = ("replay", "ewc", "si", "lfl", "lwf")
SETTINGS = {
  "replay": {"memory_size": 6, "memory_batch_size": 4},
  "ewc": {"strength": 0.5},
  "si": {"strength": 2.0, "damping": 0.1, "max_importance": 1e-3},
  "lfl": {"strength": [1e-4, 2e-4]},
  "lwf": {"alpha": [0.0, 0.5, 1.5], "temperature": 2.0, "scale_task_loss": True},
}


def _params(seed=0):
  rng = np.random.default_rng(seed)
  return {
    "hidden": {"kernel": jnp.asarray(rng.normal(size=(4, 3)), jnp.float32), "bias": jnp.zeros(3)},
    "head": {"kernel": jnp.asarray(rng.normal(size=(3, 2)), jnp.float32), "bias": jnp.ones(2)},
  }


def _data(labels, *, offset=0):
  labels = np.asarray(labels, np.int32)
  ids = (np.arange(len(labels)) + offset).astype(np.float32)
  return ArrayDataset(ids.reshape(-1, 1, 1, 1), labels, 4, name="toy")


def _start(name, episode, retained, params, seen=(True, False, False, False)):
  settings = strategies.get(name).settings(SETTINGS[name])
  return strategies.EpisodeStart(episode, retained, params, {}, np.asarray(seen), settings)


def _end(name, retained, params, *, start_params=None, tracked=None, data=None, loss_grad=None, batches=()):
  return strategies.EpisodeEnd(
    episode=1,
    retained=retained,
    start_params=start_params if start_params is not None else params,
    params=params,
    model_state={},
    tracked=tracked or {},
    train_data=data if data is not None else _data([0, 1]),
    settings=strategies.get(name).settings(SETTINGS[name]),
    seed=3,
    loss_grad=loss_grad,
    train_batches=lambda: contextlib.nullcontext(iter(batches)),
  )


# ---- Registry and settings ---------------------------------------------------------------------------------------
def test_registry_holds_the_five_strategies_by_name_and_names_the_valid_ones_for_an_unknown_one():
  assert strategies.names() == list(ALL)
  for name in ALL:
    strategy = strategies.get(name)
    assert isinstance(strategy, strategies.Strategy) and strategy.name == name
  with pytest.raises(ValueError, match="Unknown continual.strategy 'gem'. Valid: replay, ewc, si, lfl, lwf."):
    strategies.get("gem")


def test_settings_fill_the_defaults_and_name_missing_and_unknown_ones():
  assert strategies.get("si").settings({"strength": 1.0, "damping": 0.1}) == {
    "strength": 1.0,
    "damping": 0.1,
    "max_importance": None,
  }
  lwf = strategies.get("lwf").settings({"alpha": 1.0})
  assert lwf == {"alpha": 1.0, "temperature": 2.0, "scale_task_loss": False}
  with pytest.raises(ValueError, match=r"config.continual.si: missing 'damping'\. Settings of si: strength, damping"):
    strategies.get("si").settings({"strength": 1.0})
  with pytest.raises(ValueError, match=r"config.continual.ewc: unknown 'lambda'"):
    strategies.get("ewc").settings({"strength": 1.0, "lambda": 2.0})
  with pytest.raises(ValueError, match="missing 'memory_size', 'memory_batch_size'"):
    strategies.get("replay").settings(None)


def test_a_per_episode_setting_is_a_number_or_one_value_per_episode_the_last_repeating():
  assert strategies.for_episode(0.5, 7) == 0.5
  assert [strategies.for_episode([1, 2, 3], e) for e in range(5)] == [1.0, 2.0, 3.0, 3.0, 3.0]
  with pytest.raises(ValueError, match="empty list"):
    strategies.for_episode([], 0)


# ---- Episode inputs ----------------------------------------------------------------------------------------------
def test_lwf_inputs_weight_episode_t_by_alpha_t_and_its_task_loss_by_one_over_t_plus_one():
  params = _params()
  inputs = strategies.get("lwf").episode_inputs(_start("lwf", 2, {}, params, seen=(True, True, False, True)))
  assert float(inputs["alpha"]) == 1.5 and float(inputs["task_weight"]) == pytest.approx(1 / 3)
  assert inputs["seen"].tolist() == [True, True, False, True]
  assert inputs["previous"]["params"] is params
  assert strategies.get("lwf").task_weight(inputs) is inputs["task_weight"]
  unscaled = strategies.get("lwf").settings({"alpha": 1.0})
  start = strategies.EpisodeStart(4, {}, params, {}, np.ones(4, bool), unscaled)
  assert float(strategies.get("lwf").episode_inputs(start)["task_weight"]) == 1.0


def test_lfl_inputs_freeze_the_classifier_and_take_the_episode_strength():
  params = _params()
  inputs = strategies.get("lfl").episode_inputs(_start("lfl", 1, {}, params))
  assert float(inputs["strength"]) == pytest.approx(2e-4)
  frozen = strategies.get("lfl").frozen(inputs)
  assert jax.tree.map(bool, frozen) == {
    "hidden": {"kernel": False, "bias": False},
    "head": {"kernel": True, "bias": True},
  }
  assert inputs["previous"]["params"] is params


def test_parameter_strategies_take_what_they_retained_and_their_strength():
  params = _params()
  anchors = {"episode0": {"fisher": params, "params": params}}
  ewc_inputs = strategies.get("ewc").episode_inputs(_start("ewc", 1, anchors, params))
  assert ewc_inputs["anchors"] is anchors and float(ewc_inputs["strength"]) == 0.5
  retained = {"importance": _params(1), "anchor": _params(2)}
  si_inputs = strategies.get("si").episode_inputs(_start("si", 1, retained, params))
  assert si_inputs["importance"] is retained["importance"] and si_inputs["anchor"] is retained["anchor"]
  assert float(si_inputs["strength"]) == 2.0
  assert strategies.get("replay").episode_inputs(_start("replay", 1, replay.empty((1, 1, 1), np.float32), params)) == {}


# ---- End of an episode ------------------------------------------------------------------------------------------
def test_si_consolidates_the_path_integral_over_the_damped_squared_displacement():
  start_params, params = _params(0), _params(1)
  path, importance = _params(2), jax.tree.map(jnp.abs, _params(3))
  strategy = strategies.get("si")
  retained = strategy.end_episode(
    _end(
      "si",
      {"importance": importance, "anchor": start_params},
      params,
      start_params=start_params,
      tracked={"path": path},
    )
  )
  for key in (("hidden", "kernel"), ("head", "bias")):
    get = lambda tree, key=key: np.asarray(tree[key[0]][key[1]], np.float64)  # noqa: E731
    delta = get(params) - get(start_params)
    np.testing.assert_allclose(get(retained["importance"]), get(importance) + get(path) / (delta**2 + 0.1), rtol=1e-5)
  assert retained["anchor"] is params
  assert set(strategy.track_start(params)) == {"path"}
  assert all(float(jnp.sum(jnp.abs(x))) == 0 for x in jax.tree.leaves(strategy.track_start(params)))


def test_ewc_adds_an_anchor_with_the_mean_squared_batch_gradient_as_fisher():
  params = _params()
  # A stand-in gradient per batch: the batch's value times ones, so F = mean_b value_b^2.
  batches = [{"value": 1.0}, {"value": -2.0}, {"value": 3.0}]
  loss_grad = lambda p, batch: jax.tree.map(lambda x: batch["value"] * jnp.ones_like(x), p)  # noqa: E731
  earlier = {"episode0": {"fisher": _params(5), "params": _params(6)}}
  retained = strategies.get("ewc").end_episode(_end("ewc", earlier, params, loss_grad=loss_grad, batches=batches))
  assert list(retained) == ["episode0", "episode1"] and retained["episode0"] is earlier["episode0"]
  assert retained["episode1"]["params"] is params
  for leaf in jax.tree.leaves(retained["episode1"]["fisher"]):
    np.testing.assert_allclose(leaf, (1 + 4 + 9) / 3)


def test_replay_keeps_a_class_balanced_sample_drawn_from_the_seed_and_the_episode():
  strategy = strategies.get("replay")
  memory = strategy.start(None, _data([0]))
  assert len(memory) == 0 and memory.images.shape[1:] == (1, 1, 1)
  data = _data(np.repeat([0, 1], 10))
  retained = strategy.end_episode(_end("replay", memory, None, data=data))
  assert np.bincount(retained.labels).tolist() == [3, 3]  # capacity 6 over two classes
  assert set(retained.images.ravel().tolist()) <= set(range(20))
  # The keys are the first draws of the Generator of (seed, episode) = (3, 1), in the order of the data.
  keys = np.random.default_rng((3, 1)).random(20, dtype=np.float32)
  for label in (0, 1):
    ids = np.arange(20)[data.labels == label]
    expected = ids[np.argsort(-keys[ids])[:3]]
    assert sorted(retained.images[retained.labels == label].ravel().astype(int).tolist()) == sorted(expected.tolist())


def test_strategies_without_a_memory_of_their_own_retain_nothing():
  for name in ("lfl", "lwf"):
    strategy = strategies.get(name)
    assert strategy.start(_params(), _data([0])) == {}
    assert strategy.end_episode(_end(name, {}, _params())) == {}


# ---- Batches -----------------------------------------------------------------------------------------------------
def test_replay_draws_memory_batches_of_their_own_seed_for_the_whole_episode():
  calls = []

  def make_batches(source, *, batch_size, seed, num_epochs):
    calls.append((len(source), batch_size, seed, num_epochs))
    return iter(())

  data = strategies.EpisodeData(seed=7, total_steps=10, num_classes=4, sharding=None, make_batches=make_batches)
  strategy, settings = strategies.get("replay"), strategies.get("replay").settings(SETTINGS["replay"])
  new = iter(())
  assert strategy.batches(new, replay.empty((1, 1, 1), np.float32), settings, data) is new  # nothing to replay yet
  memory = replay.update(replay.empty((1, 1, 1), np.float32), _data([0, 1, 2, 3, 0]), 5, np.random.default_rng(0))
  mixed = strategy.batches(new, memory, settings, data)
  assert isinstance(mixed, replay.MixedBatches)
  # A memory of 5 in batches of 4: one step an epoch, so ten epochs for ten steps; seed 7 + 500.
  assert calls == [(5, 4, 507, 10)]
  strategy.batches(new, memory, settings | {"memory_batch_size": 2}, data)
  assert calls[-1] == (5, 2, 507, math.ceil(10 / 2))


# ---- Checkpoints -------------------------------------------------------------------------------------------------
def _retained_after_two_episodes(name, params):
  if name == "replay":
    return replay.update(replay.empty((1, 1, 1), np.float32), _data([0, 1, 1, 2]), 3, np.random.default_rng(0))
  if name == "ewc":
    return {f"episode{e}": {"fisher": _params(e + 1), "params": _params(e + 3)} for e in range(2)}
  if name == "si":
    return {"importance": _params(1), "anchor": _params(2)}
  return {}


@pytest.mark.parametrize("name", ALL)
def test_what_a_strategy_retains_goes_through_a_checkpoint_template_and_back(name):
  strategy, params = strategies.get(name), _params()
  retained = _retained_after_two_episodes(name, params)
  arrays, meta = strategy.to_checkpoint(retained)
  meta = json.loads(json.dumps(meta))  # as the checkpoint's JSON meta holds it
  template = strategy.checkpoint_template(params, 2, meta)
  shapes = lambda tree: jax.tree.map(lambda x: (tuple(np.shape(x)), np.dtype(x.dtype)), tree)  # noqa: E731
  assert shapes(template) == shapes(arrays)
  back = strategy.from_checkpoint(jax.tree.map(np.asarray, arrays))
  if name == "replay":
    for field in ("images", "labels", "keys"):
      np.testing.assert_array_equal(getattr(back, field), getattr(retained, field))
  else:
    assert jax.tree.all(jax.tree.map(lambda a, b: np.array_equal(a, b), back, retained))
