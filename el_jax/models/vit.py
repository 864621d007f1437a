"""Vision transformers (Dosovitskiy et al., 2021) as torchvision defines them: ViT-Ti/16, ViT-S/16, ViT-B/16.

16x16 patches -> linear embedding -> [class token; patches] + learned position embedding -> pre-norm encoder blocks
-> layer norm -> the class token's features -> dense(K). HEM Table 2: ViT-B/16 on 224x224 ImageNet has 86,567,656
parameters.
"""

from functools import partial

import jax.numpy as jnp
from flax import nnx

# (width, depth, heads, mlp width) per size; Ti and S as in Touvron et al. (2021), B as in Dosovitskiy et al.
SIZES = {
  "ti": (192, 12, 3, 768),
  "s": (384, 12, 6, 1536),
  "b": (768, 12, 12, 3072),
}
_LayerNorm = partial(nnx.LayerNorm, epsilon=1e-6)


class EncoderBlock(nnx.Module):
  """x + attention(LN(x)), then x + MLP(LN(x)) with a GELU MLP."""

  def __init__(self, width: int, heads: int, mlp_width: int, *, dropout: float, rngs: nnx.Rngs):
    self.ln_1 = _LayerNorm(width, rngs=rngs)
    self.attention = nnx.MultiHeadAttention(heads, width, decode=False, rngs=rngs)
    self.ln_2 = _LayerNorm(width, rngs=rngs)
    self.mlp_in = nnx.Linear(width, mlp_width, rngs=rngs)
    self.mlp_out = nnx.Linear(mlp_width, width, rngs=rngs)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)

  def __call__(self, x):
    x = x + self.dropout(self.attention(self.ln_1(x)))
    y = self.mlp_out(self.dropout(nnx.gelu(self.mlp_in(self.ln_2(x)), approximate=False)))
    return x + self.dropout(y)


class VisionTransformer(nnx.Module):
  """ViT of size `size` ("ti", "s" or "b") with square `patch` patches."""

  def __init__(
    self,
    *,
    num_classes: int,
    input_shape: tuple[int, int, int],
    rngs: nnx.Rngs,
    size: str = "b",
    patch: int = 16,
    dropout: float = 0.0,
  ):
    if size not in SIZES:
      raise ValueError(f"ViT size must be one of {sorted(SIZES)}, got {size!r}.")
    height, width_px, in_channels = input_shape
    if height % patch or width_px % patch:
      raise ValueError(f"ViT input {height}x{width_px} is not divisible into {patch}x{patch} patches; resize it.")
    width, depth, heads, mlp_width = SIZES[size]
    self.patch_embedding = nnx.Conv(in_channels, width, (patch, patch), strides=patch, padding="VALID", rngs=rngs)
    init = nnx.initializers.normal(0.02)
    num_tokens = (height // patch) * (width_px // patch) + 1
    self.class_token = nnx.Param(jnp.zeros((1, 1, width)))
    self.position_embedding = nnx.Param(init(rngs.params(), (1, num_tokens, width)))
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.blocks = nnx.List([EncoderBlock(width, heads, mlp_width, dropout=dropout, rngs=rngs) for _ in range(depth)])
    self.ln = _LayerNorm(width, rngs=rngs)
    self.head = nnx.Linear(width, num_classes, rngs=rngs)

  def __call__(self, x):
    x = self.patch_embedding(x)
    x = x.reshape(x.shape[0], -1, x.shape[-1])
    cls = jnp.broadcast_to(self.class_token[...], (x.shape[0], 1, x.shape[-1]))
    x = self.dropout(jnp.concatenate([cls, x], axis=1) + self.position_embedding[...])
    for block in self.blocks:
      x = block(x)
    return self.head(self.ln(x)[:, 0])
