import numpy as np
import pytest

from el_jax import models
from el_jax.continual import features
from el_jax.train import step


def test_penultimate_features_of_an_mlp_and_its_logits_from_them():
  model = models.create("mlp", num_classes=3, input_shape=(2, 2, 1), depth=1, width=5)
  model_parts, params, model_state = step.split_model(model)
  x = np.random.default_rng(1).normal(size=(4, 2, 2, 1)).astype(np.float32)
  logits, feats, _ = features.apply_with_features(model_parts.eval, model_parts, params, model_state, x)
  hidden, head = params["hidden"][0], params["head"]
  expected = np.maximum(x.reshape(4, -1) @ np.asarray(hidden["kernel"][...]) + np.asarray(hidden["bias"][...]), 0)
  np.testing.assert_allclose(feats, expected, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(
    logits, expected @ np.asarray(head["kernel"][...]) + np.asarray(head["bias"][...]), rtol=1e-5, atol=1e-6
  )
  # The logits are the model's own: swapping the head out and back leaves the model as it was.
  plain, _ = step.apply_model(model_parts.eval, model_parts, params, model_state, x)
  np.testing.assert_allclose(logits, plain, rtol=1e-6)


def test_a_model_without_a_head_layer_is_named():
  model = models.create("mlp", num_classes=3, input_shape=(2, 2, 1), depth=1, width=5)
  model_parts, params, model_state = step.split_model(model)
  x = np.zeros((1, 2, 2, 1), np.float32)
  with pytest.raises(ValueError, match="MLP has no classifier layer named 'classifier'"):
    features.apply_with_features(model_parts.eval, model_parts, params, model_state, x, head="classifier")
