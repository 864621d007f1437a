"""Inception v3 (Szegedy et al., 2016) as torchvision defines it, for 299x299 inputs, without the auxiliary classifier.

Stem: 3x3/2(32), 3x3(32), 3x3 padded(64), max-pool 3x3/2, 1x1(80), 3x3(192), max-pool 3x3/2 (unpadded unless noted);
then three InceptionA modules (Mixed_5b-d, 35x35), a grid reduction (Mixed_6a), four InceptionC modules with
factorised 7x7 convolutions (Mixed_6b-e, 17x17), a second reduction (Mixed_7a) and two InceptionE modules with
expanded 3x3 branches (Mixed_7b-c, 8x8, 2048 channels) -> global average -> dropout(0.5) -> dense(K). Every
convolution is conv (no bias) -> batch norm (epsilon 1e-3) -> ReLU; the average-pool branches count the zero padding
(PyTorch's `count_include_pad=True`).

The auxiliary classifier on Mixed_6e (a training-only second loss) is left out: the model has 23,834,568 parameters
with 1,000 classes, torchvision's 27,161,264 less the auxiliary head's 3,326,696. torchvision's `transform_input`
(re-normalising ImageNet inputs for Google's weights) is not applied. Inputs must be at least 75x75.
"""

import jax
import jax.numpy as jnp
from flax import nnx

from el_jax.models.layers import batch_norm, global_average_pool

MIN_INPUT = 75
# torchvision draws every convolution and the classifier's weights from a normal with standard deviation 0.1 (larger
# than He et al.'s, so activations grow from layer to layer until batch norm has running statistics to divide by).
_init = nnx.initializers.normal(0.1)


class ConvBN(nnx.Module):
  """conv (no bias) -> batch norm (epsilon 1e-3) -> ReLU, with a `(kh, kw)` kernel padded `(ph, pw)` on each side."""

  def __init__(self, in_channels: int, out_channels: int, kernel, *, rngs: nnx.Rngs, stride: int = 1, padding=0):
    kernel = (kernel, kernel) if isinstance(kernel, int) else tuple(kernel)
    ph, pw = (padding, padding) if isinstance(padding, int) else tuple(padding)
    self.conv = nnx.Conv(
      in_channels,
      out_channels,
      kernel,
      strides=stride,
      padding=((ph, ph), (pw, pw)),
      use_bias=False,
      kernel_init=_init,
      rngs=rngs,
    )
    self.bn = batch_norm(out_channels, epsilon=1e-3, rngs=rngs)

  def __call__(self, x):
    return nnx.relu(self.bn(self.conv(x)))


def _avg_pool_3x3(x: jax.Array) -> jax.Array:
  """3x3 stride-1 average pooling, zero-padded by 1, dividing by 9 everywhere (`count_include_pad=True`)."""
  return nnx.avg_pool(x, (3, 3), strides=(1, 1), padding=((1, 1), (1, 1)), count_include_pad=True)


def _max_pool_3x3_2(x: jax.Array) -> jax.Array:
  return nnx.max_pool(x, (3, 3), strides=(2, 2))


class InceptionA(nnx.Module):
  """1x1(64) | 1x1(48) -> 5x5(64) | 1x1(64) -> 3x3(96) -> 3x3(96) | avg-pool -> 1x1(`pool_channels`)."""

  def __init__(self, in_channels: int, pool_channels: int, *, rngs: nnx.Rngs):
    self.branch1x1 = ConvBN(in_channels, 64, 1, rngs=rngs)
    self.branch5x5_1 = ConvBN(in_channels, 48, 1, rngs=rngs)
    self.branch5x5_2 = ConvBN(48, 64, 5, padding=2, rngs=rngs)
    self.branch3x3dbl_1 = ConvBN(in_channels, 64, 1, rngs=rngs)
    self.branch3x3dbl_2 = ConvBN(64, 96, 3, padding=1, rngs=rngs)
    self.branch3x3dbl_3 = ConvBN(96, 96, 3, padding=1, rngs=rngs)
    self.branch_pool = ConvBN(in_channels, pool_channels, 1, rngs=rngs)

  def __call__(self, x):
    return jnp.concatenate(
      [
        self.branch1x1(x),
        self.branch5x5_2(self.branch5x5_1(x)),
        self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
        self.branch_pool(_avg_pool_3x3(x)),
      ],
      axis=-1,
    )


class InceptionB(nnx.Module):
  """Grid reduction: 3x3/2(384) | 1x1(64) -> 3x3(96) -> 3x3/2(96) | max-pool 3x3/2."""

  def __init__(self, in_channels: int, *, rngs: nnx.Rngs):
    self.branch3x3 = ConvBN(in_channels, 384, 3, stride=2, rngs=rngs)
    self.branch3x3dbl_1 = ConvBN(in_channels, 64, 1, rngs=rngs)
    self.branch3x3dbl_2 = ConvBN(64, 96, 3, padding=1, rngs=rngs)
    self.branch3x3dbl_3 = ConvBN(96, 96, 3, stride=2, rngs=rngs)

  def __call__(self, x):
    return jnp.concatenate(
      [
        self.branch3x3(x),
        self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
        _max_pool_3x3_2(x),
      ],
      axis=-1,
    )


class InceptionC(nnx.Module):
  """1x1(192) | 1x1(c) -> 1x7(c) -> 7x1(192) | 1x1(c) -> 7x1 -> 1x7 -> 7x1 -> 1x7(192) | avg-pool -> 1x1(192)."""

  def __init__(self, in_channels: int, c7: int, *, rngs: nnx.Rngs):
    self.branch1x1 = ConvBN(in_channels, 192, 1, rngs=rngs)
    self.branch7x7_1 = ConvBN(in_channels, c7, 1, rngs=rngs)
    self.branch7x7_2 = ConvBN(c7, c7, (1, 7), padding=(0, 3), rngs=rngs)
    self.branch7x7_3 = ConvBN(c7, 192, (7, 1), padding=(3, 0), rngs=rngs)
    self.branch7x7dbl_1 = ConvBN(in_channels, c7, 1, rngs=rngs)
    self.branch7x7dbl_2 = ConvBN(c7, c7, (7, 1), padding=(3, 0), rngs=rngs)
    self.branch7x7dbl_3 = ConvBN(c7, c7, (1, 7), padding=(0, 3), rngs=rngs)
    self.branch7x7dbl_4 = ConvBN(c7, c7, (7, 1), padding=(3, 0), rngs=rngs)
    self.branch7x7dbl_5 = ConvBN(c7, 192, (1, 7), padding=(0, 3), rngs=rngs)
    self.branch_pool = ConvBN(in_channels, 192, 1, rngs=rngs)

  def __call__(self, x):
    double = x
    for layer in (
      self.branch7x7dbl_1,
      self.branch7x7dbl_2,
      self.branch7x7dbl_3,
      self.branch7x7dbl_4,
      self.branch7x7dbl_5,
    ):
      double = layer(double)
    return jnp.concatenate(
      [
        self.branch1x1(x),
        self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x))),
        double,
        self.branch_pool(_avg_pool_3x3(x)),
      ],
      axis=-1,
    )


class InceptionD(nnx.Module):
  """Grid reduction: 1x1(192) -> 3x3/2(320) | 1x1(192) -> 1x7 -> 7x1 -> 3x3/2(192) | max-pool 3x3/2."""

  def __init__(self, in_channels: int, *, rngs: nnx.Rngs):
    self.branch3x3_1 = ConvBN(in_channels, 192, 1, rngs=rngs)
    self.branch3x3_2 = ConvBN(192, 320, 3, stride=2, rngs=rngs)
    self.branch7x7x3_1 = ConvBN(in_channels, 192, 1, rngs=rngs)
    self.branch7x7x3_2 = ConvBN(192, 192, (1, 7), padding=(0, 3), rngs=rngs)
    self.branch7x7x3_3 = ConvBN(192, 192, (7, 1), padding=(3, 0), rngs=rngs)
    self.branch7x7x3_4 = ConvBN(192, 192, 3, stride=2, rngs=rngs)

  def __call__(self, x):
    seven = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
    return jnp.concatenate([self.branch3x3_2(self.branch3x3_1(x)), seven, _max_pool_3x3_2(x)], axis=-1)


class InceptionE(nnx.Module):
  """1x1(320) | 1x1(384) -> [1x3 | 3x1](384 each) | 1x1(448) -> 3x3(384) -> [1x3 | 3x1] | avg-pool -> 1x1(192)."""

  def __init__(self, in_channels: int, *, rngs: nnx.Rngs):
    self.branch1x1 = ConvBN(in_channels, 320, 1, rngs=rngs)
    self.branch3x3_1 = ConvBN(in_channels, 384, 1, rngs=rngs)
    self.branch3x3_2a = ConvBN(384, 384, (1, 3), padding=(0, 1), rngs=rngs)
    self.branch3x3_2b = ConvBN(384, 384, (3, 1), padding=(1, 0), rngs=rngs)
    self.branch3x3dbl_1 = ConvBN(in_channels, 448, 1, rngs=rngs)
    self.branch3x3dbl_2 = ConvBN(448, 384, 3, padding=1, rngs=rngs)
    self.branch3x3dbl_3a = ConvBN(384, 384, (1, 3), padding=(0, 1), rngs=rngs)
    self.branch3x3dbl_3b = ConvBN(384, 384, (3, 1), padding=(1, 0), rngs=rngs)
    self.branch_pool = ConvBN(in_channels, 192, 1, rngs=rngs)

  def __call__(self, x):
    single = self.branch3x3_1(x)
    double = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
    return jnp.concatenate(
      [
        self.branch1x1(x),
        self.branch3x3_2a(single),
        self.branch3x3_2b(single),
        self.branch3x3dbl_3a(double),
        self.branch3x3dbl_3b(double),
        self.branch_pool(_avg_pool_3x3(x)),
      ],
      axis=-1,
    )


class InceptionV3(nnx.Module):
  """Inception v3 without the auxiliary classifier; `dropout` before the classifier (0.5 in torchvision)."""

  def __init__(
    self,
    *,
    num_classes: int,
    input_shape: tuple[int, int, int],
    rngs: nnx.Rngs,
    dropout: float = 0.5,
  ):
    height, width, in_channels = input_shape
    if min(height, width) < MIN_INPUT:
      raise ValueError(
        f"Inception v3 needs inputs of at least {MIN_INPUT}x{MIN_INPUT} (299x299 in the paper), got {height}x{width}."
      )
    self.conv_1a = ConvBN(in_channels, 32, 3, stride=2, rngs=rngs)
    self.conv_2a = ConvBN(32, 32, 3, rngs=rngs)
    self.conv_2b = ConvBN(32, 64, 3, padding=1, rngs=rngs)
    self.conv_3b = ConvBN(64, 80, 1, rngs=rngs)
    self.conv_4a = ConvBN(80, 192, 3, rngs=rngs)
    self.mixed = nnx.List(
      [
        InceptionA(192, 32, rngs=rngs),  # Mixed_5b -> 256 channels
        InceptionA(256, 64, rngs=rngs),  # Mixed_5c -> 288
        InceptionA(288, 64, rngs=rngs),  # Mixed_5d -> 288
        InceptionB(288, rngs=rngs),  # Mixed_6a -> 768
        InceptionC(768, 128, rngs=rngs),  # Mixed_6b
        InceptionC(768, 160, rngs=rngs),  # Mixed_6c
        InceptionC(768, 160, rngs=rngs),  # Mixed_6d
        InceptionC(768, 192, rngs=rngs),  # Mixed_6e
        InceptionD(768, rngs=rngs),  # Mixed_7a -> 1280
        InceptionE(1280, rngs=rngs),  # Mixed_7b -> 2048
        InceptionE(2048, rngs=rngs),  # Mixed_7c -> 2048
      ]
    )
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.head = nnx.Linear(2048, num_classes, kernel_init=_init, rngs=rngs)

  def __call__(self, x):
    x = self.conv_2b(self.conv_2a(self.conv_1a(x)))
    x = _max_pool_3x3_2(x)
    x = self.conv_4a(self.conv_3b(x))
    x = _max_pool_3x3_2(x)
    for module in self.mixed:
      x = module(x)
    return self.head(self.dropout(global_average_pool(x)))
