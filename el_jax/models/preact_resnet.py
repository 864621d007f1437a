"""Pre-activation ResNet-18 (He et al., 2016b) for 32x32 inputs, as in the code of Pang et al. (2021) used by HEM.

HEM Table 2 calls it PARN18: 11,218,340 parameters on CIFAR-100. That count includes the batch norm after the last
stage (Pang et al. normalise and rectify the final features before pooling).
"""

from flax import nnx

from el_jax.models.layers import batch_norm, conv, global_average_pool


class PreActBlock(nnx.Module):
  """BN -> ReLU -> conv3x3 -> BN -> ReLU -> dropout -> conv3x3, plus a shortcut (a 1x1 convolution of the activated
  input where the shape changes). With `dropout=0` (PreAct-ResNet) the dropout is the identity; wide ResNets use it."""

  def __init__(self, in_channels: int, out_channels: int, stride: int, *, dropout: float = 0.0, rngs: nnx.Rngs):
    self.bn1 = batch_norm(in_channels, rngs=rngs)
    self.conv1 = conv(in_channels, out_channels, 3, stride=stride, rngs=rngs)
    self.bn2 = batch_norm(out_channels, rngs=rngs)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.conv2 = conv(out_channels, out_channels, 3, rngs=rngs)
    self.project = stride != 1 or in_channels != out_channels
    if self.project:
      self.shortcut = conv(in_channels, out_channels, 1, stride=stride, rngs=rngs)

  def __call__(self, x):
    out = nnx.relu(self.bn1(x))
    shortcut = self.shortcut(out) if self.project else x
    out = self.dropout(nnx.relu(self.bn2(self.conv1(out))))
    return self.conv2(out) + shortcut


class PreActResNet18(nnx.Module):
  """conv3x3(64) -> 4 stages of 2 pre-activation blocks (64, 128, 256, 512) -> BN -> ReLU -> average -> dense(K)."""

  def __init__(self, *, num_classes: int, input_shape: tuple[int, int, int], rngs: nnx.Rngs):
    self.stem = conv(input_shape[-1], 64, 3, rngs=rngs)
    blocks, channels = [], 64
    for stage in range(4):
      width = 64 * 2**stage
      for i in range(2):
        blocks.append(PreActBlock(channels, width, 2 if stage > 0 and i == 0 else 1, rngs=rngs))
        channels = width
    self.blocks = nnx.List(blocks)
    self.final_bn = batch_norm(channels, rngs=rngs)
    self.head = nnx.Linear(channels, num_classes, rngs=rngs)

  def __call__(self, x):
    x = self.stem(x)
    for block in self.blocks:
      x = block(x)
    return self.head(global_average_pool(nnx.relu(self.final_bn(x))))
