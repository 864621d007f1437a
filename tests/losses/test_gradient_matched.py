"""The gradient-norm-matched CE control: its logit gradient against the closed forms and the mixture's."""

import jax
import numpy as np
import pytest
from scipy import integrate

from el_jax import losses
from tests.losses import reference
from tests.losses.cases import inputs


def test_mixture_gradient_is_ce_gradient_times_alpha_plus_beta_p_y():
  # Why the control matches on average, not per example: per example, the mixture's logit gradient is CE's
  # p - onehot(y) times alpha + beta p_y, so matching each example's norm would give the mixture's gradient itself.
  z, y = inputs("softmax", shape=(8, 5), seed=4)
  alpha, beta = 1.0, 1.0 / (1.0 - 2 * 0.3)  # focus F = 0.3 (Eq. 14)
  p = reference.softmax(z)
  ce_grad = p - reference.one_hot(y, 5)
  p_y = p[np.arange(8), y]
  mixture = jax.grad(lambda z: losses.mixed_ce_expectation(z, y, alpha=alpha, beta=beta).sum())(z)
  np.testing.assert_allclose(mixture, (alpha + beta * p_y)[:, None] * ce_grad, rtol=1e-5, atol=1e-7)


def test_control_has_the_mixtures_mean_label_gradient_over_uniform_p_y():
  # The control's |dL/dz_y| = M (1 - p_y) and the mixture's (alpha + beta p_y)(1 - p_y) have the same mean over
  # p_y uniform in [0, 1], estimated here on a grid of logits z = (log(p / (1 - p)), 0) with K = 2.
  p_grid = (np.arange(20000) + 0.5) / 20000
  z = np.stack([np.log(p_grid / (1 - p_grid)), np.zeros_like(p_grid)], -1).astype(np.float32)
  y = np.zeros(len(p_grid), np.int32)
  alpha, beta = 1.0, 2.5
  control = jax.grad(lambda z: losses.gradient_matched_cross_entropy(z, y, alpha=alpha, beta=beta).sum())(z)
  mixture = jax.grad(lambda z: losses.mixed_ce_expectation(z, y, alpha=alpha, beta=beta).sum())(z)
  np.testing.assert_allclose(np.abs(control[:, 0]).mean(), np.abs(mixture[:, 0]).mean(), rtol=1e-4)


def test_area_match_is_the_ratio_of_the_areas_under_the_gradient_curves():
  z, y = inputs("softmax", shape=(8, 5), seed=5)
  for alpha, beta in [(1.0, 1.0), (1.0, 2.5), (0.0, 1.0)]:  # F = 0, F = 0.3, F = 0.5
    # Eq. 20-21: the areas under |dL/dz_y| over p_y in [0, 1], for CE (1/2) and for the mixture (Eq. 13 at the label)
    v_ce = integrate.quad(lambda p: 1 - p, 0, 1)[0]
    v_mix = integrate.quad(lambda p, a=alpha, b=beta: abs(b * p**2 + (a - b) * p - a), 0, 1)[0]
    grad = jax.grad(lambda z, a=alpha, b=beta: losses.gradient_matched_cross_entropy(z, y, alpha=a, beta=b).sum())(z)
    ce_grad = reference.softmax(z) - reference.one_hot(y, 5)
    np.testing.assert_allclose(grad, v_mix / v_ce * ce_grad, rtol=1e-5, atol=1e-7)


def test_objective_follows_the_focus_schedule():
  z, y = inputs("softmax", shape=(8, 5), seed=6)
  objective = losses.get_objective("gradient_matched_cross_entropy", focus_schedule="F=0-0.5")
  for progress, f in [(0.0, 0.0), (0.5, 0.3), (0.99, 0.5)]:
    alpha, beta = (0.0, 1.0) if f == 0.5 else (1.0, 1.0 / (1 - 2 * f))
    expected = ((alpha + beta / 3) * reference.cross_entropy(z, y)).mean()
    np.testing.assert_allclose(objective(z, y, progress=progress), expected, rtol=1e-5)
  with pytest.raises(ValueError, match="focus_schedule sets alpha and beta"):
    losses.get_objective("gradient_matched_cross_entropy", focus_schedule="F=0", alpha=2.0)
