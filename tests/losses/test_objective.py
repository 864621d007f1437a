import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from el_jax import losses
from tests.losses import reference
from tests.losses.cases import CASES, inputs, loss_name


@pytest.mark.parametrize("case", [c for c in CASES if "/" not in c])
def test_objective_reduces_the_per_example_loss(case):
  hparams, kind, _ = CASES[case]
  z, y = inputs(kind, shape=(6, 5))
  where = np.array([True, False, True, True, False, True])
  if kind == "sigmoid":
    where = np.repeat(where[:, None], 5, 1)
  per_example = np.asarray(losses.get(case, **hparams)(z, y, where=where))
  value = losses.get_objective(case, **hparams)(z, y, where=where)
  assert value.shape == () and value.dtype == jnp.float32
  if case == "hem_loss":
    expected = reference.hem_reduce(per_example[where])
  elif kind == "batch":
    expected = per_example
  else:
    expected = per_example[where].mean()
  np.testing.assert_allclose(value, expected, rtol=1e-6)


def test_hem_objective_ignores_zero_losses():
  z = np.array([[10.0, 0.0, 0.0], [0.0, 1.0, 0.5]], np.float32)
  y = np.array([0, 0])
  per_example = losses.hem_loss(z, y, margin=0.2)
  assert per_example[0] == 0 and per_example[1] > 0
  np.testing.assert_allclose(losses.get_objective("hem_loss", margin=0.2)(z, y), per_example[1])


def test_focus_schedule_under_jit_with_traced_progress():
  z, y = inputs("softmax")
  objective = losses.get_objective("mixed_ce_expectation", focus_schedule="F=0-0.5")
  chex.clear_trace_counter()
  step = jax.jit(chex.assert_max_traces(lambda z, t: objective(z, y, progress=t), n=1))
  for t, f in [(0.0, 0.0), (0.4, 0.2), (0.75, 0.4), (0.99, 0.5)]:
    alpha, beta = (0.0, 1.0) if f == 0.5 else (1.0, 1 / (1 - 2 * f))
    expected = reference.mixed_ce_expectation(z, y, alpha, beta).mean()
    np.testing.assert_allclose(step(z, jnp.float32(t)), expected, rtol=1e-5)


def test_deferred_and_ramped_bonus():
  z, y = inputs("softmax")
  objective = losses.get_objective("encouraging_loss", bonus_rho=0.8, bonus_defer=0.2, bonus_ramp=0.4)
  step = jax.jit(lambda t: objective(z, y, progress=t))
  np.testing.assert_allclose(step(0.1), reference.cross_entropy(z, y).mean(), rtol=1e-5)
  np.testing.assert_allclose(step(0.4), reference.encouraging_loss(z, y, bonus_rho=0.4).mean(), rtol=1e-5)
  np.testing.assert_allclose(step(0.9), reference.encouraging_loss(z, y, bonus_rho=0.8).mean(), rtol=1e-5)
  grad = jax.grad(lambda z: objective(z, y, progress=0.1))(z)  # bonus off: the CE gradient
  np.testing.assert_allclose(grad, (reference.softmax(z) - reference.one_hot(y, 5)) / len(y), atol=1e-6)


def test_objective_errors_list_valid_hyper_parameters():
  with pytest.raises(ValueError, match="Valid names"):
    losses.get_objective("el")
  with pytest.raises(ValueError, match=r"\['focus'\].*focus_schedule=None"):
    losses.get_objective("mixed_ce_expectation", focus=0.1)
  with pytest.raises(ValueError, match="'F=0', 'F=0,0.5', 'F=0-0.5'"):
    losses.get_objective("mixed_ce_expectation", focus_schedule="F=1")
  with pytest.raises(ValueError, match="either focus_schedule or alpha/beta"):
    losses.get_objective("mixed_ce_expectation", focus_schedule="F=0", beta=2.0)
  with pytest.raises(ValueError, match="bonus_defer"):
    losses.get_objective("encouraging_loss", bonus_defer=1.5)
  with pytest.raises(ValueError, match=r"needs hyper-parameter\(s\) \['margin'\]"):
    losses.get_objective("hem_loss")
  assert set(losses.objective_hparams("encouraging_loss")) >= {"bonus_rho", "bonus_defer", "bonus_ramp"}
  assert loss_name("hem_loss") in losses.names()


@pytest.mark.parametrize(
  "name,hparams",
  [
    ("encouraging_loss", {"log_end": 0.75, "label_smoothing": 0.1, "bonus_ramp": 0.5}),
    ("mixed_ce_expectation", {"focus_schedule": "F=0-0.5"}),
    ("hem_loss", {"margin": 0.5}),  # HEM's batch reduction over the fused per-token losses
  ],
)
def test_objective_of_linear_outputs_equals_the_objective_of_their_logits(name, hparams):
  """A `LinearOutputs(hidden, weight, bias)` in place of the logits: the same scheduled objective and gradients as
  on `hidden @ weight + bias`, computed without materialising them."""
  rng = np.random.default_rng(5)
  hidden, weight, bias = rng.normal(size=(3, 4, 6)), rng.normal(size=(6, 9)) * 0.5, rng.normal(size=9)
  labels, where = rng.integers(0, 9, (3, 4)), rng.random((3, 4)) > 0.3
  objective = losses.get_objective(name, **hparams)
  with jax.enable_x64(True):
    for progress in (0.1, 0.8):  # the schedules' weights differ

      def fused(h, w, b, progress=progress):
        return objective(losses.LinearOutputs(h, w, b), labels, where=where, progress=progress)

      def materialised(h, w, b, progress=progress):
        return objective(h @ w + b, labels, where=where, progress=progress)

      value, grads = jax.value_and_grad(fused, argnums=(0, 1, 2))(hidden, weight, bias)
      ref, ref_grads = jax.value_and_grad(materialised, argnums=(0, 1, 2))(hidden, weight, bias)
      np.testing.assert_allclose(value, ref, rtol=1e-10)
      for g, ref_g in zip(grads, ref_grads, strict=True):
        np.testing.assert_allclose(g, ref_g, rtol=1e-9, atol=1e-12)


def test_objective_of_linear_outputs_names_an_unsupported_loss():
  objective = losses.get_objective("dice_loss")
  outputs = losses.LinearOutputs(jnp.ones((2, 3)), jnp.ones((3, 4)))
  with pytest.raises(NotImplementedError, match="dice_loss.*not supported by the fused path"):
    objective(outputs, jnp.array([0, 1]))
