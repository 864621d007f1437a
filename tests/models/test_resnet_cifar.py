"""el_jax.models.resnet_cifar, He et al.'s 6n+2 CIFAR ResNets: parameter counts (HEM Table 2, and layer by layer),
batch-norm settings, and forward and backward passes."""

import pytest
from flax import nnx

from el_jax import models
from tests.models.checks import abstract, check_forward_backward


@pytest.mark.parametrize(
  "name, num_classes, input_shape, kwargs, expected",
  [
    # HEM Table 2 (appendix A.1.3).
    ("resnet32", 10, (32, 32, 3), {}, 464_154),
  ],
)
def test_parameter_counts_match_published_tables(name, num_classes, input_shape, kwargs, expected):
  assert models.count_params(abstract(name, num_classes, input_shape, **kwargs)) == expected


def _cifar_resnet_count(depth, num_classes=10):
  """He et al.'s 6n+2 CIFAR ResNet counted layer by layer (option-A shortcuts have no parameters)."""
  n = (depth - 2) // 6
  count = 3 * 16 * 9 + 2 * 16  # stem conv + BN
  in_ch = 16
  for width in (16, 32, 64):
    for _ in range(n):
      count += in_ch * width * 9 + width * width * 9 + 4 * width
      in_ch = width
  return count + 64 * num_classes + num_classes


@pytest.mark.parametrize("depth", [20, 32, 44, 56, 110])
def test_cifar_resnet_counts_follow_the_layer_formula(depth):
  assert models.count_params(abstract(f"resnet{depth}", 100, (32, 32, 3))) == _cifar_resnet_count(depth, 100)


@pytest.mark.parametrize(
  "name, input_shape, momentum, epsilon",
  [
    ("resnet20", (8, 8, 3), 0.9, 1e-5),
  ],
)
def test_every_batch_norm_has_the_torchvision_settings(name, input_shape, momentum, epsilon):
  model = abstract(name, 10, input_shape)
  norms = [m for _, m in nnx.iter_graph(model) if isinstance(m, nnx.BatchNorm)]
  assert norms and all(m.momentum == pytest.approx(momentum) and m.epsilon == epsilon for m in norms)


FAST = [("resnet20", (32, 32, 3)), ("resnet32", (32, 32, 3))]
SLOW = [("resnet44", (32, 32, 3)), ("resnet56", (32, 32, 3)), ("resnet110", (32, 32, 3))]


@pytest.mark.parametrize("name, input_shape", FAST)
def test_forward_and_backward_under_jit(name, input_shape):
  check_forward_backward(name, input_shape)


@pytest.mark.slow
@pytest.mark.parametrize("name, input_shape", SLOW)
def test_forward_and_backward_under_jit_large(name, input_shape):
  check_forward_backward(name, input_shape, batch=2 if input_shape[0] <= 64 else 1)
