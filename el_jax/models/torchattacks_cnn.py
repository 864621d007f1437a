"""The MNIST CNN of torchattacks' adversarial-training demo (Kim, 2020), EL's model for Table 7 / Fig. 8."""

from flax import nnx

from el_jax.models.layers import max_pool_2x2


class TorchattacksCNN(nnx.Module):
  """conv5x5(16) -> ReLU -> conv5x5(32) -> ReLU -> maxpool2 -> conv5x5(64) -> ReLU -> maxpool2 -> dense(100) -> ReLU
  -> dense(K).

  'VALID' convolutions: a 28x28 input becomes 24 -> 20 -> 10 -> 6 -> 3, so the hidden layer sees 3*3*64 = 576
  features. On 28x28x1 inputs with 10 classes it has 123,222 parameters: 416 + 12,832 + 51,264 + 57,700 + 1,010.
  EL appendix B.3 takes "the base model from TorchAttacks" for its MNIST robustness and adversarial-training runs.
  """

  def __init__(self, *, num_classes: int, input_shape: tuple[int, int, int], rngs: nnx.Rngs, hidden: int = 100):
    height, width, in_channels = input_shape
    self.conv1 = nnx.Conv(in_channels, 16, (5, 5), padding="VALID", rngs=rngs)
    self.conv2 = nnx.Conv(16, 32, (5, 5), padding="VALID", rngs=rngs)
    self.conv3 = nnx.Conv(32, 64, (5, 5), padding="VALID", rngs=rngs)
    out_h, out_w = ((height - 8) // 2 - 4) // 2, ((width - 8) // 2 - 4) // 2
    if out_h < 1 or out_w < 1:
      raise ValueError(f"TorchattacksCNN needs inputs of at least 18x18 pixels, got {input_shape}.")
    self.hidden = nnx.Linear(out_h * out_w * 64, hidden, rngs=rngs)
    self.head = nnx.Linear(hidden, num_classes, rngs=rngs)

  def __call__(self, x):
    x = nnx.relu(self.conv2(nnx.relu(self.conv1(x))))
    x = max_pool_2x2(x)
    x = max_pool_2x2(nnx.relu(self.conv3(x)))
    x = nnx.relu(self.hidden(x.reshape(x.shape[0], -1)))
    return self.head(x)
