"""MobileNetV3-Small and -Large (Howard et al., 2019) as torchvision defines them, used by HEM on CIFAR.

HEM Table 2: MobileNetV3-S has 1,528,106 parameters with 10 classes, MobileNetV3-L 4,330,132 with 100. Batch norm
uses epsilon 1e-3 and PyTorch momentum 0.01.
"""

from flax import nnx

from el_jax.models.layers import batch_norm, conv, global_average_pool

# (in, kernel, expanded, out, squeeze-excite, hard-swish, stride) per inverted-residual block.
LARGE = (
  (16, 3, 16, 16, False, False, 1),
  (16, 3, 64, 24, False, False, 2),
  (24, 3, 72, 24, False, False, 1),
  (24, 5, 72, 40, True, False, 2),
  (40, 5, 120, 40, True, False, 1),
  (40, 5, 120, 40, True, False, 1),
  (40, 3, 240, 80, False, True, 2),
  (80, 3, 200, 80, False, True, 1),
  (80, 3, 184, 80, False, True, 1),
  (80, 3, 184, 80, False, True, 1),
  (80, 3, 480, 112, True, True, 1),
  (112, 3, 672, 112, True, True, 1),
  (112, 5, 672, 160, True, True, 2),
  (160, 5, 960, 160, True, True, 1),
  (160, 5, 960, 160, True, True, 1),
)
SMALL = (
  (16, 3, 16, 16, True, False, 2),
  (16, 3, 72, 24, False, False, 2),
  (24, 3, 88, 24, False, False, 1),
  (24, 5, 96, 40, True, True, 2),
  (40, 5, 240, 40, True, True, 1),
  (40, 5, 240, 40, True, True, 1),
  (40, 5, 120, 48, True, True, 1),
  (48, 5, 144, 48, True, True, 1),
  (48, 5, 288, 96, True, True, 2),
  (96, 5, 576, 96, True, True, 1),
  (96, 5, 576, 96, True, True, 1),
)
# size -> (blocks, width of the classifier's hidden layer)
SIZES = {"small": (SMALL, 1024), "large": (LARGE, 1280)}


def _bn(channels, rngs):
  return batch_norm(channels, torch_momentum=0.01, epsilon=1e-3, rngs=rngs)


def _make_divisible(value: float, divisor: int = 8) -> int:
  """`value` rounded to a multiple of `divisor`, never more than 10% below it (the MobileNet channel rule)."""
  rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
  return rounded + divisor if rounded < 0.9 * value else rounded


class InvertedResidual(nnx.Module):
  """[1x1 expand -> BN -> act] -> depthwise kxk -> BN -> act -> [squeeze-excite] -> 1x1 project -> BN (+ input)."""

  def __init__(self, in_ch, kernel, expanded, out_ch, squeeze_excite, hard_swish, stride, *, rngs: nnx.Rngs):
    self.act = nnx.hard_swish if hard_swish else nnx.relu
    self.expand = expanded != in_ch
    if self.expand:
      self.expand_conv = conv(in_ch, expanded, 1, rngs=rngs)
      self.expand_bn = _bn(expanded, rngs)
    self.depthwise = conv(expanded, expanded, kernel, stride=stride, groups=expanded, rngs=rngs)
    self.depthwise_bn = _bn(expanded, rngs)
    self.squeeze_excite = squeeze_excite
    if squeeze_excite:
      squeeze = _make_divisible(expanded // 4)
      self.se_reduce = conv(expanded, squeeze, 1, bias=True, rngs=rngs)
      self.se_expand = conv(squeeze, expanded, 1, bias=True, rngs=rngs)
    self.project = conv(expanded, out_ch, 1, rngs=rngs)
    self.project_bn = _bn(out_ch, rngs)
    self.residual = stride == 1 and in_ch == out_ch

  def __call__(self, x):
    out = self.act(self.expand_bn(self.expand_conv(x))) if self.expand else x
    out = self.act(self.depthwise_bn(self.depthwise(out)))
    if self.squeeze_excite:
      pooled = out.mean(axis=(1, 2), keepdims=True)
      out = out * nnx.hard_sigmoid(self.se_expand(nnx.relu(self.se_reduce(pooled))))
    out = self.project_bn(self.project(out))
    return x + out if self.residual else out


class MobileNetV3(nnx.Module):
  """conv3x3/2(16) -> BN -> hard-swish -> inverted residuals -> 1x1(6x) -> BN -> hard-swish -> average
  -> dense -> hard-swish -> dropout -> dense(K)."""

  def __init__(
    self, *, num_classes: int, input_shape: tuple[int, int, int], rngs: nnx.Rngs, size: str = "large", dropout=0.2
  ):
    if size not in SIZES:
      raise ValueError(f"MobileNetV3 size must be one of {sorted(SIZES)}, got {size!r}.")
    blocks, hidden = SIZES[size]
    self.stem = conv(input_shape[-1], 16, 3, stride=2, rngs=rngs)
    self.stem_bn = _bn(16, rngs)
    self.blocks = nnx.List([InvertedResidual(*spec, rngs=rngs) for spec in blocks])
    last_in = blocks[-1][3]
    self.top = conv(last_in, 6 * last_in, 1, rngs=rngs)
    self.top_bn = _bn(6 * last_in, rngs)
    self.hidden = nnx.Linear(6 * last_in, hidden, rngs=rngs)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.head = nnx.Linear(hidden, num_classes, rngs=rngs)

  def __call__(self, x):
    x = nnx.hard_swish(self.stem_bn(self.stem(x)))
    for block in self.blocks:
      x = block(x)
    x = global_average_pool(nnx.hard_swish(self.top_bn(self.top(x))))
    return self.head(self.dropout(nnx.hard_swish(self.hidden(x))))
