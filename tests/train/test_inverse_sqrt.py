"""The inverse-square-root learning-rate schedule (fairseq's `inverse_sqrt`) against its formula, and its config
checks."""

import math

import ml_collections
import numpy as np
import optax
import pytest

from el_jax.train import optimizer


def _config(**overrides):
  base = {"name": "adam", "learning_rate": 1e-3, "schedule": "inverse_sqrt", "warmup_steps": 4000}
  return ml_collections.ConfigDict({**base, **overrides})


@pytest.mark.parametrize(
  "step, expected",
  [
    (0, 0.0),  # fairseq's default --warmup-init-lr 0: the first update has rate 0
    (1, 1e-3 / 4000),
    (2000, 0.5e-3),
    (4000, 1e-3),  # the peak, where both branches meet
    (16000, 0.5e-3),  # 1e-3 * sqrt(4000 / 16000)
    (20000, 1e-3 * math.sqrt(0.2)),
    (100000, 1e-3 * 0.2),
  ],
)
def test_inverse_sqrt_is_linear_warm_up_then_inverse_square_root_decay(step, expected):
  schedule = optimizer.learning_rate_schedule(_config(), steps_per_epoch=250, num_epochs=80)
  assert float(schedule(step)) == pytest.approx(expected, rel=1e-6, abs=1e-12)


def test_after_warm_up_it_is_vaswani_et_als_rate_with_the_peak_as_parameter():
  # Vaswani et al. (2017), Eq. 3: d^-0.5 min(t^-0.5, t W^-1.5); its peak at t = W is (d W)^-0.5.
  d, warmup = 512, 4000
  peak = (d * warmup) ** -0.5
  schedule = optimizer.inverse_sqrt(peak, warmup)
  for t in (1, 100, 3999, 4000, 4001, 50000):
    assert float(schedule(t)) == pytest.approx(d**-0.5 * min(t**-0.5, t * warmup**-1.5), rel=1e-5)


def test_adam_with_decoupled_decay_follows_the_schedule():
  # fairseq's Adam decays weights by lr(t) * wd; at step 0 the rate is 0, so the first update leaves w unchanged.
  config = _config(b1=0.9, b2=0.98, weight_decay=1e-4, weight_decay_mode="decoupled")
  tx = optimizer.create(config, steps_per_epoch=10, num_epochs=1)
  params = {"w": np.ones(3, np.float32)}
  state = tx.init(params)
  updates, state = tx.update({"w": np.ones(3, np.float32)}, state, params)
  np.testing.assert_allclose(optax.apply_updates(params, updates)["w"], params["w"])
  updates, state = tx.update({"w": np.ones(3, np.float32)}, state, params)  # step 1: lr = 1e-3 / 4000
  lr = 1e-3 / 4000
  np.testing.assert_allclose(np.asarray(updates["w"]), -lr * (1.0 + 1e-4), rtol=1e-4)


def test_bad_configs_are_named():
  with pytest.raises(ValueError, match="warmup_steps"):
    optimizer.learning_rate_schedule(_config(warmup_steps=None), steps_per_epoch=10, num_epochs=1)
  with pytest.raises(ValueError, match="positive integer"):
    optimizer.learning_rate_schedule(_config(warmup_steps=0), steps_per_epoch=10, num_epochs=1)
  with pytest.raises(ValueError, match="own warm-up"):
    optimizer.learning_rate_schedule(_config(warmup_epochs=1), steps_per_epoch=10, num_epochs=1)
  with pytest.raises(ValueError, match="warmup_steps"):
    optimizer.learning_rate_schedule(_config(schedule="cosine"), steps_per_epoch=10, num_epochs=1)
