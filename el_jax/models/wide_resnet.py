"""Wide residual networks (Zagoruyko and Komodakis, 2016): WRN-depth-width, e.g. WRN-22-10 and WRN-28-10.

Depth `6n + 4`: a 3x3 stem with 16 channels, then three groups of `n` pre-activation blocks with `16k`, `32k`, `64k`
channels (strides 1, 2, 2), BN -> ReLU -> global average -> dense(K).

HEM (appendix A.1.3) uses the code of Pang et al. (2021), which also builds an unused copy of the first group
(`sub_block1`, never called in the forward pass). Table 2's counts include those dead parameters: WRN-22-10 has
26,797,914 parameters on CIFAR-10 and Table 2 says 27,977,146 = 26,797,914 + 1,179,232 (the first group);
WRN-28-10 on TinyImageNet: 36,600,984 + 1,640,672 = 38,241,656. `unused_first_group=True` adds that copy (it gets no
gradient and only shrinks under weight decay) to reproduce the table's counts.
"""

from flax import nnx

from el_jax.models.layers import batch_norm, conv, global_average_pool
from el_jax.models.preact_resnet import PreActBlock


def _group(in_channels, out_channels, count, stride, *, dropout, rngs):
  return nnx.List(
    [
      PreActBlock(
        in_channels if i == 0 else out_channels, out_channels, stride if i == 0 else 1, dropout=dropout, rngs=rngs
      )
      for i in range(count)
    ]
  )


class WideResNet(nnx.Module):
  """WRN-`depth`-`width` with dropout rate `dropout` between the convolutions of each block."""

  def __init__(
    self,
    *,
    num_classes: int,
    input_shape: tuple[int, int, int],
    rngs: nnx.Rngs,
    depth: int = 28,
    width: int = 10,
    dropout: float = 0.0,
    unused_first_group: bool = False,
  ):
    if depth < 10 or (depth - 4) % 6:
      raise ValueError(f"WideResNet depth must be 6n + 4 (16, 22, 28, 40, ...), got {depth}.")
    if width < 1:
      raise ValueError(f"WideResNet width must be a positive integer, got {width}.")
    n = (depth - 4) // 6
    widths = (16, 16 * width, 32 * width, 64 * width)
    self.stem = conv(input_shape[-1], widths[0], 3, rngs=rngs)
    self.groups = nnx.List(
      [_group(widths[g], widths[g + 1], n, 1 if g == 0 else 2, dropout=dropout, rngs=rngs) for g in range(3)]
    )
    if unused_first_group:
      self.unused_first_group = _group(widths[0], widths[1], n, 1, dropout=dropout, rngs=rngs)
    self.final_bn = batch_norm(widths[-1], rngs=rngs)
    self.head = nnx.Linear(widths[-1], num_classes, rngs=rngs)

  def __call__(self, x):
    x = self.stem(x)
    for group in self.groups:
      for block in group:
        x = block(x)
    return self.head(global_average_pool(nnx.relu(self.final_bn(x))))
