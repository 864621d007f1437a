"""The ResNets of He et al. (2016a) as torchvision defines them: ResNet-18/34/50/101, and the ResNeXts of Xie et al.
(2017) built from the same bottleneck: ResNeXt-50 32x4d and ResNeXt-101 32x8d.

Large inputs get the ImageNet stem (7x7 stride-2 convolution and 3x3 stride-2 max-pool); small ones (CIFAR, by
default any input of at most 64x64) the usual CIFAR stem, a 3x3 stride-1 convolution without pooling, as in the code
of Pang et al. (2021) that HEM uses (appendix A.1.3). Shape-changing shortcuts are 1x1 convolutions with batch norm.
Table 2 of HEM: ResNet-18 on CIFAR-10 has 11,173,962 parameters, ResNet-50 on ImageNet 25,557,032.

`features(x)` returns the outputs of the four stages, at strides 4, 8, 16 and 32 with the ImageNet stem (1, 2, 4, 8
with the CIFAR stem): the encoder of the FPN segmentation models (`el_jax.models.fpn`). Built with
`classifier=False`, the network has no dense head (and `num_classes` is unused); only `features` can be called.

A ResNeXt is a bottleneck ResNet whose 3x3 convolutions have `groups` groups of `width_per_group * 2**stage`
channels each (torchvision's `groups` and `width_per_group`; a ResNet is 1 group of 64). With 1,000 classes and the
ImageNet stem, ResNeXt-50 32x4d has 25,028,904 parameters and ResNeXt-101 32x8d 88,791,336 (torchvision's counts).
"""

from flax import nnx

from el_jax.models.layers import batch_norm, conv, global_average_pool


class _Shortcut(nnx.Module):
  """Identity, or a strided 1x1 convolution with batch norm where the shape changes."""

  def __init__(self, in_channels: int, out_channels: int, stride: int, *, rngs: nnx.Rngs):
    self.project = stride != 1 or in_channels != out_channels
    if self.project:
      self.conv = conv(in_channels, out_channels, 1, stride=stride, rngs=rngs)
      self.bn = batch_norm(out_channels, rngs=rngs)

  def __call__(self, x):
    return self.bn(self.conv(x)) if self.project else x


class BasicBlock(nnx.Module):
  """Two 3x3 convolutions (ResNet-18/34)."""

  expansion = 1

  def __init__(
    self, in_channels: int, width: int, stride: int, *, rngs: nnx.Rngs, groups: int = 1, width_per_group: int = 64
  ):
    if groups != 1 or width_per_group != 64:
      raise ValueError("Grouped convolutions (ResNeXt) need a bottleneck ResNet: depth 50 or 101.")
    self.conv1 = conv(in_channels, width, 3, stride=stride, rngs=rngs)
    self.bn1 = batch_norm(width, rngs=rngs)
    self.conv2 = conv(width, width, 3, rngs=rngs)
    self.bn2 = batch_norm(width, rngs=rngs)
    self.shortcut = _Shortcut(in_channels, width, stride, rngs=rngs)

  def __call__(self, x):
    out = nnx.relu(self.bn1(self.conv1(x)))
    return nnx.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class Bottleneck(nnx.Module):
  """1x1 -> 3x3 (strided, as in torchvision's "ResNet v1.5"; grouped in a ResNeXt) -> 1x1 to 4x `width` channels.

  The inner width is `width * width_per_group // 64 * groups` (`width` for a ResNet's single group of 64).
  """

  expansion = 4

  def __init__(
    self, in_channels: int, width: int, stride: int, *, rngs: nnx.Rngs, groups: int = 1, width_per_group: int = 64
  ):
    out_channels = width * self.expansion
    inner = width * width_per_group // 64 * groups
    self.conv1 = conv(in_channels, inner, 1, rngs=rngs)
    self.bn1 = batch_norm(inner, rngs=rngs)
    self.conv2 = conv(inner, inner, 3, stride=stride, groups=groups, rngs=rngs)
    self.bn2 = batch_norm(inner, rngs=rngs)
    self.conv3 = conv(inner, out_channels, 1, rngs=rngs)
    self.bn3 = batch_norm(out_channels, rngs=rngs)
    self.shortcut = _Shortcut(in_channels, out_channels, stride, rngs=rngs)

  def __call__(self, x):
    out = nnx.relu(self.bn1(self.conv1(x)))
    out = nnx.relu(self.bn2(self.conv2(out)))
    return nnx.relu(self.bn3(self.conv3(out)) + self.shortcut(x))


# depth -> (block, blocks per stage)
_LAYOUTS = {
  18: (BasicBlock, (2, 2, 2, 2)),
  34: (BasicBlock, (3, 4, 6, 3)),
  50: (Bottleneck, (3, 4, 6, 3)),
  101: (Bottleneck, (3, 4, 23, 3)),
}
_STEMS = ("auto", "cifar", "imagenet")


class ResNet(nnx.Module):
  """stem -> 4 stages (64, 128, 256, 512 channels wide) -> global average -> dense(K).

  Args:
    depth: 18, 34, 50 or 101.
    groups, width_per_group: the grouped 3x3 convolutions of a ResNeXt (bottleneck depths only), e.g. 32 and 4 for
      ResNeXt-50 32x4d; the defaults 1 and 64 give the plain ResNet.
    stem: "imagenet", "cifar", or "auto" (the CIFAR stem for inputs of at most `small_input` pixels a side).
    dropout: the rate of a dropout layer on the pooled features before the classifier (0: none, the default; the
      mixing paper's Table 6 uses 0.2 on ResNet-34 and does not say where: here, as in EfficientNet and VGG, before
      the last layer).
    classifier: False builds the feature extractor alone (no dense head, no dropout), for `features`.
  """

  def __init__(
    self,
    *,
    num_classes: int,
    input_shape: tuple[int, int, int],
    rngs: nnx.Rngs,
    depth: int = 18,
    groups: int = 1,
    width_per_group: int = 64,
    stem: str = "auto",
    small_input: int = 64,
    dropout: float = 0.0,
    classifier: bool = True,
  ):
    if depth not in _LAYOUTS:
      raise ValueError(f"ResNet depth must be one of {sorted(_LAYOUTS)}, got {depth}.")
    if stem not in _STEMS:
      raise ValueError(f"ResNet stem must be one of {_STEMS}, got {stem!r}.")
    height, width, in_channels = input_shape
    self.imagenet_stem = stem == "imagenet" or (stem == "auto" and max(height, width) > small_input)
    self.stem = conv(in_channels, 64, 7 if self.imagenet_stem else 3, stride=2 if self.imagenet_stem else 1, rngs=rngs)
    self.stem_bn = batch_norm(64, rngs=rngs)
    block, counts = _LAYOUTS[depth]
    if groups < 1 or width_per_group < 1:
      raise ValueError(f"groups and width_per_group must be positive, got {groups} and {width_per_group}.")
    blocks, channels, stage_channels = [], 64, []
    for stage, count in enumerate(counts):
      stage_width = 64 * 2**stage
      for i in range(count):
        stride = 2 if stage > 0 and i == 0 else 1
        blocks.append(block(channels, stage_width, stride, groups=groups, width_per_group=width_per_group, rngs=rngs))
        channels = stage_width * block.expansion
      stage_channels.append(channels)
    self.blocks = nnx.List(blocks)
    # Index of each stage's last block, and the channels of `features`' four maps.
    self.stage_ends = tuple(sum(counts[: stage + 1]) - 1 for stage in range(len(counts)))
    self.feature_channels = tuple(stage_channels)
    self.classifier = classifier
    if classifier:
      self.head = nnx.Linear(channels, num_classes, rngs=rngs)
    if not 0 <= dropout < 1:
      raise ValueError(f"ResNet dropout must lie in [0, 1), got {dropout}.")
    # made last, so that the parameters' initialisation does not depend on it; none at rate 0
    self.dropout = nnx.Dropout(dropout, rngs=rngs) if dropout and classifier else None

  def features(self, x) -> list:
    """The four stages' outputs `[N, H/s, W/s, C_s]`, s = 4, 8, 16, 32 with the ImageNet stem."""
    x = nnx.relu(self.stem_bn(self.stem(x)))
    if self.imagenet_stem:
      x = nnx.max_pool(x, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
    maps = []
    for i, block in enumerate(self.blocks):
      x = block(x)
      if i in self.stage_ends:
        maps.append(x)
    return maps

  def __call__(self, x):
    if not self.classifier:
      raise ValueError("This ResNet was built with classifier=False: call `features(x)`, or build it with a head.")
    x = global_average_pool(self.features(x)[-1])
    return self.head(x if self.dropout is None else self.dropout(x))
