"""The HEM paper's ConvNet for MNIST (appendix A.1.3, Table 2: 30,954 parameters)."""

from flax import nnx

from el_jax.models.layers import conv, global_average_pool


class ConvNet(nnx.Module):
  """A plain, fully-convolutional network: five 3x3 convolutions, average-pool down-sampling, no normalisation.

  conv(32) -> ReLU -> conv(32) -> ReLU -> avgpool2 -> conv(32) -> ReLU -> conv(32) -> ReLU -> avgpool2
  -> conv(K) -> global average.

  A.1.3 describes five convolutional layers of 32 3x3 masks; Table 2's 30,954 parameters on MNIST are exactly four
  convolutions of 32 masks and a fifth one with one mask per class: 320 + 3 * 9,248 + 2,890.
  """

  def __init__(self, *, num_classes: int, input_shape: tuple[int, int, int], rngs: nnx.Rngs, channels: int = 32):
    height, width, in_channels = input_shape
    if height < 4 or width < 4:
      raise ValueError(f"ConvNet pools twice by 2: inputs need at least 4x4 pixels, got {input_shape}.")
    sizes = [in_channels] + [channels] * 4
    self.features = nnx.List(
      [conv(n_in, n_out, 3, bias=True, rngs=rngs) for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)]
    )
    self.head = conv(channels, num_classes, 3, bias=True, rngs=rngs)

  def __call__(self, x):
    for i, layer in enumerate(self.features):
      x = nnx.relu(layer(x))
      if i % 2 == 1:
        x = nnx.avg_pool(x, (2, 2), strides=(2, 2))
    return global_average_pool(self.head(x))
