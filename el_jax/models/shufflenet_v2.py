"""ShuffleNet V2 x1.0 (Ma et al., 2018) as torchvision defines it: 2,278,604 parameters with 1,000 classes.

conv3x3/2(24) -> BN -> ReLU -> max-pool 3x3/2 -> three stages of 4, 8 and 4 units (116, 232 and 464 channels, each
starting with a stride-2 unit) -> 1x1(1024) -> BN -> ReLU -> global average -> dense(K). A stride-1 unit splits its
channels in half, transforms one half (1x1 -> depthwise 3x3 -> 1x1) and concatenates it to the other; a stride-2 unit
transforms the whole input in two branches that each halve the resolution; both end with a channel shuffle of 2 groups.

Like resnet.py, the stem follows the input size: inputs larger than `small_input` (64) pixels a side get the ImageNet
stem above; smaller ones (CIFAR's 32x32) the usual CIFAR adaptation, a stride-1 3x3 convolution and no max-pool, so
that the three stages see 32, 16 and 8 pixels a side instead of 1/8 of that. The stem's parameters are the same either
way, so the parameter count does not depend on the stem. `stem="cifar"` or `"imagenet"` forces one.
"""

import jax
import jax.numpy as jnp
from flax import nnx

from el_jax.models.layers import batch_norm, conv, global_average_pool

# Output channels of the stem, the three stages and the last 1x1 convolution of ShuffleNet V2 x1.0, and the number of
# units per stage.
X1_0_CHANNELS = (24, 116, 232, 464, 1024)
STAGE_UNITS = (4, 8, 4)
_STEMS = ("auto", "cifar", "imagenet")


def channel_shuffle(x: jax.Array, groups: int) -> jax.Array:
  """Interleaves `groups` groups of channels: channel `g * n + j` of `[..., groups * n]` goes to `j * groups + g`."""
  *lead, channels = x.shape
  x = x.reshape(*lead, groups, channels // groups)
  return jnp.swapaxes(x, -1, -2).reshape(*lead, channels)


class ShuffleUnit(nnx.Module):
  """The ShuffleNet V2 building block (figure 3 (c) for stride 1, (d) for stride 2 of the paper)."""

  def __init__(self, in_channels: int, out_channels: int, stride: int, *, rngs: nnx.Rngs):
    if stride == 1 and in_channels != out_channels:
      raise ValueError("A stride-1 ShuffleNet unit keeps its channel count.")
    half = out_channels // 2
    self.stride = stride
    if stride > 1:
      # The branch that carries the input: depthwise 3x3 (strided) -> BN -> 1x1 -> BN -> ReLU.
      self.skip_depthwise = conv(in_channels, in_channels, 3, stride=stride, groups=in_channels, rngs=rngs)
      self.skip_depthwise_bn = batch_norm(in_channels, rngs=rngs)
      self.skip_pointwise = conv(in_channels, half, 1, rngs=rngs)
      self.skip_pointwise_bn = batch_norm(half, rngs=rngs)
    # The transformed branch: 1x1 -> BN -> ReLU -> depthwise 3x3 -> BN -> 1x1 -> BN -> ReLU.
    self.pointwise1 = conv(in_channels if stride > 1 else half, half, 1, rngs=rngs)
    self.pointwise1_bn = batch_norm(half, rngs=rngs)
    self.depthwise = conv(half, half, 3, stride=stride, groups=half, rngs=rngs)
    self.depthwise_bn = batch_norm(half, rngs=rngs)
    self.pointwise2 = conv(half, half, 1, rngs=rngs)
    self.pointwise2_bn = batch_norm(half, rngs=rngs)

  def _branch(self, x):
    x = nnx.relu(self.pointwise1_bn(self.pointwise1(x)))
    x = self.depthwise_bn(self.depthwise(x))
    return nnx.relu(self.pointwise2_bn(self.pointwise2(x)))

  def __call__(self, x):
    if self.stride == 1:
      kept, transformed = jnp.split(x, 2, axis=-1)
      out = jnp.concatenate([kept, self._branch(transformed)], axis=-1)
    else:
      skip = self.skip_depthwise_bn(self.skip_depthwise(x))
      skip = nnx.relu(self.skip_pointwise_bn(self.skip_pointwise(skip)))
      out = jnp.concatenate([skip, self._branch(x)], axis=-1)
    return channel_shuffle(out, 2)


class ShuffleNetV2(nnx.Module):
  """ShuffleNet V2 x1.0.

  Args:
    stem: "imagenet", "cifar", or "auto" (the CIFAR stem for inputs of at most `small_input` pixels a side).
  """

  def __init__(
    self,
    *,
    num_classes: int,
    input_shape: tuple[int, int, int],
    rngs: nnx.Rngs,
    stem: str = "auto",
    small_input: int = 64,
  ):
    if stem not in _STEMS:
      raise ValueError(f"ShuffleNet V2 stem must be one of {_STEMS}, got {stem!r}.")
    height, width, in_channels = input_shape
    self.imagenet_stem = stem == "imagenet" or (stem == "auto" and max(height, width) > small_input)
    stem_channels, *stage_channels, last_channels = X1_0_CHANNELS
    self.stem = conv(in_channels, stem_channels, 3, stride=2 if self.imagenet_stem else 1, rngs=rngs)
    self.stem_bn = batch_norm(stem_channels, rngs=rngs)
    units, channels = [], stem_channels
    for out_channels, count in zip(stage_channels, STAGE_UNITS, strict=True):
      for i in range(count):
        units.append(ShuffleUnit(channels, out_channels, 2 if i == 0 else 1, rngs=rngs))
        channels = out_channels
    self.units = nnx.List(units)
    self.last = conv(channels, last_channels, 1, rngs=rngs)
    self.last_bn = batch_norm(last_channels, rngs=rngs)
    self.head = nnx.Linear(last_channels, num_classes, rngs=rngs)

  def __call__(self, x):
    x = nnx.relu(self.stem_bn(self.stem(x)))
    if self.imagenet_stem:
      x = nnx.max_pool(x, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
    for unit in self.units:
      x = unit(x)
    x = nnx.relu(self.last_bn(self.last(x)))
    return self.head(global_average_pool(x))
