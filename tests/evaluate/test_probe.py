"""The linear probe: features are the input of the model's head, the trained classifier matches scikit-learn's
logistic regression, and any source with one label per example can be probed."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from sklearn.linear_model import LogisticRegression

from el_jax import models
from el_jax.data.arrays import ArrayDataset
from el_jax.data.subset import Subset
from el_jax.evaluate import probe


def test_probe_features_are_the_input_of_the_head():
  model = models.create("mlp", num_classes=3, input_shape=(4, 4, 1), depth=1, width=6)
  x = np.random.default_rng(0).random((5, 4, 4, 1)).astype(np.float32)
  extractor = probe.feature_classifier(model, normalization=None)
  feats = np.asarray(extractor.logits_fn(extractor.params, x))
  np.testing.assert_allclose(
    feats @ np.asarray(model.head.kernel[...]) + np.asarray(model.head.bias[...]), model(x), rtol=1e-5, atol=1e-5
  )
  assert isinstance(model.head, nnx.Linear)  # the original model keeps its head


def test_a_model_without_a_linear_head_is_named():
  class NoHead(nnx.Module):
    def __call__(self, x):
      return x

  assert not probe.has_linear_head(NoHead())
  assert probe.has_linear_head(models.create("mlp", num_classes=3, input_shape=(4,), depth=1, width=6))
  with pytest.raises(ValueError, match="no linear `head`"):
    probe.feature_classifier(NoHead(), None)


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


def test_accuracy_is_the_argmax_accuracy_of_the_linear_classifier():
  params = {"w": np.array([[1.0, 0.0], [0.0, 1.0]]), "b": np.array([0.0, 0.5])}
  features = np.array([[2.0, 0.0], [1.0, 0.8], [0.0, 1.0]])  # logits [2, .5], [1, 1.3], [0, 1.5]
  assert probe.accuracy(params, features, np.array([0, 0, 1])) == pytest.approx(2 / 3)


def test_linear_probe_reads_any_source_and_reports_its_sizes():
  """An MLP's features of three clusters of feature vectors, read from re-indexed sources (no arrays): the probe's
  test accuracy is scikit-learn's logistic regression's on the same features."""
  rng = np.random.default_rng(1)
  centres = rng.normal(scale=2.0, size=(3, 5))
  labels = rng.integers(0, 3, 800).astype(np.int32)
  inputs = (centres[labels] + rng.normal(size=(800, 5))).astype(np.float32)
  data = ArrayDataset(inputs, labels, 3, name="clusters")
  train, test = Subset(data, np.arange(512)), Subset(data, np.arange(512, 800))
  model = models.create("mlp", num_classes=3, input_shape=(5,), depth=1, width=16)
  out = probe.linear_probe(model, None, train, test, recipe=probe.Recipe(batch_size=64), batch_size=100)
  assert (out["num_train"], out["feature_dim"]) == (512, 16) and out["recipe"]["batch_size"] == 64
  extractor = probe.feature_classifier(model, None)
  features = np.asarray(extractor.logits_fn(extractor.params, inputs))
  reference = LogisticRegression(max_iter=2000).fit(features[:512], labels[:512]).score(features[512:], labels[512:])
  assert out["test_accuracy"] == pytest.approx(reference, abs=0.03)


# ---- Classifier re-training with class-balanced sampling (CRT) -------------------------------------------------------
def test_class_balanced_indices_draw_each_present_class_equally_often_and_its_examples_uniformly():
  labels = np.repeat(np.array([0, 2, 3], np.int32), [900, 90, 10])  # class 1 absent
  indices = np.asarray(probe.class_balanced_indices(jax.random.key(0), jnp.asarray(labels), 30_000))
  drawn = np.bincount(labels[indices], minlength=4)
  assert drawn[1] == 0
  np.testing.assert_allclose(drawn[[0, 2, 3]], 10_000, atol=4 * np.sqrt(30_000 * 2 / 9))  # 4 binomial sds
  rare = np.bincount(indices[labels[indices] == 3] - 990, minlength=10)  # the 10 examples of class 3
  np.testing.assert_allclose(rare, 1_000, atol=4 * np.sqrt(1_000))


def _blobs(centres, counts, rng):
  labels = np.repeat(np.arange(len(counts)), counts)
  return centres[labels] + rng.normal(size=(labels.size, centres.shape[1])), labels


def test_crt_matches_class_balanced_logistic_regression_and_beats_the_plain_probe_on_rare_classes():
  """Class-balanced sampling weights each class's examples by N / (K n_k) in expectation: scikit-learn's
  `class_weight="balanced"`. On overlapping, imbalanced classes it raises the balanced accuracy."""
  centres = np.random.default_rng(0).normal(scale=1.2, size=(3, 4))
  features, labels = _blobs(centres, [2000, 300, 60], np.random.default_rng(1))
  test_features, test_labels = _blobs(centres, [400, 400, 400], np.random.default_rng(2))
  recipe = probe.Recipe(epochs=30, learning_rate=0.1, batch_size=128, schedule="cosine", sampling="class_balanced")
  balanced = probe.train_linear(features, labels, 3, recipe)
  plain = probe.train_linear(features, labels, 3, dataclasses.replace(recipe, sampling="uniform"))
  reference = LogisticRegression(class_weight="balanced", C=1e4, max_iter=5000).fit(features, labels)
  ours = probe.accuracy(balanced, test_features, test_labels)
  assert ours == pytest.approx(reference.score(test_features, test_labels), abs=0.03)
  assert ours > probe.accuracy(plain, test_features, test_labels) + 0.03


def test_recipes_name_a_bad_schedule_or_sampling():
  with pytest.raises(ValueError, match="Recipe.sampling must be one of uniform, class_balanced"):
    probe.Recipe(sampling="balanced")
  with pytest.raises(ValueError, match="Recipe.schedule must be one of step, cosine"):
    probe.Recipe(schedule="linear")
  assert (probe.CRT_RECIPE.epochs, probe.CRT_RECIPE.sampling) == (30, "class_balanced")
