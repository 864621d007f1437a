"""ResNeXt-29 for CIFAR (Xie et al., 2017, section 5.3), used in the mixing paper's CIFAR-100 table.

A 3x3 stem with 64 channels, then three stages of three bottleneck blocks whose grouped 3x3 convolution has
`cardinality` groups of `bottleneck_width * 2**stage` channels and whose outputs are 256, 512 and 1024 channels
(strides 1, 2, 2); global average -> dense(K). The default is the paper's ResNeXt-29 8x64d (34.4M parameters).
"""

from flax import nnx

from el_jax.models.layers import batch_norm, conv, global_average_pool


class ResNeXtBlock(nnx.Module):
  """1x1 -> BN -> ReLU -> grouped 3x3 (strided) -> BN -> ReLU -> 1x1 -> BN, plus shortcut, then ReLU."""

  def __init__(self, in_channels: int, inner: int, out_channels: int, stride: int, groups: int, *, rngs: nnx.Rngs):
    self.conv1 = conv(in_channels, inner, 1, rngs=rngs)
    self.bn1 = batch_norm(inner, rngs=rngs)
    self.conv2 = conv(inner, inner, 3, stride=stride, groups=groups, rngs=rngs)
    self.bn2 = batch_norm(inner, rngs=rngs)
    self.conv3 = conv(inner, out_channels, 1, rngs=rngs)
    self.bn3 = batch_norm(out_channels, rngs=rngs)
    self.project = stride != 1 or in_channels != out_channels
    if self.project:
      self.shortcut = conv(in_channels, out_channels, 1, stride=stride, rngs=rngs)
      self.shortcut_bn = batch_norm(out_channels, rngs=rngs)

  def __call__(self, x):
    out = nnx.relu(self.bn1(self.conv1(x)))
    out = nnx.relu(self.bn2(self.conv2(out)))
    out = self.bn3(self.conv3(out))
    return nnx.relu(out + (self.shortcut_bn(self.shortcut(x)) if self.project else x))


class ResNeXt29(nnx.Module):
  """ResNeXt-29 `cardinality` x `bottleneck_width`d."""

  def __init__(
    self,
    *,
    num_classes: int,
    input_shape: tuple[int, int, int],
    rngs: nnx.Rngs,
    cardinality: int = 8,
    bottleneck_width: int = 64,
  ):
    self.stem = conv(input_shape[-1], 64, 3, rngs=rngs)
    self.stem_bn = batch_norm(64, rngs=rngs)
    blocks, channels = [], 64
    for stage in range(3):
      inner, out = cardinality * bottleneck_width * 2**stage, 256 * 2**stage
      for i in range(3):
        blocks.append(ResNeXtBlock(channels, inner, out, 2 if stage > 0 and i == 0 else 1, cardinality, rngs=rngs))
        channels = out
    self.blocks = nnx.List(blocks)
    self.head = nnx.Linear(channels, num_classes, rngs=rngs)

  def __call__(self, x):
    x = nnx.relu(self.stem_bn(self.stem(x)))
    for block in self.blocks:
      x = block(x)
    return self.head(global_average_pool(x))
