"""Label smoothing, the power/cos bonus shapes and the sigmoid form of the encouraging loss."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from el_jax import losses
from tests.losses import reference
from tests.losses.cases import inputs

BONUSES = [
  {"shape": "log"},
  {"shape": "log", "log_end": 0.75},
  {"shape": "log", "log_end": 0.5, "bonus_start": 0.3},
  {"shape": "power", "gamma": 2.0},
  {"shape": "power", "gamma": 1.0, "bonus_start": 0.5},
  {"shape": "cos"},
]


def _kwargs(bonus):
  out = {"bonus": bonus["shape"], "log_end": bonus.get("log_end", 1.0), "bonus_start": bonus.get("bonus_start", 0.0)}
  return out | ({"bonus_gamma": bonus["gamma"]} if "gamma" in bonus else {})


@pytest.mark.parametrize("bonus", BONUSES)
@pytest.mark.parametrize("s", [0.0, 0.1, 1.0])
def test_smoothing_matches_the_full_probability_matrix(bonus, s):
  z, y = inputs("softmax", shape=(16, 6), scale=3.0)
  out = losses.encouraging_loss(z, y, label_smoothing=s, bonus_rho=0.7, **_kwargs(bonus))
  np.testing.assert_allclose(out, reference.encouraging_loss_smoothed(z, y, s, 0.7, **bonus), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("bonus", [BONUSES[1], BONUSES[5]])  # power: tests/losses/test_all_losses.py
def test_smoothing_gradients_in_logits_and_rho(bonus):
  z, y = inputs("softmax", shape=(6, 5), scale=1.0, seed=4)
  with jax.enable_x64(True):
    fn = jax.jit(lambda z, rho: losses.encouraging_loss(z, y, label_smoothing=0.2, bonus_rho=rho, **_kwargs(bonus)))
    check_grads(fn, (jnp.asarray(z, jnp.float64), 0.7), order=2, modes=["rev"], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("bonus", BONUSES[3:])
def test_gradient_factor_of_power_and_cos_bonus(bonus):
  # SPEC §2: grad_z L = (1 - rho p_y b'(p_y)) (p - e_y) for every bonus shape.
  z, y = inputs("softmax", shape=(16, 6), scale=2.0)
  grad = jax.grad(lambda z: losses.encouraging_loss(z, y, bonus_rho=0.5, **_kwargs(bonus)).sum())(z)
  p = reference.softmax(z)
  p_y = p[np.arange(16), y]
  h = 1e-6
  slope = (reference.shaped_bonus(p_y + h, **bonus) - reference.shaped_bonus(p_y - h, **bonus)) / (2 * h)
  expected = (1 - 0.5 * p_y * slope)[:, None] * (p - reference.one_hot(y, 6))
  np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-6)


def test_smoothing_is_finite_and_exact_for_confident_predictions():
  z = np.array([[40.0, 0.0, 0.0], [0.0, 40.0, 0.0]], np.float32)  # a confident right and a confident wrong one
  y = np.array([0, 0])
  for eps in (1e-5, 0.0):
    value, grad = jax.value_and_grad(lambda z: losses.encouraging_loss(z, y, label_smoothing=0.1, eps=eps).sum())(z)  # noqa: B023
    assert np.isfinite(value) and np.isfinite(grad).all()
  # Smoothing splits the loss as (1 - s + s/K) EL(p_y) + s/K sum_{k != y} (-log p_k + b(p_k)).
  out = losses.encouraging_loss(z[:1], y[:1], label_smoothing=0.1, eps=0.0)
  others = 2 * 40.0  # -log p_k = 40 + log1p(2 e^-40) for each other class; b(p_k) = log(1 - p_k) ~ -e^-40
  label_term = np.log(2.0) - 40.0  # -log p_y + log(1 - p_y) = -z_y + logsumexp_{k != y} z_k, exactly
  np.testing.assert_allclose(out, (0.9 + 0.1 / 3) * label_term + 0.1 / 3 * others, rtol=1e-5)


def test_sigmoid_form_gradient_is_a_rescaled_bce_gradient():
  # Per element: dL/dz = (1 - rho p_t b'(p_t)) (sigma(z) - t); with the normal bonus and rho = 1 that is
  # (sigma(z) - t) / (1 - p_t) = -1 for t = 1 and +1 for t = 0 (EL Eq. 7 per binary decision).
  z, t = inputs("sigmoid", shape=(5, 4))
  grad = jax.grad(lambda z: losses.sigmoid_encouraging_loss(z, t, eps=0.0).sum())(z)
  np.testing.assert_allclose(grad, np.where(t == 1, -1.0, 1.0), atol=1e-5)


def test_bonus_hyper_parameter_errors():
  z, y = inputs("softmax")
  with pytest.raises(ValueError, match="bonus must be one of"):
    losses.encouraging_loss(z, y, bonus="square")
  with pytest.raises(ValueError, match="log_end < 1 applies to the 'log' bonus only"):
    losses.encouraging_loss(z, y, bonus="cos", log_end=0.5)
  with pytest.raises(ValueError, match="bonus_gamma"):
    losses.encouraging_loss(z, y, bonus="power", bonus_gamma=0.5)
  with pytest.raises(ValueError, match="label_smoothing"):
    losses.encouraging_loss(z, y, label_smoothing=1.5)
