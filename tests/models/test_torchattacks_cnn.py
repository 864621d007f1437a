"""el_jax.models.torchattacks_cnn: a forward and backward pass (its parameter count is in test_registry.py's
test_other_counts)."""

import pytest

from tests.models.checks import check_forward_backward

FAST = [("torchattacks_cnn", (28, 28, 1))]


@pytest.mark.parametrize("name, input_shape", FAST)
def test_forward_and_backward_under_jit(name, input_shape):
  check_forward_backward(name, input_shape)
