"""EfficientNet-B0 (Tan and Le, 2019) as torchvision defines it (5,288,548 parameters with 1,000 classes).

The EL paper trains it on 224x224 CIFAR and on ImageNet (section 5.1). Batch norm uses epsilon 1e-3 and PyTorch
momentum 0.1; residual branches are dropped per example with stochastic depth rising linearly to 0.2.
"""

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
    self.residual = stride == 1 and in_ch == out_ch
    # Stochastic depth: the whole branch of an example is dropped (mask broadcast over H, W, C).
    self.drop_path = nnx.Dropout(drop_path, broadcast_dims=(1, 2, 3), rngs=rngs)

  def __call__(self, x):
    out = nnx.silu(self.expand_bn(self.expand_conv(x))) if self.expand else x
    out = nnx.silu(self.depthwise_bn(self.depthwise(out)))
    scale = nnx.sigmoid(self.se_expand(nnx.silu(self.se_reduce(out.mean(axis=(1, 2), keepdims=True)))))
    out = self.project_bn(self.project(out * scale))
    return x + self.drop_path(out) if self.residual else out


class EfficientNetB0(nnx.Module):
  """conv3x3/2(32) -> BN -> SiLU -> 16 MBConv blocks -> 1x1(1280) -> BN -> SiLU -> average -> dropout -> dense(K)."""

  def __init__(
    self,
    *,
    num_classes: int,
    input_shape: tuple[int, int, int],
    rngs: nnx.Rngs,
    dropout: float = 0.2,
    stochastic_depth: float = 0.2,
  ):
    self.stem = conv(input_shape[-1], 32, 3, stride=2, rngs=rngs)
    self.stem_bn = batch_norm(32, epsilon=_EPS, rngs=rngs)
    total = sum(stage[-1] for stage in B0_STAGES)
    blocks = []
    for expand, kernel, stride, in_ch, out_ch, repeats in B0_STAGES:
      for i in range(repeats):
        drop = stochastic_depth * len(blocks) / total
        blocks.append(
          MBConv(
            expand, kernel, stride if i == 0 else 1, in_ch if i == 0 else out_ch, out_ch, drop_path=drop, rngs=rngs
          )
        )
    self.blocks = nnx.List(blocks)
    self.top = conv(320, 1280, 1, rngs=rngs)
    self.top_bn = batch_norm(1280, epsilon=_EPS, rngs=rngs)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.head = nnx.Linear(1280, num_classes, rngs=rngs)

  def __call__(self, x):
    x = nnx.silu(self.stem_bn(self.stem(x)))
    for block in self.blocks:
      x = block(x)
    x = nnx.silu(self.top_bn(self.top(x)))
    return self.head(self.dropout(global_average_pool(x)))
