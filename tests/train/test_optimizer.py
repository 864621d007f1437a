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
