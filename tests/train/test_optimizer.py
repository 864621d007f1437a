import ml_collections
import numpy as np
import optax
import pytest

from el_jax.train import optimizer


def _config(**kwargs):
  return ml_collections.ConfigDict({"name": "sgd", "learning_rate": 0.1, **kwargs})


def test_multistep_schedule_in_epochs():
  sched = optimizer.learning_rate_schedule(
    _config(schedule="multistep", boundaries=[2, 3], decay_factor=0.1),
    steps_per_epoch=10,
    num_epochs=4,
  )
  np.testing.assert_allclose(
    [sched(s) for s in (0, 19, 20, 29, 30, 39)], [0.1, 0.1, 0.01, 0.01, 0.001, 0.001], rtol=1e-6
  )


def test_cosine_with_linear_warmup():
  sched = optimizer.learning_rate_schedule(
    _config(schedule="cosine", warmup_epochs=1), steps_per_epoch=10, num_epochs=3
  )
  np.testing.assert_allclose([sched(0), sched(5), sched(10)], [0.0, 0.05, 0.1], rtol=1e-6)
  # Cosine over the remaining 20 steps: half-way is 0.1 * (1 + cos(pi / 2)) / 2.
  np.testing.assert_allclose(sched(20), 0.05, rtol=1e-5)
  np.testing.assert_allclose(sched(30), 0.0, atol=1e-7)


def test_linear_decay_to_zero_over_training():
  sched = optimizer.learning_rate_schedule(_config(schedule="linear"), steps_per_epoch=10, num_epochs=4)
  # lr (1 - t / T) with T = 40 updates.
  np.testing.assert_allclose([sched(s) for s in (0, 10, 30, 40)], [0.1, 0.075, 0.025, 0.0], rtol=1e-6, atol=1e-9)


def test_coupled_weight_decay_adds_to_gradient():
  # PyTorch-style SGD: update = -lr * (g + wd * w).
  tx = optimizer.create(_config(weight_decay=0.5), steps_per_epoch=1, num_epochs=1)
  params = {"w": np.array([2.0], np.float32)}
  updates, _ = tx.update({"w": np.array([1.0], np.float32)}, tx.init(params), params)
  np.testing.assert_allclose(updates["w"], -0.1 * (1.0 + 0.5 * 2.0))


def test_options_are_passed_and_checked():
  tx = optimizer.create(_config(momentum=0.9, nesterov=True), steps_per_epoch=1, num_epochs=1)
  ref = optax.sgd(0.1, momentum=0.9, nesterov=True)
  params = {"w": np.array([1.0], np.float32)}
  g = {"w": np.array([0.3], np.float32)}
  s1, s2 = tx.init(params), ref.init(params)
  for _ in range(3):
    (u1, s1), (u2, s2) = tx.update(g, s1, params), ref.update(g, s2, params)
    np.testing.assert_allclose(u1["w"], u2["w"], rtol=1e-6)
  with pytest.raises(ValueError, match=r"\['momentun'\].*momentum"):
    optimizer.create(_config(momentun=0.9), steps_per_epoch=1, num_epochs=1)
  with pytest.raises(ValueError, match="Valid names: adam, adamw, rmsprop, sgd"):
    optimizer.create(_config(name="lamb"), steps_per_epoch=1, num_epochs=1)


def _run(tx, grads, params, steps=3):
  state = tx.init(params)
  out = []
  for g in grads[:steps]:
    updates, state = tx.update(g, state, params)
    params = optax.apply_updates(params, updates)
    out.append(params)
  return out


def test_adamw_is_adam_with_decoupled_decay_following_the_schedule():
  config = _config(name="adamw", learning_rate=0.01, schedule="cosine", weight_decay=0.1)
  tx = optimizer.create(config, steps_per_epoch=2, num_epochs=2)
  ref = optax.adamw(optax.cosine_decay_schedule(0.01, 4), weight_decay=0.1)
  params = {"w": np.array([1.0, -2.0], np.float32)}
  grads = [{"w": np.array([0.3, -0.1], np.float32) * (i + 1)} for i in range(4)]
  for a, b in zip(_run(tx, grads, params, 4), _run(ref, grads, params, 4), strict=True):
    np.testing.assert_allclose(a["w"], b["w"], rtol=1e-6)


def test_coupled_adam_decays_inside_the_moments():
  # PyTorch Adam(weight_decay): the first step of Adam normalises g + wd * w to its sign: update = -lr * sign.
  tx = optimizer.create(_config(name="adam", learning_rate=0.1, weight_decay=10.0), steps_per_epoch=1, num_epochs=1)
  params = {"w": np.array([1.0, -1.0], np.float32)}
  updates, _ = tx.update({"w": np.array([-0.5, 0.5], np.float32)}, tx.init(params), params)
  np.testing.assert_allclose(updates["w"], [-0.1, 0.1], rtol=1e-5)  # sign of -0.5 + 10 * 1 is +


def test_tensorflow_style_rmsprop():
  # TF RMSProp: ms starts at 1, ms <- rho ms + (1 - rho) g^2, update = -lr g / sqrt(ms + eps).
  config = _config(name="rmsprop", learning_rate=0.1, decay=0.9, eps=1e-3, initial_scale=1.0, eps_in_sqrt=True)
  tx = optimizer.create(config, steps_per_epoch=1, num_epochs=1)
  params = {"w": np.array([0.0], np.float32)}
  g = np.array([2.0], np.float32)
  updates, _ = tx.update({"w": g}, tx.init(params), params)
  ms = 0.9 * 1.0 + 0.1 * 4.0
  np.testing.assert_allclose(updates["w"], -0.1 * 2.0 / np.sqrt(ms + 1e-3), rtol=1e-6)


def test_exponential_warmup_then_multistep_with_factors():
  config = _config(
    schedule="multistep",
    boundaries=[3, 4],
    decay_factor=[0.5, 0.1],
    warmup_epochs=2,
    warmup="exponential",
    warmup_init_factor=1e-2,
  )
  sched = optimizer.learning_rate_schedule(config, steps_per_epoch=10, num_epochs=5)
  # Geometric from 0.1 * 1e-2 to 0.1 over 20 steps: 0.1 * 1e-2 ** (1 - t / 20).
  for t in (0, 5, 10, 19):
    np.testing.assert_allclose(sched(t), 0.1 * 1e-2 ** (1 - t / 20), rtol=1e-5)
  np.testing.assert_allclose([sched(20), sched(29), sched(30), sched(40)], [0.1, 0.1, 0.05, 0.005], rtol=1e-5)


def test_bad_schedule_options():
  with pytest.raises(ValueError, match="2 entries for 1 boundaries"):
    optimizer.create(
      _config(schedule="multistep", boundaries=[1], decay_factor=[0.1, 0.1]), steps_per_epoch=1, num_epochs=2
    )
  with pytest.raises(ValueError, match="Valid: coupled, decoupled"):
    optimizer.create(_config(weight_decay=0.1, weight_decay_mode="l2"), steps_per_epoch=1, num_epochs=1)
  with pytest.raises(ValueError, match="Valid: linear, exponential"):
    optimizer.create(_config(warmup_epochs=1, warmup="cubic"), steps_per_epoch=1, num_epochs=2)
