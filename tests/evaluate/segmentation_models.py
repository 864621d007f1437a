"""A tiny fully-convolutional segmentation model for the tests: logits `[N, H, W, K]` at the input's resolution."""

from flax import nnx

NAME = "tiny_fcn"


class TinyFCN(nnx.Module):
  """conv3x3(width) -> ReLU -> conv3x3(width) -> ReLU -> conv1x1(K), 'SAME' padding: one logit vector per pixel,
  each seeing a 5 x 5 window of the image."""

  def __init__(self, *, num_classes: int, input_shape: tuple, rngs: nnx.Rngs, width: int = 8):
    channels = input_shape[-1]
    self.conv1 = nnx.Conv(channels, width, (3, 3), padding="SAME", rngs=rngs)
    self.conv2 = nnx.Conv(width, width, (3, 3), padding="SAME", rngs=rngs)
    self.head = nnx.Conv(width, num_classes, (1, 1), rngs=rngs)

  def __call__(self, x):
    return self.head(nnx.relu(self.conv2(nnx.relu(self.conv1(x)))))


def register(monkeypatch) -> str:
  """Registers `TinyFCN` as model `NAME` for one test (the registry is restored after it); returns the name."""
  from el_jax import models

  monkeypatch.setitem(models._MODELS, NAME, TinyFCN)
  return NAME
