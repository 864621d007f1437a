"""A small LeNet (LeCun et al., 1998) as used for MNIST in the HEM paper (appendix A.1.3)."""

from flax import nnx

from el_jax.models.layers import max_pool_2x2


class LeNet(nnx.Module):
  """conv5x5(16) -> ReLU -> maxpool2 -> conv5x5(16) -> ReLU -> maxpool2 -> dense(50) -> ReLU -> dense(K).

  Convolutions use 'VALID' padding, as in LeNet: a 28x28 input becomes 24 -> 12 -> 8 -> 4, so the hidden layer
  sees 4*4*16 = 256 features. On 28x28x1 inputs with 10 classes it has 20,192 parameters: 416 + 6,416 + 12,850
  + 510. HEM Table 2 reports 20,194 for its LeNet. Its A.1.3 gives only the two 16-channel convolutions and the 50
  hidden units; no choice of kernel size, padding or pooling for those layers moves the count by exactly 2, so the
  table's model holds two scalar parameters the text does not describe (one learnable scalar per convolution block,
  as a PReLU slope would be, fits).
  """

  def __init__(
    self,
    *,
    num_classes: int,
    input_shape: tuple[int, int, int],
    rngs: nnx.Rngs,
    channels: int = 16,
    hidden: int = 50,
  ):
    height, width, in_channels = input_shape
    self.conv1 = nnx.Conv(in_channels, channels, (5, 5), padding="VALID", rngs=rngs)
    self.conv2 = nnx.Conv(channels, channels, (5, 5), padding="VALID", rngs=rngs)
    out_h, out_w = ((height - 4) // 2 - 4) // 2, ((width - 4) // 2 - 4) // 2
    if out_h < 1 or out_w < 1:
      raise ValueError(f"LeNet needs inputs of at least 12x12 pixels, got {input_shape}.")
    self.hidden = nnx.Linear(out_h * out_w * channels, hidden, rngs=rngs)
    self.head = nnx.Linear(hidden, num_classes, rngs=rngs)

  def __call__(self, x):
    x = max_pool_2x2(nnx.relu(self.conv1(x)))
    x = max_pool_2x2(nnx.relu(self.conv2(x)))
    x = nnx.relu(self.hidden(x.reshape(x.shape[0], -1)))
    return self.head(x)
