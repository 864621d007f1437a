"""Feature Pyramid Network segmentation models (Kirillov et al., 2019) as the Segmentation Models library builds them.

HEM trains FPNs with four encoders for semantic segmentation on CamVid, Cityscapes and SBD (section 5.4, A.4.3),
with the PyTorch Segmentation Models library (A.4.1; the paper gives no decoder settings, so the library's `FPN`
defaults are used). Given the encoder's maps C2, C3, C4, C5 at strides 4, 8, 16, 32 (`features(x)` of `ResNet`,
`EfficientNet`, `DenseNet`):

  P5 = conv1x1(C5),   P_l = nearest_up2(P_(l+1)) + conv1x1(C_l)        l = 4, 3, 2   (pyramid_channels = 256, bias)
  S_l = [conv3x3 -> GroupNorm(32) -> ReLU -> bilinear_up2] x (l - 2)    for l = 5, 4, 3 (3, 2, 1 such blocks)
  S_2 = conv3x3 -> GroupNorm(32) -> ReLU                               (segmentation_channels = 128, no conv bias)
  logits = bilinear_up4(conv_head(dropout2d(S_5 + S_4 + S_3 + S_2)))   (merge policy "add", dropout 0.2)

The 3x3 convolutions of the segmentation blocks have no bias; GroupNorm has 32 groups and epsilon 1e-5. Dropout is
channel-wise (PyTorch's `Dropout2d`: an example's whole channel map is dropped). The bilinear upsamplings align
corners (PyTorch's `align_corners=True`: output pixel i of n_out samples input position i (n_in - 1) / (n_out - 1)).
`conv_head` is the library's FPN segmentation head: a 1x1 convolution with bias to `num_classes` channels
(`head_kernel_size=3` gives a 3x3 one, the library's default `SegmentationHead` of other decoders). The decoder's
convolutions are initialised He-uniform on the input fan and the head Glorot-uniform, biases zero, as the library's
`initialize_decoder` / `initialize_head`; the encoders keep their own (torchvision's) initialisation.

Input `[N, H, W, C]` with H and W multiples of 32 (the encoder's total stride: any other size cannot be added across
the pyramid's levels), output logits `[N, H, W, num_classes]`: a dense-output model (`el_jax.models.DENSE_OUTPUT`).

Encoders (torchvision definitions, no classifier head; `features` documents which activations are taken):
  fpn_resnet34         ResNet-34, maps of 64, 128, 256, 512 channels
  fpn_efficientnet_b4  EfficientNet-B4, 32, 56, 160, 448 (the library's `efficientnet-b4` encoder is Luke
                       Melas-Kyriazi's port of the same network: it keeps the unused final 1x1 convolution and its BN,
                       806,400 parameters, left out here; it pads as TensorFlow's 'SAME' and its batch norm uses
                       PyTorch momentum 0.01, here symmetric padding and momentum 0.1 as torchvision's)
  fpn_densenet201      DenseNet-201, 256, 512, 1792, 1920
  fpn_resnext50_32x4d  ResNeXt-50 32x4d, 256, 512, 1024, 2048

Parameters (encoder + decoder + head; the decoder and head are checked in tests/models/test_fpn.py against a
closed-form count, the encoders against torchvision's counts less their classifiers):

  model                  11 classes (CamVid)   19 classes (Cityscapes)   21 classes (SBD)
  fpn_resnet34           23,156,683            23,157,715                23,157,973
  fpn_efficientnet_b4    18,546,643            18,547,675                18,547,933
  fpn_densenet201        20,866,059            20,867,091                20,867,349
  fpn_resnext50_32x4d    25,589,195            25,590,227                25,590,485

The encoders hold 21,284,672, 16,742,216, 18,092,928 and 22,979,904 of them; the pyramid and segmentation blocks
256 (C2 + C3 + C4 + C5 + 4) + 4 (9 * 256 * 128 + 2 * 128) + 3 (9 * 128 * 128 + 2 * 128) for maps of C2..C5 channels
(lateral convolutions with bias; four 3x3 convolutions from the pyramid, three more in the upsampling chains, each
with a GroupNorm scale and bias); the head 128 K + K for K classes (1152 K + K with `head_kernel_size=3`).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from el_jax.models.densenet import DenseNet
from el_jax.models.efficientnet import EfficientNetB4
from el_jax.models.layers import conv
from el_jax.models.resnet import ResNet

# The encoder's total stride: the input's height and width must be multiples of it.
STRIDE = 32
# Segmentation Models' `initialize_decoder` (kaiming_uniform_, fan_in, ReLU gain) and `initialize_head`
# (xavier_uniform_).
_he_uniform_fan_in = nnx.initializers.variance_scaling(2.0, "fan_in", "uniform")
_glorot_uniform = nnx.initializers.glorot_uniform()

# Encoder name -> constructor of the feature extractor (ImageNet stem whatever the input size: the pyramid needs
# strides 4 to 32).
ENCODERS = {
  "resnet34": functools.partial(ResNet, depth=34, stem="imagenet", classifier=False),
  "efficientnet_b4": functools.partial(EfficientNetB4, classifier=False),
  "densenet201": functools.partial(DenseNet, classifier=False),
  "resnext50_32x4d": functools.partial(
    ResNet, depth=50, groups=32, width_per_group=4, stem="imagenet", classifier=False
  ),
}


def upsample_nearest_2x(x: jax.Array) -> jax.Array:
  """`[N, H, W, C] -> [N, 2H, 2W, C]`, each pixel repeated 2x2 (PyTorch's `interpolate(scale_factor=2, 'nearest')`)."""
  n, h, w, c = x.shape
  return jnp.broadcast_to(x[:, :, None, :, None, :], (n, h, 2, w, 2, c)).reshape(n, 2 * h, 2 * w, c)


def _linear_taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """For each of `n_out` outputs, the two input indices and the weight of the second, corners aligned."""
  position = np.arange(n_out) * (n_in - 1) / max(n_out - 1, 1)  # exact at both ends
  low = np.minimum(np.floor(position).astype(np.int32), n_in - 1)
  high = np.minimum(low + 1, n_in - 1)
  return low, high, position - low


def upsample_bilinear(x: jax.Array, factor: int) -> jax.Array:
  """`[N, H, W, C] -> [N, factor H, factor W, C]`, bilinear with aligned corners (PyTorch's `align_corners=True`).

  Output pixel i along an axis of n_in inputs and n_out = factor n_in outputs samples position
  p = i (n_in - 1) / (n_out - 1): `(1 - t) x[floor(p)] + t x[floor(p) + 1]` with t = p - floor(p); the corner pixels
  are copied exactly. Two taps per output (a gather), not a dense resize matrix, so the cost stays linear in the size.
  """
  for axis in (1, 2):
    low, high, frac = _linear_taps(x.shape[axis], x.shape[axis] * factor)
    t = jnp.asarray(frac, x.dtype).reshape((-1, 1, 1) if axis == 1 else (-1, 1))  # along H or W of [N, H, W, C]
    x = jnp.take(x, low, axis=axis) * (1 - t) + jnp.take(x, high, axis=axis) * t
  return x


class ConvGNReLU(nnx.Module):
  """3x3 conv (no bias) -> GroupNorm(32) -> ReLU [-> bilinear 2x upsampling]."""

  def __init__(self, in_channels: int, out_channels: int, upsample: bool, *, rngs: nnx.Rngs):
    self.conv = conv(in_channels, out_channels, 3, kernel_init=_he_uniform_fan_in, rngs=rngs)
    self.norm = nnx.GroupNorm(out_channels, num_groups=32, epsilon=1e-5, rngs=rngs)
    self.upsample = upsample

  def __call__(self, x):
    x = nnx.relu(self.norm(self.conv(x)))
    return upsample_bilinear(x, 2) if self.upsample else x


class FPN(nnx.Module):
  """Encoder -> feature pyramid -> segmentation blocks -> sum -> dropout2d -> conv head -> bilinear x4.

  Args:
    encoder: a key of `ENCODERS`.
    pyramid_channels, segmentation_channels, dropout: the library's defaults 256, 128, 0.2.
    head_kernel_size: 1 (the library's FPN head) or 3.
  """

  def __init__(
    self,
    *,
    num_classes: int,
    input_shape: tuple[int, int, int],
    rngs: nnx.Rngs,
    encoder: str,
    pyramid_channels: int = 256,
    segmentation_channels: int = 128,
    dropout: float = 0.2,
    head_kernel_size: int = 1,
  ):
    if encoder not in ENCODERS:
      raise ValueError(f"Unknown FPN encoder {encoder!r}; valid: {', '.join(sorted(ENCODERS))}.")
    _check_size(input_shape[:2])
    if segmentation_channels % 32:
      raise ValueError(
        f"segmentation_channels must be a multiple of GroupNorm's 32 groups, got {segmentation_channels}."
      )
    if head_kernel_size not in (1, 3):
      raise ValueError(f"head_kernel_size must be 1 (the library's FPN head) or 3, got {head_kernel_size}.")
    self.encoder = ENCODERS[encoder](num_classes=num_classes, input_shape=input_shape, rngs=rngs)
    c2, c3, c4, c5 = self.encoder.feature_channels

    def lateral(channels):
      return conv(channels, pyramid_channels, 1, bias=True, kernel_init=_he_uniform_fan_in, rngs=rngs)

    self.lateral5, self.lateral4, self.lateral3, self.lateral2 = lateral(c5), lateral(c4), lateral(c3), lateral(c2)
    # Segmentation blocks of P5, P4, P3, P2: 3, 2, 1 convolutions each followed by 2x upsampling, and one without.
    seg_blocks = []
    for upsamples in (3, 2, 1, 0):
      block = [ConvGNReLU(pyramid_channels, segmentation_channels, upsamples > 0, rngs=rngs)]
      block += [ConvGNReLU(segmentation_channels, segmentation_channels, True, rngs=rngs) for _ in range(upsamples - 1)]
      seg_blocks.append(nnx.List(block))
    self.seg_blocks = nnx.List(seg_blocks)
    self.dropout = nnx.Dropout(dropout, broadcast_dims=(1, 2), rngs=rngs)  # whole channel maps (Dropout2d)
    self.head = conv(
      segmentation_channels, num_classes, head_kernel_size, bias=True, kernel_init=_glorot_uniform, rngs=rngs
    )

  def __call__(self, x):
    _check_size(x.shape[1:3])
    return self.decode(self.encoder.features(x))

  def decode(self, maps):
    """Logits `[N, 4h, 4w, K]` from the encoder's maps at strides 4, 8, 16, 32 (`[N, h, w, C2]`, ...)."""
    c2, c3, c4, c5 = maps
    p5 = self.lateral5(c5)
    p4 = upsample_nearest_2x(p5) + self.lateral4(c4)
    p3 = upsample_nearest_2x(p4) + self.lateral3(c3)
    p2 = upsample_nearest_2x(p3) + self.lateral2(c2)
    merged = 0
    for block, p in zip(self.seg_blocks, (p5, p4, p3, p2), strict=True):
      for layer in block:
        p = layer(p)
      merged = merged + p
    return upsample_bilinear(self.head(self.dropout(merged)), 4)


def _check_size(size) -> None:
  height, width = (int(d) for d in size)
  if height % STRIDE or width % STRIDE or height < STRIDE or width < STRIDE:
    fit = tuple(max(STRIDE, -(-d // STRIDE) * STRIDE) for d in (height, width))
    raise ValueError(
      f"FPN segmentation models need a height and width that are positive multiples of {STRIDE} (the encoder's "
      f"stride), got {height} x {width}: pad or crop the images, e.g. to {fit[0]} x {fit[1]}."
    )


# Registered in `el_jax.models` under these names.
MODELS = {f"fpn_{name}": functools.partial(FPN, encoder=name) for name in ENCODERS}
