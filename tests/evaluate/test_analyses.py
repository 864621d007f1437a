"""Margins, energies, gradient weights and the linear probe against closed forms and scikit-learn."""

import jax
import numpy as np
import pytest
from flax import nnx
from sklearn.linear_model import LogisticRegression

from el_jax import losses, models
from el_jax.evaluate import gradient_weight, margins, probe

LOGITS = np.array([[3.0, 1.0, 2.0], [0.5, 0.0, 4.0], [1.0, 1.0, -1.0]])
LABELS = np.array([0, 1, 1])


def test_margins_hand_computed():
  np.testing.assert_allclose(margins.margins(LOGITS, LABELS), [1.0, -4.0, 0.0])


def test_energy_summary_and_class_energy():
  out = margins.energy_summary(LOGITS, LABELS)
  assert out["on_data"] == pytest.approx(np.mean([-3.0, 0.0, -1.0]))
  assert out["lowest_off_data"] == pytest.approx(np.mean([-2.0, -4.0, -1.0]))
  assert out["gap"] == pytest.approx(np.mean([1.0, -4.0, 0.0]))
  energy = margins.class_energy(LOGITS, LABELS, num_classes=3)
  np.testing.assert_allclose(energy[0], [-3.0, -1.0, -2.0])
  np.testing.assert_allclose(energy[1], [-0.75, -0.5, -1.5])
  assert np.all(np.isnan(energy[2]))


def test_gradient_weight_closed_forms():
  p = np.array([0.05, 0.3, 0.6, 0.75, 0.8, 0.95])
  ce = gradient_weight.gradient_weight(losses.get("cross_entropy"), p, 10)
  np.testing.assert_allclose(ce, 1 - p, atol=1e-5)
  normal = gradient_weight.gradient_weight(losses.get("encouraging_loss", log_end=1.0), p, 10)
  np.testing.assert_allclose(normal, np.ones_like(p), atol=1e-4)  # -log p + log(1 - p): weight 1 everywhere
  conservative = gradient_weight.gradient_weight(losses.get("encouraging_loss", log_end=0.75), p, 10)
  expected = np.where(p <= 0.75, 1.0, 1 - p + p * (1 - p) / 0.25)
  np.testing.assert_allclose(conservative, expected, atol=1e-4)


def test_gradient_weight_logits_have_the_target_probability():
  z = gradient_weight.logits_for(np.array([0.2, 0.9]), 5)
  probs = np.asarray(jax.nn.softmax(z))
  np.testing.assert_allclose(probs[:, 0], [0.2, 0.9], rtol=1e-5)
  np.testing.assert_allclose(probs[:, 1:], [[0.2] * 4, [0.025] * 4], rtol=1e-5)


def test_probe_features_are_the_input_of_the_head():
  model = models.create("mlp", num_classes=3, input_shape=(4, 4, 1), depth=1, width=6)
  x = np.random.default_rng(0).random((5, 4, 4, 1)).astype(np.float32)
  extractor = probe.feature_classifier(model, normalization=None)
  feats = np.asarray(extractor.logits_fn(extractor.params, x))
  np.testing.assert_allclose(
    feats @ np.asarray(model.head.kernel[...]) + np.asarray(model.head.bias[...]), model(x), rtol=1e-5, atol=1e-5
  )
  assert isinstance(model.head, nnx.Linear)  # the original model keeps its head


def test_linear_probe_matches_logistic_regression_on_separable_features():
  rng = np.random.default_rng(0)
  centres = rng.normal(scale=3.0, size=(4, 8))
  labels = rng.integers(0, 4, 2000)
  features = centres[labels] + rng.normal(size=(2000, 8))
  train, test = slice(0, 1500), slice(1500, None)
  params = probe.train_linear(features[train], labels[train], 4, probe.Recipe(epochs=20, batch_size=100))
  ours = probe.accuracy(params, features[test], labels[test])
  reference = LogisticRegression(max_iter=1000).fit(features[train], labels[train]).score(features[test], labels[test])
  assert ours == pytest.approx(reference, abs=0.02)
