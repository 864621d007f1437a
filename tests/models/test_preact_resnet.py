"""el_jax.models.preact_resnet: HEM Table 2's parameter count of PreAct ResNet-18, and a forward and backward pass."""

import pytest

from el_jax import models
from tests.models.checks import abstract, check_forward_backward


@pytest.mark.parametrize(
  "name, num_classes, input_shape, kwargs, expected",
  [
    # HEM Table 2 (appendix A.1.3).
    ("preact_resnet18", 100, (32, 32, 3), {}, 11_218_340),
  ],
)
def test_parameter_counts_match_published_tables(name, num_classes, input_shape, kwargs, expected):
  assert models.count_params(abstract(name, num_classes, input_shape, **kwargs)) == expected


SLOW = [("preact_resnet18", (32, 32, 3))]


@pytest.mark.slow
@pytest.mark.parametrize("name, input_shape", SLOW)
def test_forward_and_backward_under_jit_large(name, input_shape):
  check_forward_backward(name, input_shape, batch=2 if input_shape[0] <= 64 else 1)
