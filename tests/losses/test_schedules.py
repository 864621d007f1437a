import jax
import jax.numpy as jnp
import numpy as np
import pytest

from el_jax import losses


@pytest.mark.parametrize(
  "schedule,points",
  [
    ("F=0", {0.0: 0.0, 0.5: 0.0, 1.0: 0.0}),
    ("F=0,0.5", {0.0: 0.0, 0.9: 0.0, 0.949: 0.0, 0.95: 0.5, 1.0: 0.5}),
    ("F=0-0.5", {0.0: 0.0, 0.16: 0.0, 0.17: 0.1, 0.34: 0.2, 0.5: 0.3, 0.67: 0.4, 0.84: 0.5, 1.0: 0.5}),
  ],
)
def test_focus_schedules(schedule, points):
  for t, f in points.items():
    np.testing.assert_allclose(losses.focus(schedule, t), f, atol=1e-6, err_msg=f"t={t}")


def test_focus_schedule_is_traceable():
  fn = jax.jit(lambda t: losses.focus("F=0-0.5", t))
  np.testing.assert_allclose([fn(jnp.float32(t)) for t in (0.1, 0.4, 0.99)], [0.0, 0.2, 0.5], atol=1e-6)


def test_unknown_focus_schedule_lists_valid_ones():
  with pytest.raises(ValueError, match="'F=0', 'F=0,0.5', 'F=0-0.5'"):
    losses.focus("F=0.5", 0.0)


def test_focus_weights_eq14():
  for f, (alpha, beta) in {0.0: (1, 1), 0.1: (1, 1.25), 0.25: (1, 2), 0.4: (1, 5), 0.5: (0, 1)}.items():
    np.testing.assert_allclose(losses.focus_weights(f), (alpha, beta), rtol=1e-6)
  with pytest.raises(ValueError, match="focus"):
    losses.focus_weights(0.6)


def test_bonus_weight():
  t = np.array([0.0, 0.1, 0.2, 0.3, 0.5, 1.0])
  np.testing.assert_allclose(losses.bonus_weight(t), 1.0)
  np.testing.assert_allclose(losses.bonus_weight(t, defer=0.2), [0, 0, 1, 1, 1, 1])
  np.testing.assert_allclose(losses.bonus_weight(t, defer=0.1, ramp=0.2), [0, 0, 0.5, 1, 1, 1], atol=1e-6)
  with pytest.raises(ValueError, match="bonus_defer"):
    losses.bonus_weight(0.0, defer=0.9, ramp=0.2)


def test_training_progress():
  np.testing.assert_allclose(losses.training_progress(jnp.int32(25), 100), 0.25)
  np.testing.assert_allclose(losses.training_progress(150, 100), 1.0)
