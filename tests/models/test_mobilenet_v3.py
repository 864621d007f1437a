"""el_jax.models.mobilenet_v3: parameter counts of MobileNetV3-Small/Large (HEM Table 2, torchvision), batch-norm
settings, and forward and backward passes."""

import pytest
from flax import nnx

from el_jax import models
from tests.models.checks import abstract, check_forward_backward


@pytest.mark.parametrize(
  "name, num_classes, input_shape, kwargs, expected",
  [
    # HEM Table 2 (appendix A.1.3).
    ("mobilenet_v3_small", 10, (32, 32, 3), {}, 1_528_106),
    ("mobilenet_v3_large", 100, (32, 32, 3), {}, 4_330_132),
    # torchvision's published counts (1,000 ImageNet classes).
    ("mobilenet_v3_small", 1000, (224, 224, 3), {}, 2_542_856),
    ("mobilenet_v3_large", 1000, (224, 224, 3), {}, 5_483_032),
  ],
)
def test_parameter_counts_match_published_tables(name, num_classes, input_shape, kwargs, expected):
  assert models.count_params(abstract(name, num_classes, input_shape, **kwargs)) == expected


@pytest.mark.parametrize(
  "name, input_shape, momentum, epsilon",
  [
    ("mobilenet_v3_small", (32, 32, 3), 0.99, 1e-3),
  ],
)
def test_every_batch_norm_has_the_torchvision_settings(name, input_shape, momentum, epsilon):
  model = abstract(name, 10, input_shape)
  norms = [m for _, m in nnx.iter_graph(model) if isinstance(m, nnx.BatchNorm)]
  assert norms and all(m.momentum == pytest.approx(momentum) and m.epsilon == epsilon for m in norms)


SLOW = [("mobilenet_v3_small", (32, 32, 3)), ("mobilenet_v3_large", (32, 32, 3))]


@pytest.mark.slow
@pytest.mark.parametrize("name, input_shape", SLOW)
def test_forward_and_backward_under_jit_large(name, input_shape):
  check_forward_backward(name, input_shape, batch=2 if input_shape[0] <= 64 else 1)
