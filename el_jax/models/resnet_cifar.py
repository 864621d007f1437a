"""The CIFAR ResNets of He et al. (2016a, section 4.2): ResNet-20/32/44/56/110 (depth 6n + 2).

Three stages of `n` basic blocks with 16, 32 and 64 channels on 32x32 inputs; shortcuts that change shape subsample
by 2 and zero-pad the new channels ("option A"), so they have no parameters. This is the definition HEM uses for
ResNet-32 (appendix A.1.3, Table 2: 464,154 parameters on CIFAR-10).
"""

import jax.numpy as jnp
from flax import nnx

from el_jax.models.layers import batch_norm, conv, global_average_pool


class BasicBlock(nnx.Module):
  """conv3x3 -> BN -> ReLU -> conv3x3 -> BN, plus the (option A) shortcut, then ReLU."""

  def __init__(self, in_channels: int, out_channels: int, stride: int, *, rngs: nnx.Rngs):
    self.conv1 = conv(in_channels, out_channels, 3, stride=stride, rngs=rngs)
    self.bn1 = batch_norm(out_channels, rngs=rngs)
    self.conv2 = conv(out_channels, out_channels, 3, rngs=rngs)
    self.bn2 = batch_norm(out_channels, rngs=rngs)
    self.stride, self.extra_channels = stride, out_channels - in_channels

  def __call__(self, x):
    out = nnx.relu(self.bn1(self.conv1(x)))
    out = self.bn2(self.conv2(out))
    shortcut = x[:, :: self.stride, :: self.stride, :]
    if self.extra_channels:
      half = self.extra_channels // 2
      shortcut = jnp.pad(shortcut, ((0, 0), (0, 0), (0, 0), (half, self.extra_channels - half)))
    return nnx.relu(out + shortcut)


class CifarResNet(nnx.Module):
  """conv3x3(16) -> BN -> ReLU -> 3 stages of `n` basic blocks (16, 32, 64 channels) -> global average -> dense(K)."""

  def __init__(self, *, num_classes: int, input_shape: tuple[int, int, int], rngs: nnx.Rngs, depth: int = 32):
    if depth < 8 or (depth - 2) % 6:
      raise ValueError(f"CIFAR ResNet depth must be 6n + 2 (20, 32, 44, 56, 110, ...), got {depth}.")
    n = (depth - 2) // 6
    in_channels = input_shape[-1]
    self.stem = conv(in_channels, 16, 3, rngs=rngs)
    self.stem_bn = batch_norm(16, rngs=rngs)
    blocks, channels = [], 16
    for stage, width in enumerate((16, 32, 64)):
      for i in range(n):
        stride = 2 if stage > 0 and i == 0 else 1
        blocks.append(BasicBlock(channels, width, stride, rngs=rngs))
        channels = width
    self.blocks = nnx.List(blocks)
    self.head = nnx.Linear(64, num_classes, rngs=rngs)

  def __call__(self, x):
    x = nnx.relu(self.stem_bn(self.stem(x)))
    for block in self.blocks:
      x = block(x)
    return self.head(global_average_pool(x))
