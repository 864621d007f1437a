"""el_jax.models.lsoftmax_cnn: a forward and backward pass (its parameter count is in test_registry.py's
test_other_counts)."""

import numpy as np
import pytest

from el_jax import models
from tests.models.checks import check_forward_backward

FAST = [("lsoftmax_cnn", (28, 28, 1))]


@pytest.mark.parametrize("name, input_shape", FAST)
def test_forward_and_backward_under_jit(name, input_shape):
  check_forward_backward(name, input_shape)


@pytest.mark.parametrize("head_bias", [True, False])
def test_linear_outputs_are_the_last_layers_input_and_parameters(head_bias):
  model = models.create("lsoftmax_cnn", num_classes=10, input_shape=(28, 28, 1), head_bias=head_bias)
  model.eval()
  images = np.random.default_rng(0).normal(size=(3, 28, 28, 1)).astype(np.float32)
  hidden, weight, bias = model.linear_outputs(images)
  assert hidden.shape == (3, 256) and weight.shape == (256, 10)
  assert (bias is None) == (not head_bias)
  logits = np.asarray(hidden) @ np.asarray(weight) + (0.0 if bias is None else np.asarray(bias))
  np.testing.assert_allclose(model(images), logits, rtol=1e-5, atol=1e-5)
