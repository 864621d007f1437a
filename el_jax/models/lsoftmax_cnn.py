"""The MNIST network of Liu et al. (2016, "Large-margin softmax loss", Table 1), used by the Encouraging Loss paper.

The EL paper (section 5.1) trains "the CNN model from Liu et al. (2016) on MNIST".
"""

from flax import nnx

from el_jax.losses import LinearOutputs
from el_jax.models.layers import batch_norm, conv


class _ConvUnit(nnx.Module):
  """3x3 convolution -> batch norm -> PReLU."""

  def __init__(self, in_channels: int, out_channels: int, *, rngs: nnx.Rngs):
    self.conv = conv(in_channels, out_channels, 3, rngs=rngs)
    self.norm = batch_norm(out_channels, rngs=rngs)
    self.act = nnx.PReLU(negative_slope_init=0.25)

  def __call__(self, x):
    return self.act(self.norm(self.conv(x)))


class LSoftmaxCNN(nnx.Module):
  """Conv0 [3x3, 64] x1 -> Conv1.x [3x3, 64] x3 -> max-pool -> Conv2.x x3 -> max-pool -> Conv3.x x3 -> max-pool
  -> FC(256) -> PReLU -> dense(K).

  Each convolution is followed by batch norm and PReLU (as in Liu et al.). A 28x28 input is pooled to 14, 7, 3, so the
  FC layer sees 3 * 3 * 64 features. `head_bias=False` drops the last layer's bias, as large-margin softmax needs
  (`linear_outputs` hands that layer's input and weight to `el_jax.losses.with_large_margin`).
  """

  def __init__(
    self,
    *,
    num_classes: int,
    input_shape: tuple[int, int, int],
    rngs: nnx.Rngs,
    channels: int = 64,
    units_per_stage: int = 3,
    features: int = 256,
    head_bias: bool = True,
  ):
    height, width, in_channels = input_shape
    if height < 8 or width < 8:
      raise ValueError(f"LSoftmaxCNN max-pools three times by 2: inputs need at least 8x8 pixels, got {input_shape}.")
    self.stem = _ConvUnit(in_channels, channels, rngs=rngs)
    self.stages = nnx.List(
      [nnx.List([_ConvUnit(channels, channels, rngs=rngs) for _ in range(units_per_stage)]) for _ in range(3)]
    )
    self.fc = nnx.Linear((height // 8) * (width // 8) * channels, features, rngs=rngs)
    self.fc_act = nnx.PReLU(negative_slope_init=0.25)
    self.head = nnx.Linear(features, num_classes, use_bias=head_bias, rngs=rngs)

  def penultimate(self, x):
    """The input of the last layer, `[B, features]`."""
    x = self.stem(x)
    for stage in self.stages:
      for unit in stage:
        x = unit(x)
      x = nnx.max_pool(x, (2, 2), strides=(2, 2))
    return self.fc_act(self.fc(x.reshape(x.shape[0], -1)))

  def linear_outputs(self, x) -> LinearOutputs:
    """The last layer's input, weight `[features, K]` and bias (None without one): its logits, unmaterialised."""
    bias = None if self.head.bias is None else self.head.bias[...]
    return LinearOutputs(self.penultimate(x), self.head.kernel[...], bias)

  def __call__(self, x):
    return self.head(self.penultimate(x))
