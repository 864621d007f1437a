"""el_jax.models.vit: published parameter counts of ViT-Ti/S/B/16, and forward and backward passes."""

import pytest

from el_jax import models
from tests.models.checks import abstract, check_forward_backward


@pytest.mark.parametrize(
  "name, num_classes, input_shape, kwargs, expected",
  [
    # HEM Table 2 (appendix A.1.3).
    ("vit_b16", 1000, (224, 224, 3), {}, 86_567_656),
    # timm's DeiT-Ti/S for ViT-Ti/S.
    ("vit_ti16", 1000, (224, 224, 3), {}, 5_717_416),
    ("vit_s16", 1000, (224, 224, 3), {}, 22_050_664),
  ],
)
def test_parameter_counts_match_published_tables(name, num_classes, input_shape, kwargs, expected):
  assert models.count_params(abstract(name, num_classes, input_shape, **kwargs)) == expected


SLOW = [("vit_ti16", (32, 32, 3)), ("vit_s16", (224, 224, 3)), ("vit_b16", (224, 224, 3))]


@pytest.mark.slow
@pytest.mark.parametrize("name, input_shape", SLOW)
def test_forward_and_backward_under_jit_large(name, input_shape):
  check_forward_backward(name, input_shape, batch=2 if input_shape[0] <= 64 else 1)
