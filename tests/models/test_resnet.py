"""el_jax.models.resnet, the ImageNet ResNets and the ResNeXt-50/101 built from them: published parameter counts,
grouped 3x3 convolutions, and forward and backward passes."""

import jax.numpy as jnp
import pytest
from flax import nnx

from el_jax import models
from tests.models.checks import abstract, check_forward_backward


@pytest.mark.parametrize(
  "name, num_classes, input_shape, kwargs, expected",
  [
    # HEM Table 2 (appendix A.1.3).
    ("resnet18", 10, (32, 32, 3), {}, 11_173_962),
    ("resnet50", 1000, (224, 224, 3), {}, 25_557_032),
    # torchvision's published counts (1,000 ImageNet classes).
    ("resnet18", 1000, (224, 224, 3), {}, 11_689_512),
    ("resnet34", 1000, (224, 224, 3), {}, 21_797_672),
    ("resnet101", 1000, (224, 224, 3), {}, 44_549_160),
  ],
)
def test_parameter_counts_match_published_tables(name, num_classes, input_shape, kwargs, expected):
  assert models.count_params(abstract(name, num_classes, input_shape, **kwargs)) == expected


@pytest.mark.parametrize(
  "name, num_classes, input_shape, expected",
  [
    # torchvision's published counts with 1,000 ImageNet classes.
    ("resnext50_32x4d", 1000, (224, 224, 3), 25_028_904),
    ("resnext101_32x8d", 1000, (224, 224, 3), 88_791_336),
  ],
)
def test_parameter_counts_match_published_figures(name, num_classes, input_shape, expected):
  assert models.count_params(abstract(name, num_classes, input_shape)) == expected


def test_resnext_groups_its_3x3_convolutions_and_leaves_resnets_alone():
  resnext = abstract("resnext50_32x4d", 10, (224, 224, 3))
  # First stage: 32 groups of 4 channels (an inner width of 128), then 256 output channels; 8 per group in 101 32x8d.
  assert resnext.blocks[0].conv2.kernel.shape == (3, 3, 4, 128)
  assert resnext.blocks[0].conv2.feature_group_count == 32 and resnext.blocks[0].conv3.kernel.shape == (1, 1, 128, 256)
  assert resnext.blocks[-1].conv2.kernel.shape == (3, 3, 32, 1024)
  assert abstract("resnext101_32x8d", 10, (224, 224, 3)).blocks[-1].conv2.kernel.shape == (3, 3, 64, 2048)
  resnet = abstract("resnet50", 10, (224, 224, 3))
  assert resnet.blocks[0].conv2.kernel.shape == (3, 3, 64, 64) and resnet.blocks[0].conv2.feature_group_count == 1
  with pytest.raises(ValueError, match="need a bottleneck ResNet"):
    models.create("resnet18", num_classes=10, input_shape=(32, 32, 3), groups=32, width_per_group=4)


@pytest.mark.parametrize(
  "name, channels, head",
  [
    ("resnet34", (64, 128, 256, 512), 512 * 1000 + 1000),
    ("resnext50_32x4d", (256, 512, 1024, 2048), 2048 * 1000 + 1000),
  ],
)
def test_features_are_the_four_stages_at_strides_4_to_32(name, channels, head):
  published = {"resnet34": 21_797_672, "resnext50_32x4d": 25_028_904}[name]
  model = abstract(name, 1000, (224, 224, 3), stem="imagenet", classifier=False)
  assert not hasattr(model, "head") and models.count_params(model) == published - head
  model.eval()  # traces faster than training mode, same shapes
  maps = nnx.eval_shape(lambda m: m.features(jnp.zeros((1, 64, 96, 3))), model)
  assert [m.shape for m in maps] == [(1, 64 // s, 96 // s, c) for s, c in zip((4, 8, 16, 32), channels, strict=True)]
  with pytest.raises(ValueError, match="classifier=False"):
    nnx.eval_shape(lambda m: m(jnp.zeros((1, 64, 96, 3))), model)


SLOW = [
  ("resnet18", (32, 32, 3)),
  ("resnet34", (32, 32, 3)),
  ("resnet18", (224, 224, 3)),
  ("resnet50", (224, 224, 3)),
  ("resnet101", (224, 224, 3)),
]
# One training step of each ResNeXt at 32x32 (the CIFAR stem).
LARGE = [
  ("resnext50_32x4d", (32, 32, 3), 2),
  ("resnext101_32x8d", (32, 32, 3), 2),
]


@pytest.mark.slow
@pytest.mark.parametrize("name, input_shape", SLOW)
def test_forward_and_backward_under_jit_large(name, input_shape):
  check_forward_backward(name, input_shape, batch=2 if input_shape[0] <= 64 else 1)


@pytest.mark.slow
@pytest.mark.parametrize("name, input_shape, batch", LARGE)
def test_forward_and_backward_large(name, input_shape, batch):
  check_forward_backward(name, input_shape, batch=batch)


def test_dropout_adds_no_parameters_and_is_off_by_default():
  # the mixing paper's Table 6 "Dropout" row (p = 0.2); shapes only (eval_shape), as a ResNet's init is slow on a CPU
  plain, dropped = abstract("resnet34", 10, (32, 32, 3)), abstract("resnet34", 10, (32, 32, 3), dropout=0.2)
  assert plain.dropout is None and dropped.dropout.rate == 0.2
  assert models.count_params(plain) == models.count_params(dropped) == 21_282_122
  with pytest.raises(ValueError, match=r"dropout must lie in \[0, 1\)"):
    abstract("resnet18", 10, (32, 32, 3), dropout=1.0)
