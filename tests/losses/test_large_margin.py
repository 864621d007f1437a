"""el_jax.losses._large_margin: large-margin softmax (Liu et al., 2016) against its piecewise definition in numpy
(float64, from the angles), a hand-worked case, the closed form of its lambda schedule, gradients, and the objective
it wraps on linear outputs and on plain logits."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from el_jax import losses
from el_jax.losses import _large_margin


@pytest.fixture(autouse=True)
def x64():
  with jax.enable_x64(True):
    yield


def psi_reference(theta, m):
  """Liu et al. Eq. 6 read literally: k = floor(theta m / pi) (theta = pi belongs to the last interval)."""
  k = np.minimum(np.floor(theta * m / np.pi), m - 1)
  return (-1.0) ** k * np.cos(m * theta) - 2.0 * k


def logits_reference(hidden, weight, labels, m, lam):
  """The logits with the label's replaced by (lam z_y + |w_y| |x| psi(theta_y)) / (1 + lam), from the angle."""
  logits = hidden @ weight
  out = logits.copy()
  for i, y in np.ndenumerate(labels):
    x, w = hidden[i], weight[:, y]
    scale = np.linalg.norm(x) * np.linalg.norm(w)
    theta = np.arccos(np.clip(logits[i + (y,)] / scale, -1.0, 1.0))
    out[i + (y,)] = (lam * logits[i + (y,)] + scale * psi_reference(theta, m)) / (1.0 + lam)
  return out


@pytest.mark.parametrize("m", [0, 1, 2, 3, 4, 5, 6])
def test_cos_multiple_angle_is_cos_m_theta(m):
  theta = np.linspace(0.0, np.pi, 181)
  got = _large_margin.cos_multiple_angle(jnp.asarray(np.cos(theta)), m)
  np.testing.assert_allclose(got, np.cos(m * theta), atol=1e-12)


@pytest.mark.parametrize("m", [1, 2, 3, 4])
def test_psi_matches_the_piecewise_definition_decreases_and_stays_below_cos(m):
  # Angles off the interval ends, where k changes (psi is continuous there, so the ends are checked apart below).
  theta = np.linspace(0.0, np.pi, 721)[1:-1] + 1e-4
  got = np.asarray(_large_margin.psi(jnp.asarray(np.cos(theta)), m))
  np.testing.assert_allclose(got, psi_reference(theta, m), atol=1e-9)
  assert np.all(np.diff(got) < 0)  # monotonically decreasing in theta
  assert np.all(got <= np.cos(theta) + 1e-12)
  ends = np.arange(1, m) * np.pi / m  # continuity at each interval end: psi approaches the same value from both sides
  below = np.asarray(_large_margin.psi(jnp.asarray(np.cos(ends - 1e-7)), m))
  above = np.asarray(_large_margin.psi(jnp.asarray(np.cos(ends + 1e-7)), m))
  np.testing.assert_allclose(below, above, atol=1e-5)


def test_a_hand_worked_label_logit():
  # x = (1, 0); w_y = 2 (cos 60, sin 60): theta = 60 degrees, |w||x| = 2. m = 2: 60 < 90 so k = 0 and
  # psi = cos 120 = -0.5, f_y = -1 at lambda = 0 (plain: 2 cos 60 = 1); lambda = 1 averages them: 0.
  hidden = np.array([[1.0, 0.0]])
  weight = np.array([[2 * math.cos(math.pi / 3), 0.5], [2 * math.sin(math.pi / 3), -1.0]])
  full = _large_margin.large_margin_logits(hidden, weight, np.array([0]), margin=2, lam=0.0)
  np.testing.assert_allclose(full, [[-1.0, 0.5]], atol=1e-12)
  half = _large_margin.large_margin_logits(hidden, weight, np.array([0]), margin=2, lam=1.0)
  np.testing.assert_allclose(half, [[0.0, 0.5]], atol=1e-12)


@pytest.mark.parametrize("m, lam", [(1, 0.0), (2, 0.0), (3, 0.5), (4, 0.0), (4, 7.0)])
def test_large_margin_logits_match_the_reference(m, lam):
  rng = np.random.default_rng(m)
  hidden, weight = rng.normal(size=(3, 5, 8)), rng.normal(size=(8, 6))
  labels = rng.integers(0, 6, size=(3, 5))
  got = _large_margin.large_margin_logits(hidden, weight, labels, margin=m, lam=lam)
  np.testing.assert_allclose(got, logits_reference(hidden, weight, labels, m, lam), atol=1e-10)


def test_margin_one_and_a_huge_lambda_give_the_plain_logits():
  rng = np.random.default_rng(0)
  hidden, weight, labels = rng.normal(size=(16, 8)), rng.normal(size=(8, 5)), rng.integers(0, 5, size=16)
  np.testing.assert_allclose(
    _large_margin.large_margin_logits(hidden, weight, labels, margin=1, lam=0.0), hidden @ weight, atol=1e-12
  )
  np.testing.assert_allclose(
    _large_margin.large_margin_logits(hidden, weight, labels, margin=4, lam=1e12), hidden @ weight, atol=1e-9
  )


def test_gradients_match_finite_differences():
  rng = np.random.default_rng(1)
  hidden, weight, labels = rng.normal(size=(6, 4)), rng.normal(size=(4, 3)), rng.integers(0, 3, size=6)

  def f(h, w):
    return _large_margin.large_margin_logits(h, w, labels, margin=4, lam=0.3)

  check_grads(f, (hidden, weight), order=1, modes=("rev",), eps=1e-6)


def test_a_zero_feature_vector_has_finite_gradients():
  weight = np.random.default_rng(2).normal(size=(4, 3))
  grad = jax.grad(lambda h: jnp.sum(_large_margin.large_margin_logits(h, weight, np.array([1]), margin=4, lam=0.0)))(
    np.zeros((1, 4))
  )
  assert np.all(np.isfinite(grad))


def test_the_lambda_schedule_is_liu_et_als_closed_form():
  schedule = dict(losses.MNIST_LARGE_MARGIN)
  del schedule["margin"]
  for t in (0, 100, 10_000, 200_000):
    expected = max(0.0, 1000.0 * (1 + 2.5e-5 * t) ** -35.0)
    np.testing.assert_allclose(_large_margin.margin_lambda(t, **schedule), expected, rtol=1e-5)
  floored = _large_margin.margin_lambda(10**7, base=1000.0, gamma=0.12, power=1.0, minimum=5.0)
  assert float(floored) == 5.0


def _objective(loss="cross_entropy", total_steps=1000, **hparams):
  return losses.with_large_margin(
    losses.get_objective(loss, **hparams), total_steps=total_steps, **losses.MNIST_LARGE_MARGIN
  )


@pytest.mark.parametrize("progress", [0.0, 0.4, 1.0])
def test_the_objective_on_linear_outputs_is_the_loss_of_the_margin_logits(progress):
  rng = np.random.default_rng(3)
  hidden, weight, labels = rng.normal(size=(10, 6)), rng.normal(size=(6, 4)), rng.integers(0, 4, size=10)
  lam = 1000.0 * (1 + 2.5e-5 * progress * 40_000) ** -35.0
  logits = logits_reference(hidden, weight, labels, 4, lam)
  log_p = logits - np.log(np.sum(np.exp(logits), axis=-1, keepdims=True))
  ce = -np.mean(log_p[np.arange(10), labels])
  got = _objective(total_steps=40_000)(losses.LinearOutputs(hidden, weight), labels, progress=progress)
  np.testing.assert_allclose(got, ce, rtol=1e-6)  # lambda is computed in float32, as training progress is
  # EL after the margin: -log p_y + log(1 - p_y) (normal bonus, LE = 1), the mean over the batch.
  p_y = np.exp(log_p[np.arange(10), labels])
  el = np.mean(-np.log(p_y) + np.log1p(-p_y))
  got_el = _objective("encouraging_loss", total_steps=40_000)(
    losses.LinearOutputs(hidden, weight), labels, progress=progress
  )
  np.testing.assert_allclose(got_el, el, rtol=1e-6)


def test_plain_logits_get_the_plain_objective_and_masked_labels_are_ignored():
  rng = np.random.default_rng(4)
  logits, labels = rng.normal(size=(8, 5)), rng.integers(0, 5, size=8)
  objective = _objective()
  np.testing.assert_allclose(objective(logits, labels), losses.get_objective("cross_entropy")(logits, labels))
  hidden, weight = rng.normal(size=(8, 3)), rng.normal(size=(3, 5))
  where = np.arange(8) < 5
  masked = objective(losses.LinearOutputs(hidden, weight), np.where(where, labels, -1), where=where)
  first = objective(losses.LinearOutputs(hidden[:5], weight), labels[:5])
  np.testing.assert_allclose(masked, first, rtol=1e-12)


def test_bad_settings_and_a_bias_raise():
  with pytest.raises(ValueError, match="integer angular margin"):
    _objective_with(margin=2.5)
  with pytest.raises(ValueError, match="numbers >= 0"):
    _objective_with(gamma=-1.0)
  with pytest.raises(ValueError, match="total_steps"):
    losses.with_large_margin(losses.get_objective("cross_entropy"), total_steps=None, **losses.MNIST_LARGE_MARGIN)
  with pytest.raises(ValueError, match="without bias"):
    _objective()(losses.LinearOutputs(np.ones((2, 3)), np.ones((3, 4)), np.zeros(4)), np.array([0, 1]))


def _objective_with(**change):
  return losses.with_large_margin(
    losses.get_objective("cross_entropy"), total_steps=10, **{**losses.MNIST_LARGE_MARGIN, **change}
  )
