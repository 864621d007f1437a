"""el_jax.models.mlp: HEM Table 2's parameter count, and a forward and backward pass on images and feature vectors."""

import pytest

from el_jax import models
from tests.models.checks import abstract, check_forward_backward


@pytest.mark.parametrize(
  "name, num_classes, input_shape, kwargs, expected",
  [
    # HEM Table 2 (appendix A.1.3).
    ("mlp", 10, (28, 28, 1), {}, 239_410),
  ],
)
def test_parameter_counts_match_published_tables(name, num_classes, input_shape, kwargs, expected):
  assert models.count_params(abstract(name, num_classes, input_shape, **kwargs)) == expected


FAST = [("mlp", (28, 28, 1)), ("mlp", (13,))]


@pytest.mark.parametrize("name, input_shape", FAST)
def test_forward_and_backward_under_jit(name, input_shape):
  check_forward_backward(name, input_shape)
