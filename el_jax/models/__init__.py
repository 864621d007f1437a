"""Flax NNX classifiers by name: `create(name, num_classes=..., input_shape=...)`.

Every model maps a batch `[N, *input_shape]` to logits `[N, num_classes]`, except the dense-output models of
`DENSE_OUTPUT`, the FPN segmentation models (`fpn_resnet34`, `fpn_efficientnet_b4`, `fpn_densenet201`,
`fpn_resnext50_32x4d`; `el_jax.models.fpn`), which map images `[N, H, W, C]` to per-pixel logits
`[N, H, W, num_classes]` and need H and W multiples of 32. Image models take `input_shape = (H, W, C)`; `mlp` also
takes feature vectors, `input_shape = (D,)`. Models with batch norm or dropout switch between training and evaluation
behaviour with `model.train()` / `model.eval()`.
"""

from el_jax import _extras

_extras.require("el_jax.models", "train")

import functools  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402
from flax import nnx  # noqa: E402

from el_jax.models import bert, fpn, graph_nets, language_model, lstm, transformer  # noqa: E402
from el_jax.models.convnet import ConvNet  # noqa: E402
from el_jax.models.densenet import DenseNet  # noqa: E402
from el_jax.models.efficientnet import EfficientNet, EfficientNetB0, EfficientNetB4  # noqa: E402
from el_jax.models.fpn import FPN  # noqa: E402
from el_jax.models.inception_v3 import InceptionV3  # noqa: E402
from el_jax.models.lenet import LeNet  # noqa: E402
from el_jax.models.lsoftmax_cnn import LSoftmaxCNN  # noqa: E402
from el_jax.models.mlp import MLP  # noqa: E402
from el_jax.models.mobilenet_v3 import MobileNetV3  # noqa: E402
from el_jax.models.preact_resnet import PreActResNet18  # noqa: E402
from el_jax.models.resnet import ResNet  # noqa: E402
from el_jax.models.resnet_cifar import CifarResNet  # noqa: E402
from el_jax.models.resnext import ResNeXt29  # noqa: E402
from el_jax.models.shufflenet_v2 import ShuffleNetV2  # noqa: E402
from el_jax.models.swin import SwinTransformer  # noqa: E402
from el_jax.models.torchattacks_cnn import TorchattacksCNN  # noqa: E402
from el_jax.models.vit import VisionTransformer  # noqa: E402
from el_jax.models.wide_resnet import WideResNet  # noqa: E402

_MODELS = {
  "mlp": MLP,
  "lenet": LeNet,
  "convnet": ConvNet,
  "lsoftmax_cnn": LSoftmaxCNN,
  "torchattacks_cnn": TorchattacksCNN,
  **{f"resnet{d}": functools.partial(CifarResNet, depth=d) for d in (20, 32, 44, 56, 110)},
  **{f"resnet{d}": functools.partial(ResNet, depth=d) for d in (18, 34, 50, 101)},
  "preact_resnet18": PreActResNet18,
  "wrn": WideResNet,
  "wrn16_8": functools.partial(WideResNet, depth=16, width=8),
  "wrn22_10": functools.partial(WideResNet, depth=22, width=10),
  "wrn28_10": functools.partial(WideResNet, depth=28, width=10),
  "resnext29": ResNeXt29,
  "resnext50_32x4d": functools.partial(ResNet, depth=50, groups=32, width_per_group=4),
  "resnext101_32x8d": functools.partial(ResNet, depth=101, groups=32, width_per_group=8),
  **{f"vit_{size}16": functools.partial(VisionTransformer, size=size, patch=16) for size in ("ti", "s", "b")},
  "efficientnet_b0": EfficientNetB0,
  "efficientnet_b4": EfficientNetB4,
  "densenet201": DenseNet,
  "mobilenet_v3_small": functools.partial(MobileNetV3, size="small"),
  "mobilenet_v3_large": functools.partial(MobileNetV3, size="large"),
  "shufflenet_v2": ShuffleNetV2,
  "inception_v3": InceptionV3,
  "swin_t": functools.partial(SwinTransformer, size="t"),
  **fpn.MODELS,
}
# Dense-output (segmentation) models: logits [N, H, W, num_classes] for images [N, H, W, C], one per pixel.
DENSE_OUTPUT = frozenset(fpn.MODELS)
# Models that also accept flat feature vectors `[N, D]`; the others need images `[N, H, W, C]`.
_VECTOR_INPUT = {"mlp"}
# Models of inputs other than images (tokens, graphs): constructors taking `input_shape` as a dict
# `{input name: shape}` and called on named inputs (see `el_jax.train.step`).
_NAMED_INPUT_MODELS = {
  **lstm.MODELS,
  **bert.MODELS,
  **transformer.MODELS,
  **language_model.MODELS,
  **graph_nets.MODELS,
}


def names() -> list[str]:
  """The registered model names."""
  return sorted({**_MODELS, **_NAMED_INPUT_MODELS})


def create(name: str, *, num_classes: int, input_shape: tuple[int, ...], seed: int = 0, **kwargs) -> nnx.Module:
  """Builds model `name` for inputs of shape `input_shape` (without the batch axis), initialised from `seed`.

  Extra keyword arguments go to the model's constructor (e.g. `depth`, `width` for `mlp` and `wrn`).
  To count parameters without initialising them, build it under `nnx.eval_shape(lambda: create(...))`.
  """
  registry = {**_MODELS, **_NAMED_INPUT_MODELS}
  if name not in registry:
    raise ValueError(f"Unknown model {name!r}. Valid names: {', '.join(names())}.")
  if isinstance(input_shape, dict):  # named inputs (tokens, graphs): the model checks them
    if name in _MODELS:
      raise ValueError(f"Model {name!r} takes one array of inputs, not named inputs {sorted(input_shape)}.")
    input_shape = {k: tuple(int(d) for d in v) for k, v in input_shape.items()}
  else:
    input_shape = tuple(int(d) for d in input_shape)
  if name in _MODELS and name not in _VECTOR_INPUT and len(input_shape) != 3:
    raise ValueError(
      f"Model {name!r} needs image inputs of shape (H, W, C), got {input_shape}; for feature vectors use 'mlp'."
    )
  if num_classes < 2:
    raise ValueError(f"num_classes must be at least 2, got {num_classes}.")
  try:
    return registry[name](num_classes=num_classes, input_shape=input_shape, rngs=nnx.Rngs(seed), **kwargs)
  except TypeError as e:
    raise ValueError(f"Bad arguments {kwargs} for model {name!r}: {e}") from None


def count_params(model: nnx.Module) -> int:
  """The number of trainable parameters (`nnx.Param` leaves; batch-norm running statistics are not counted)."""
  return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(nnx.state(model, nnx.Param)))


__all__ = [
  "MLP",
  "CifarResNet",
  "DENSE_OUTPUT",
  "FPN",
  "ConvNet",
  "DenseNet",
  "EfficientNet",
  "EfficientNetB0",
  "EfficientNetB4",
  "InceptionV3",
  "LSoftmaxCNN",
  "LeNet",
  "MobileNetV3",
  "PreActResNet18",
  "ResNeXt29",
  "ResNet",
  "ShuffleNetV2",
  "SwinTransformer",
  "VisionTransformer",
  "WideResNet",
  "count_params",
  "create",
  "names",
]
