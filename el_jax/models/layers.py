"""Convolution and batch normalisation with PyTorch's semantics, shared by the convolutional model families.

The papers' networks are PyTorch definitions (HEM appendix A.1.3: torchvision and the code of Pang et al. 2021), so
parameter counts and behaviour follow PyTorch: convolutions pad `k // 2` pixels on every side (not XLA's asymmetric
'SAME'), and batch norm uses PyTorch's momentum 0.1 (flax's `momentum=0.9`) and epsilon 1e-5 unless a family says
otherwise.
"""

import jax
from flax import nnx

# He et al. (2015) initialisation on the output fan, as torchvision initialises its ResNets.
he_normal_fan_out = nnx.initializers.variance_scaling(2.0, "fan_out", "normal")


def conv(
  in_channels: int,
  out_channels: int,
  kernel_size: int,
  *,
  rngs: nnx.Rngs,
  stride: int = 1,
  groups: int = 1,
  bias: bool = False,
  kernel_init=he_normal_fan_out,
) -> nnx.Conv:
  """A square `kernel_size` convolution padded by `kernel_size // 2` on each side (PyTorch's `padding=k // 2`).

  `kernel_init` defaults to He-normal on the output fan (torchvision's ResNets); a family whose PyTorch definition
  initialises otherwise passes its own.
  """
  pad = kernel_size // 2
  return nnx.Conv(
    in_channels,
    out_channels,
    (kernel_size, kernel_size),
    strides=stride,
    padding=((pad, pad), (pad, pad)),
    feature_group_count=groups,
    use_bias=bias,
    kernel_init=kernel_init,
    rngs=rngs,
  )


def batch_norm(
  channels: int, *, rngs: nnx.Rngs, torch_momentum: float = 0.1, epsilon: float = 1e-5, zero_scale: bool = False
) -> nnx.BatchNorm:
  """Batch norm over the last axis with PyTorch's running-average `torch_momentum` (flax momentum 1 - it).

  The scale and bias are trainable parameters; the running mean and variance are `nnx.BatchStat`s (not counted).
  `zero_scale` starts the scale at 0 (e.g. the last norm of a residual branch).
  """
  return nnx.BatchNorm(
    channels,
    momentum=1.0 - torch_momentum,
    epsilon=epsilon,
    scale_init=nnx.initializers.zeros if zero_scale else nnx.initializers.ones,
    rngs=rngs,
  )


def global_average_pool(x: jax.Array) -> jax.Array:
  """`[N, H, W, C] -> [N, C]`."""
  return x.mean(axis=(1, 2))


def max_pool_2x2(x: jax.Array) -> jax.Array:
  """2x2 max pooling with stride 2 and 'VALID' padding (an odd last row or column is dropped), on `[B, H, W, C]`.

  The same values as `nnx.max_pool(x, (2, 2), strides=(2, 2))`, computed as a max over a reshaped array: its gradient
  is a cheap elementwise mask, where XLA:CPU's gradient of a strided window reduction (`select_and_scatter`) made a
  LeNet training step twice as slow. Ties share the gradient (after a ReLU, ties are zeros, whose gradient the ReLU
  stops anyway).
  """
  b, h, w, c = x.shape
  x = x[:, : h - h % 2, : w - w % 2]
  return x.reshape(b, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))
