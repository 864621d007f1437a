import jax
import numpy as np
from flax import nnx

from el_jax import models
from el_jax.continual import lfl
from el_jax.train import step


def test_feature_distance_is_the_mean_squared_difference_and_leaves_the_old_features_fixed():
  rng = np.random.default_rng(0)
  new, old = rng.normal(size=(2, 4, 6)).astype(np.float32)
  np.testing.assert_allclose(lfl.feature_distance(new, old), np.mean((new - old) ** 2), rtol=1e-6)
  g_new, g_old = jax.grad(lfl.feature_distance, argnums=(0, 1))(new, old)
  np.testing.assert_allclose(g_new, 2 * (new - old) / new.size, rtol=1e-5)
  assert np.all(np.asarray(g_old) == 0)


def test_head_mask_marks_the_classifier_parameters_only():
  model = models.create("mlp", num_classes=3, input_shape=(2, 2, 1), depth=1, width=5)
  _, params, _ = step.split_model(model)
  mask = {"/".join(map(str, path)): bool(value.get_value()) for path, value in nnx.to_flat_state(lfl.head_mask(params))}
  assert mask == {"head/bias": True, "head/kernel": True, "hidden/0/bias": False, "hidden/0/kernel": False}
