"""el_jax.models.resnext, ResNeXt-29: a forward and backward pass (its parameter count is in test_registry.py's
test_other_counts; ResNeXt-50/101 are ResNets, in test_resnet.py)."""

import pytest

from tests.models.checks import check_forward_backward

SLOW = [("resnext29", (32, 32, 3))]


@pytest.mark.slow
@pytest.mark.parametrize("name, input_shape", SLOW)
def test_forward_and_backward_under_jit_large(name, input_shape):
  check_forward_backward(name, input_shape, batch=2 if input_shape[0] <= 64 else 1)
