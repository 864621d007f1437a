"""el_jax.models.efficientnet: EfficientNet-B0's published parameter count, batch-norm settings, and a forward and
backward pass."""

import pytest
from flax import nnx

from el_jax import models
from tests.models.checks import abstract, check_forward_backward


@pytest.mark.parametrize(
  "name, num_classes, input_shape, kwargs, expected",
  [
    # torchvision's published count (1,000 ImageNet classes).
    ("efficientnet_b0", 1000, (224, 224, 3), {}, 5_288_548),
  ],
)
def test_parameter_counts_match_published_tables(name, num_classes, input_shape, kwargs, expected):
  assert models.count_params(abstract(name, num_classes, input_shape, **kwargs)) == expected


@pytest.mark.parametrize(
  "name, input_shape, momentum, epsilon",
  [
    ("efficientnet_b0", (32, 32, 3), 0.9, 1e-3),
  ],
)
def test_every_batch_norm_has_the_torchvision_settings(name, input_shape, momentum, epsilon):
  model = abstract(name, 10, input_shape)
  norms = [m for _, m in nnx.iter_graph(model) if isinstance(m, nnx.BatchNorm)]
  assert norms and all(m.momentum == pytest.approx(momentum) and m.epsilon == epsilon for m in norms)


SLOW = [("efficientnet_b0", (224, 224, 3))]


@pytest.mark.slow
@pytest.mark.parametrize("name, input_shape", SLOW)
def test_forward_and_backward_under_jit_large(name, input_shape):
  check_forward_backward(name, input_shape, batch=2 if input_shape[0] <= 64 else 1)
