"""el_jax.models.efficientnet: EfficientNet-B0's and -B4's published parameter counts, B4's scaled stages, batch-norm
settings, the feature maps taken by the FPN encoder, and forward and backward passes (B4's traced)."""

import jax.numpy as jnp
import pytest
from flax import nnx

from el_jax import models
from el_jax.models import efficientnet
from tests.models.checks import abstract, check_forward_backward, trace_forward_backward


@pytest.mark.parametrize(
  "name, num_classes, input_shape, kwargs, expected",
  [
    # torchvision's published count (1,000 ImageNet classes).
    ("efficientnet_b0", 1000, (224, 224, 3), {}, 5_288_548),
    ("efficientnet_b4", 1000, (224, 224, 3), {}, 19_341_616),
  ],
)
def test_parameter_counts_match_published_tables(name, num_classes, input_shape, kwargs, expected):
  assert models.count_params(abstract(name, num_classes, input_shape, **kwargs)) == expected


@pytest.mark.parametrize(
  "name, input_shape, momentum, epsilon",
  [
    ("efficientnet_b0", (32, 32, 3), 0.9, 1e-3),
    ("efficientnet_b4", (32, 32, 3), 0.9, 1e-3),
  ],
)
def test_every_batch_norm_has_the_torchvision_settings(name, input_shape, momentum, epsilon):
  model = abstract(name, 10, input_shape)
  norms = [m for _, m in nnx.iter_graph(model) if isinstance(m, nnx.BatchNorm)]
  assert norms and all(m.momentum == pytest.approx(momentum) and m.epsilon == epsilon for m in norms)


def test_b4_scales_the_b0_stages():
  # Tan and Le (2019) / torchvision's B4: B0's channels x1.4 rounded to multiples of 8, repeats ceil(x1.8).
  stages = efficientnet.scaled_stages(1.4, 1.8)
  assert [s[3] for s in stages] == [48, 24, 32, 56, 112, 160, 272]
  assert [s[4] for s in stages] == [24, 32, 56, 112, 160, 272, 448]
  assert [s[5] for s in stages] == [2, 4, 4, 6, 6, 8, 2]
  assert efficientnet.scale_channels(16, 1.4) == 24 and efficientnet.scale_channels(112, 1.4) == 160
  model = abstract("efficientnet_b4", 10, (224, 224, 3))
  assert len(model.blocks) == 32 and model.top.kernel.shape == (1, 1, 448, 1792) and model.dropout.rate == 0.4
  assert abstract("efficientnet_b0", 10, (224, 224, 3)).dropout.rate == 0.2


@pytest.mark.parametrize(
  "name, channels", [("efficientnet_b0", (24, 40, 112, 320)), ("efficientnet_b4", (32, 56, 160, 448))]
)
def test_features_are_the_last_blocks_at_strides_4_to_32(name, channels):
  model = abstract(name, 10, (64, 96, 3), classifier=False)
  assert not hasattr(model, "top") and not hasattr(model, "head")
  model.eval()  # traces faster than training mode, same shapes
  maps = nnx.eval_shape(lambda m: m.features(jnp.zeros((1, 64, 96, 3))), model)
  assert [m.shape for m in maps] == [(1, 64 // s, 96 // s, c) for s, c in zip((4, 8, 16, 32), channels, strict=True)]
  with pytest.raises(ValueError, match="classifier=False"):
    nnx.eval_shape(lambda m: m(jnp.zeros((1, 64, 96, 3))), model)


SLOW = [("efficientnet_b0", (224, 224, 3))]
# B4's training step at its ImageNet size (380 x 380), traced: executed at full size it takes 40 s.
TRACED = [("efficientnet_b4", (380, 380, 3))]


@pytest.mark.parametrize("name, input_shape", TRACED)
def test_forward_and_backward_traced(name, input_shape):
  trace_forward_backward(abstract(name, 10, input_shape), name, input_shape)


@pytest.mark.slow
@pytest.mark.parametrize("name, input_shape", SLOW)
def test_forward_and_backward_under_jit_large(name, input_shape):
  check_forward_backward(name, input_shape, batch=2 if input_shape[0] <= 64 else 1)
