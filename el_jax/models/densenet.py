"""DenseNet-BC (Huang et al., 2017) as torchvision defines it; registered as DenseNet-201.

Each dense layer maps its input `x` (all earlier maps of its block, concatenated) to `growth_rate` new channels,
BN -> ReLU -> 1x1 conv(`bn_size * growth_rate`) -> BN -> ReLU -> 3x3 conv(`growth_rate`), and passes on
`concat(x, new)`; a block of `n` layers therefore adds `n * growth_rate` channels. Between blocks a transition,
BN -> ReLU -> 1x1 conv(half the channels) -> 2x2 average pool, halves the channels and the resolution. The stem is a
7x7 stride-2 convolution (`init_features` channels), BN, ReLU and a 3x3 stride-2 max-pool; after the last block
come a BN, a ReLU, global average pooling and the dense head. Convolutions have no bias and are initialised He-normal
on the input fan (torchvision's `kaiming_normal_`); batch norm has PyTorch's defaults (epsilon 1e-5, momentum 0.1).

DenseNet-201: growth 32, blocks (6, 12, 48, 32), bn_size 4, 64 initial features; the blocks end with 256, 512,
1792 and 1920 channels, and it has 20,013,928 parameters with 1,000 classes (torchvision's count). HEM uses it as an
encoder of its FPN segmentation models (section 5.4, A.4.3).

`features(x)` returns, as the Segmentation Models library takes them, the activations at strides 4, 8, 16 and 32:
the first three transitions' BN -> ReLU outputs (before their convolution and pooling: the full 256, 512 and 1792
channels of blocks 1-3) and the final BN's output (1920 channels, before the ReLU). Built with `classifier=False`,
the network has no dense head; only `features` can be called.
"""

import jax
import jax.numpy as jnp
from flax import nnx

from el_jax.models.layers import batch_norm, conv, global_average_pool

# torchvision initialises DenseNet's convolutions with `kaiming_normal_`: N(0, 2 / fan_in), not truncated.
_he_normal_fan_in = nnx.initializers.variance_scaling(2.0, "fan_in", "normal")


def _avg_pool_2x2(x: jax.Array) -> jax.Array:
  """2x2 average pooling with stride 2 (PyTorch's `AvgPool2d(2, 2)`: an odd last row or column is dropped)."""
  b, h, w, c = x.shape
  x = x[:, : h - h % 2, : w - w % 2]
  return x.reshape(b, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


class DenseLayer(nnx.Module):
  """BN -> ReLU -> 1x1 conv(bn_size * growth) -> BN -> ReLU -> 3x3 conv(growth); returns `concat(x, new)`."""

  def __init__(self, in_channels: int, growth_rate: int, bn_size: int, *, rngs: nnx.Rngs):
    inner = bn_size * growth_rate
    self.norm1 = batch_norm(in_channels, rngs=rngs)
    self.conv1 = conv(in_channels, inner, 1, kernel_init=_he_normal_fan_in, rngs=rngs)
    self.norm2 = batch_norm(inner, rngs=rngs)
    self.conv2 = conv(inner, growth_rate, 3, kernel_init=_he_normal_fan_in, rngs=rngs)

  def __call__(self, x):
    new = self.conv1(nnx.relu(self.norm1(x)))
    new = self.conv2(nnx.relu(self.norm2(new)))
    return jnp.concatenate([x, new], axis=-1)


class Transition(nnx.Module):
  """BN -> ReLU -> 1x1 conv(out_channels) -> 2x2 average pool; returns the pooled map and the BN -> ReLU output."""

  def __init__(self, in_channels: int, out_channels: int, *, rngs: nnx.Rngs):
    self.norm = batch_norm(in_channels, rngs=rngs)
    self.conv = conv(in_channels, out_channels, 1, kernel_init=_he_normal_fan_in, rngs=rngs)

  def __call__(self, x):
    activation = nnx.relu(self.norm(x))
    return _avg_pool_2x2(self.conv(activation)), activation


class DenseNet(nnx.Module):
  """stem -> [dense block -> transition] x 3 -> dense block -> BN -> ReLU -> global average -> dense(K).

  Args:
    growth_rate, block_config, bn_size, init_features: torchvision's arguments (DenseNet-201 by default).
    classifier: False builds the feature extractor alone (no dense head), for `features`.
  """

  def __init__(
    self,
    *,
    num_classes: int,
    input_shape: tuple[int, int, int],
    rngs: nnx.Rngs,
    growth_rate: int = 32,
    block_config: tuple[int, ...] = (6, 12, 48, 32),
    bn_size: int = 4,
    init_features: int = 64,
    classifier: bool = True,
  ):
    if len(block_config) != 4 or min(block_config) < 1:
      raise ValueError(f"block_config must give 4 positive block sizes, got {block_config}.")
    self.stem = conv(input_shape[-1], init_features, 7, stride=2, kernel_init=_he_normal_fan_in, rngs=rngs)
    self.stem_bn = batch_norm(init_features, rngs=rngs)
    channels, blocks, transitions, feature_channels = init_features, [], [], []
    for i, layers in enumerate(block_config):
      block = []
      for _ in range(layers):
        block.append(DenseLayer(channels, growth_rate, bn_size, rngs=rngs))
        channels += growth_rate
      blocks.append(nnx.List(block))
      feature_channels.append(channels)
      if i < len(block_config) - 1:
        transitions.append(Transition(channels, channels // 2, rngs=rngs))
        channels //= 2
    self.blocks = nnx.List(blocks)
    self.transitions = nnx.List(transitions)
    self.final_bn = batch_norm(channels, rngs=rngs)
    self.feature_channels = tuple(feature_channels)
    self.classifier = classifier
    if classifier:
      self.head = nnx.Linear(channels, num_classes, bias_init=nnx.initializers.zeros, rngs=rngs)

  def features(self, x) -> list:
    """The activations at strides 4, 8, 16 and 32, `[N, H/s, W/s, C_s]` (see the module docstring)."""
    x = nnx.relu(self.stem_bn(self.stem(x)))
    x = nnx.max_pool(x, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
    maps = []
    for i, block in enumerate(self.blocks):
      for layer in block:
        x = layer(x)
      if i < len(self.transitions):
        x, activation = self.transitions[i](x)
        maps.append(activation)
    maps.append(self.final_bn(x))
    return maps

  def __call__(self, x):
    if not self.classifier:
      raise ValueError("This DenseNet was built with classifier=False: call `features(x)`, or build it with a head.")
    return self.head(global_average_pool(nnx.relu(self.features(x)[-1])))
