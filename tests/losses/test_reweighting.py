import math

import jax
import numpy as np
import pytest

from el_jax import losses
from el_jax.losses import _reweighting
from tests.losses import reference


def test_effective_number_weights_follow_cui_et_al():
  counts, beta = [100, 10, 1], 0.9
  raw = [(1 - beta) / (1 - beta**n) for n in counts]  # Cui et al. 2019, Eq. 3
  expected = [3 * w / sum(raw) for w in raw]
  np.testing.assert_allclose(_reweighting.effective_number_weights(counts, beta), expected, rtol=1e-12)


def test_effective_number_weights_limits():
  counts = np.array([1000, 100, 10])
  np.testing.assert_allclose(_reweighting.effective_number_weights(counts, 0.0), [1, 1, 1])
  inverse = (1 / counts) * (3 / np.sum(1 / counts))  # beta -> 1: proportional to 1 / n_k
  np.testing.assert_allclose(_reweighting.effective_number_weights(counts, 1 - 1e-9), inverse, rtol=1e-5)


def test_a_class_without_training_examples_gets_weight_zero():
  raw = [(1 - 0.9) / (1 - 0.9**n) for n in (4, 2)]
  expected = [2 * raw[0] / sum(raw), 0.0, 2 * raw[1] / sum(raw)]
  np.testing.assert_allclose(_reweighting.effective_number_weights([4, 0, 2], 0.9), expected, rtol=1e-12)


def test_the_marker_resolves_to_the_training_sets_weights():
  resolved = losses.resolve_data_hparams({"class_weights": "effective_number", "reweight_beta": 0.99}, [50, 5])
  raw = [(1 - 0.99) / (1 - 0.99**n) for n in (50, 5)]
  np.testing.assert_allclose(resolved["class_weights"], [2 * w / sum(raw) for w in raw], rtol=1e-12)
  assert "reweight_beta" not in resolved


def _objective_inputs():
  rng = np.random.default_rng(0)
  return rng.normal(size=(8, 3)).astype(np.float32), rng.integers(0, 3, 8), rng.random(8) > 0.2


@pytest.mark.parametrize("name, per_example", [("cross_entropy", reference.cross_entropy)])
def test_drw_is_the_plain_mean_before_reweight_from_and_the_weighted_mean_after(name, per_example):
  z, y, where = _objective_inputs()
  weights = [0.5, 1.0, 2.5]
  objective = losses.get_objective(name, class_weights=weights, reweight_from=0.75)
  values = per_example(z.astype(np.float64), y)
  plain = values[where].mean()
  w = np.asarray(weights)[y] * where
  weighted = np.sum(w * values) / np.sum(w)  # PyTorch's cross_entropy(weight=w) mean
  np.testing.assert_allclose(objective(z, y, where=where, progress=0.5), plain, rtol=1e-5)
  np.testing.assert_allclose(objective(z, y, where=where, progress=0.75), weighted, rtol=1e-5)


def test_drw_with_encouraging_loss_and_its_gradient():
  z, y, where = _objective_inputs()
  weights = [0.2, 1.0, 3.0]
  objective = losses.get_objective("encouraging_loss", log_end=1.0, class_weights=weights, reweight_from=0.5)

  def expected(z64):
    values = reference.encouraging_loss(z64, y)
    w = np.asarray(weights)[y] * where
    return np.sum(w * values) / np.sum(w)

  np.testing.assert_allclose(objective(z, y, where=where, progress=1.0), expected(z.astype(np.float64)), rtol=1e-5)
  grad = jax.grad(lambda z: objective(z, y, where=where, progress=1.0))(z.astype(np.float64))
  eps, numeric = 1e-6, np.zeros_like(z, np.float64)
  for index in np.ndindex(z.shape):
    step = np.zeros_like(numeric)
    step[index] = eps
    numeric[index] = (expected(z + step) - expected(z - step)) / (2 * eps)
  np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-7)
  assert np.all(np.asarray(grad)[~where] == 0)


def test_the_jitted_objective_switches_at_a_traced_progress():
  z, y, where = _objective_inputs()
  objective = jax.jit(losses.get_objective("cross_entropy", class_weights=[0.0, 0.0, 1.0], reweight_from=0.9))
  only_class_2 = reference.cross_entropy(z.astype(np.float64), y)[where & (y == 2)].mean()
  np.testing.assert_allclose(objective(z, y, where=where, progress=0.95), only_class_2, rtol=1e-5)


@pytest.mark.parametrize(
  "hparams, match",
  [
    ({"class_weights": [1.0, -1.0, 1.0]}, "class_weights must be a list of K numbers >= 0"),
    ({"class_weights": "effective_number"}, "class_weights must be a list"),
    ({"class_weights": [0.0, 0.0, 0.0]}, "all 0"),
    ({"class_weights": [1.0, 1.0, 1.0], "reweight_from": 1.5}, "reweight_from must be a fraction"),
  ],
)
def test_bad_reweighting_settings_name_the_problem(hparams, match):
  with pytest.raises(ValueError, match=match):
    losses.get_objective("cross_entropy", **hparams)


def test_losses_with_their_own_batch_reduction_refuse_class_weights():
  for name, hparams in [("dice_loss", {}), ("hem_loss", {"margin": 0.2})]:
    with pytest.raises(ValueError, match="reduced over the batch in its own way"):
      losses.get_objective(name, class_weights=[1.0, 2.0], **hparams)


def test_bad_markers_and_betas_name_the_problem():
  with pytest.raises(ValueError, match="at least one training example"):
    losses.resolve_data_hparams({"class_weights": "effective_number"}, [0, 0, 0])
  with pytest.raises(ValueError, match="reweight_beta must be a number in"):
    losses.resolve_data_hparams({"class_weights": "effective_number", "reweight_beta": 1.0}, [3, 2])
  with pytest.raises(ValueError, match="set class_weights='effective_number'"):
    losses.resolve_data_hparams({"reweight_beta": 0.9}, [3, 2])
  assert math.isclose(_reweighting.DEFAULT_BETA, 0.9999)
