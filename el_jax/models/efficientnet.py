"""EfficientNet-B0 and -B4 (Tan and Le, 2019) as torchvision defines them.

B4 scales B0's stages by width 1.4 and depth 1.8: every channel count `c` becomes `c * 1.4` rounded to the nearest
multiple of 8 (never below 8, nor below 90% of `c * 1.4`: torchvision's `_make_divisible`), every stage's repeat count
`r` becomes `ceil(r * 1.8)`, and the last 1x1 convolution has 4x the last stage's channels (1280 in B0, 1792 in B4).
torchvision's counts with 1,000 classes: B0 5,288,548 and B4 19,341,616 parameters. The EL paper trains B0 on 224x224
CIFAR and on ImageNet (section 5.1); HEM uses B4 as an encoder of its FPN segmentation models (section 5.4, A.4.3).
Batch norm uses epsilon 1e-3 and PyTorch momentum 0.1; residual branches are dropped per example with stochastic depth
rising linearly to 0.2; the classifier's dropout is 0.2 (B0) and 0.4 (B4), as in torchvision.

`features(x)` returns the output of the last block at each of the strides 4, 8, 16 and 32 (B0: 24, 40, 112 and 320
channels; B4: 32, 56, 160 and 448), the encoder of `el_jax.models.fpn` (the features Segmentation Models takes, its
`stage_idxs`); built with `classifier=False` the network stops there: no final 1x1 convolution, dropout or head.
"""

import math

from flax import nnx

from el_jax.models.layers import batch_norm, conv, global_average_pool

# (expand ratio, kernel, stride, in channels, out channels, repeats) of the seven MBConv stages of B0.
B0_STAGES = (
  (1, 3, 1, 32, 16, 1),
  (6, 3, 2, 16, 24, 2),
  (6, 5, 2, 24, 40, 2),
  (6, 3, 2, 40, 80, 3),
  (6, 5, 1, 80, 112, 3),
  (6, 5, 2, 112, 192, 4),
  (6, 3, 1, 192, 320, 1),
)
_EPS = 1e-3


class MBConv(nnx.Module):
  """[1x1 expand -> BN -> SiLU] -> depthwise kxk -> BN -> SiLU -> squeeze-excite -> 1x1 project -> BN (+ input)."""

  def __init__(self, expand, kernel, stride, in_ch, out_ch, *, drop_path: float, rngs: nnx.Rngs):
    hidden = in_ch * expand
    self.expand = expand != 1
    if self.expand:
      self.expand_conv = conv(in_ch, hidden, 1, rngs=rngs)
      self.expand_bn = batch_norm(hidden, epsilon=_EPS, rngs=rngs)
    self.depthwise = conv(hidden, hidden, kernel, stride=stride, groups=hidden, rngs=rngs)
    self.depthwise_bn = batch_norm(hidden, epsilon=_EPS, rngs=rngs)
    squeeze = max(1, in_ch // 4)
    self.se_reduce = conv(hidden, squeeze, 1, bias=True, rngs=rngs)
    self.se_expand = conv(squeeze, hidden, 1, bias=True, rngs=rngs)
    self.project = conv(hidden, out_ch, 1, rngs=rngs)
    self.project_bn = batch_norm(out_ch, epsilon=_EPS, rngs=rngs)
    self.out_channels = out_ch
    self.residual = stride == 1 and in_ch == out_ch
    # Stochastic depth: the whole branch of an example is dropped (mask broadcast over H, W, C).
    self.drop_path = nnx.Dropout(drop_path, broadcast_dims=(1, 2, 3), rngs=rngs)

  def __call__(self, x):
    out = nnx.silu(self.expand_bn(self.expand_conv(x))) if self.expand else x
    out = nnx.silu(self.depthwise_bn(self.depthwise(out)))
    scale = nnx.sigmoid(self.se_expand(nnx.silu(self.se_reduce(out.mean(axis=(1, 2), keepdims=True)))))
    out = self.project_bn(self.project(out * scale))
    return x + self.drop_path(out) if self.residual else out


def scaled_stages(width_mult: float, depth_mult: float) -> tuple[tuple[int, ...], ...]:
  """B0's stages (`B0_STAGES`) with channels scaled by `width_mult` and repeats by `depth_mult`, as torchvision does."""
  return tuple(
    (expand, kernel, stride, scale_channels(in_ch, width_mult), scale_channels(out_ch, width_mult),
     math.ceil(repeats * depth_mult))
    for expand, kernel, stride, in_ch, out_ch, repeats in B0_STAGES
  )  # fmt: skip


def scale_channels(channels: int, width_mult: float, divisor: int = 8) -> int:
  """`channels * width_mult` rounded to the nearest multiple of `divisor`, at least `divisor` and at least 90% of it."""
  scaled = channels * width_mult
  rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
  return rounded + divisor if rounded < 0.9 * scaled else rounded


class EfficientNet(nnx.Module):
  """conv3x3/2 -> BN -> SiLU -> MBConv blocks -> 1x1(4x last stage) -> BN -> SiLU -> average -> dropout -> dense(K).

  Args:
    width_mult, depth_mult: the compound scaling of B0's stages (1, 1 for B0; 1.4, 1.8 for B4).
    dropout: before the dense head; stochastic_depth: the largest drop rate of a residual branch (the last block's).
    classifier: False builds the feature extractor alone (the MBConv blocks), for `features`.
  """

  def __init__(
    self,
    *,
    num_classes: int,
    input_shape: tuple[int, int, int],
    rngs: nnx.Rngs,
    width_mult: float = 1.0,
    depth_mult: float = 1.0,
    dropout: float = 0.2,
    stochastic_depth: float = 0.2,
    classifier: bool = True,
  ):
    stages = scaled_stages(width_mult, depth_mult)
    stem_channels = stages[0][3]
    self.stem = conv(input_shape[-1], stem_channels, 3, stride=2, rngs=rngs)
    self.stem_bn = batch_norm(stem_channels, epsilon=_EPS, rngs=rngs)
    total = sum(stage[-1] for stage in stages)
    blocks, strides = [], []  # strides[i]: the output stride of block i (the stem halves the input)
    for expand, kernel, stride, in_ch, out_ch, repeats in stages:
      for i in range(repeats):
        drop = stochastic_depth * len(blocks) / total
        blocks.append(
          MBConv(
            expand, kernel, stride if i == 0 else 1, in_ch if i == 0 else out_ch, out_ch, drop_path=drop, rngs=rngs
          )
        )
        strides.append((strides[-1] if strides else 2) * (stride if i == 0 else 1))
    self.blocks = nnx.List(blocks)
    # The last block at each stride from 4 on: where the next block downsamples, and the last block.
    self.feature_blocks = tuple(
      i for i, s in enumerate(strides) if s >= 4 and (i == len(strides) - 1 or strides[i + 1] != s)
    )
    self.feature_channels = tuple(blocks[i].out_channels for i in self.feature_blocks)
    self.classifier = classifier
    if classifier:
      last = stages[-1][4]
      self.top = conv(last, 4 * last, 1, rngs=rngs)
      self.top_bn = batch_norm(4 * last, epsilon=_EPS, rngs=rngs)
      self.dropout = nnx.Dropout(dropout, rngs=rngs)
      self.head = nnx.Linear(4 * last, num_classes, rngs=rngs)

  def features(self, x) -> list:
    """The last block's output at strides 4, 8, 16 and 32: `[N, H/s, W/s, C_s]`."""
    x = nnx.silu(self.stem_bn(self.stem(x)))
    maps = []
    for i, block in enumerate(self.blocks):
      x = block(x)
      if i in self.feature_blocks:
        maps.append(x)
    return maps

  def __call__(self, x):
    if not self.classifier:
      raise ValueError(
        "This EfficientNet was built with classifier=False: call `features(x)`, or build it with a head."
      )
    x = self.features(x)[-1]
    x = nnx.silu(self.top_bn(self.top(x)))
    return self.head(self.dropout(global_average_pool(x)))


class EfficientNetB0(EfficientNet):
  """EfficientNet-B0: 16 MBConv blocks, a 1280-channel top convolution, dropout 0.2."""

  def __init__(
    self, *, num_classes: int, input_shape: tuple[int, int, int], rngs: nnx.Rngs, dropout: float = 0.2, **kw
  ):
    super().__init__(num_classes=num_classes, input_shape=input_shape, rngs=rngs, dropout=dropout, **kw)


class EfficientNetB4(EfficientNet):
  """EfficientNet-B4: B0 scaled by width 1.4 and depth 1.8 (32 MBConv blocks, a 1792-channel top), dropout 0.4."""

  def __init__(
    self, *, num_classes: int, input_shape: tuple[int, int, int], rngs: nnx.Rngs, dropout: float = 0.4, **kw
  ):
    super().__init__(
      num_classes=num_classes, input_shape=input_shape, rngs=rngs, width_mult=1.4, depth_mult=1.8, dropout=dropout, **kw
    )
