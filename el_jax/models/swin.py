"""Swin Transformer (Liu et al., 2021) as torchvision defines it: Swin-T, 28,288,354 parameters with 1,000 classes.

4x4 patches -> linear embedding (96 channels) -> layer norm -> four stages of 2, 2, 6 and 2 blocks (3, 6, 12 and 24
heads; 96, 192, 384 and 768 channels), with a patch merging (2x2 neighbours concatenated -> layer norm -> linear to
twice the channels, halving the resolution) between stages -> layer norm -> global average -> dense(K).

Each block is pre-norm: x + attention(LN(x)), then x + MLP(LN(x)) with a 4x GELU MLP, the residual branches dropped
per example with stochastic depth rising linearly from 0 to 0.2 over the 12 blocks. Attention is restricted to
non-overlapping 7x7 windows, with a learned bias per head for each relative position of two tokens in a window (a
(2*7 - 1)^2 x heads table, counted as parameters). Every second block shifts the windows by 3 tokens: it rolls the
feature map up and left by 3, attends within windows, with a mask (-100 on the logits) that keeps tokens that were
not neighbours before the roll apart, and rolls back. As in torchvision, a feature map that is not a multiple of the
window size is zero-padded at the bottom and right for the attention, and no shift is made along an axis that fits in
one window; so any input of at least 4x4 works, 224x224 being the paper's (stages of 56, 28, 14 and 7 tokens a side).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from el_jax.models.layers import global_average_pool

# (embedding width, blocks per stage, heads per stage)
SIZES = {"t": (96, (2, 2, 6, 2), (3, 6, 12, 24))}
_LayerNorm = functools.partial(nnx.LayerNorm, epsilon=1e-5)
_trunc_normal = nnx.initializers.truncated_normal(0.02)
_Linear = functools.partial(nnx.Linear, kernel_init=_trunc_normal, bias_init=nnx.initializers.zeros)


@functools.cache
def relative_position_index(window: int) -> np.ndarray:
  """`[N, N]` with N = window^2: the row of the bias table for each (query, key) pair of tokens in a window.

  The relative offset (dy, dx), each in [-(window - 1), window - 1], is numbered (dy + window - 1) * (2 * window - 1) +
  (dx + window - 1).
  """
  ys, xs = np.meshgrid(np.arange(window), np.arange(window), indexing="ij")
  coords = np.stack([ys.ravel(), xs.ravel()])  # [2, N]
  offsets = coords[:, :, None] - coords[:, None, :] + (window - 1)  # [2, N, N]
  return offsets[0] * (2 * window - 1) + offsets[1]


@functools.cache
def shifted_window_mask(height: int, width: int, window: int, shift_y: int, shift_x: int) -> np.ndarray:
  """`[windows, N, N]` additive mask for attention in the windows of a `height` x `width` map rolled by the shifts.

  The rolled map is labelled in up to 3 x 3 regions: tokens that wrapped around (the last `shift` rows or columns) and
  those that were the map's other border (the `window - shift` before them) are told apart from the rest and from
  each other; a pair of tokens with different labels gets -100.
  """
  labels = np.zeros((height, width), np.int32)
  rows = (slice(0, -window), slice(-window, -shift_y), slice(-shift_y, None))
  cols = (slice(0, -window), slice(-window, -shift_x), slice(-shift_x, None))
  for i, r in enumerate(rows):
    for j, c in enumerate(cols):
      labels[r, c] = 3 * i + j
  labels = labels.reshape(height // window, window, width // window, window).transpose(0, 2, 1, 3)
  labels = labels.reshape(-1, window * window)
  return np.where(labels[:, None, :] != labels[:, :, None], -100.0, 0.0).astype(np.float32)


class ShiftedWindowAttention(nnx.Module):
  """Multi-head self-attention within `window` x `window` windows shifted by `shift` tokens, on `[B, H, W, C]`."""

  def __init__(self, dim: int, heads: int, window: int, shift: int, *, rngs: nnx.Rngs):
    self.heads, self.window, self.shift = heads, window, shift
    self.qkv = _Linear(dim, 3 * dim, rngs=rngs)
    self.proj = _Linear(dim, dim, rngs=rngs)
    self.relative_position_bias_table = nnx.Param(_trunc_normal(rngs.params(), ((2 * window - 1) ** 2, heads)))

  def __call__(self, x):
    b, h, w, c = x.shape
    ws, heads = self.window, self.heads
    pad_h, pad_w = -h % ws, -w % ws
    x = jnp.pad(x, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)))
    ph, pw = h + pad_h, w + pad_w
    shift_y = self.shift if ws < ph else 0
    shift_x = self.shift if ws < pw else 0
    if shift_y or shift_x:
      x = jnp.roll(x, (-shift_y, -shift_x), axis=(1, 2))
    nh, nw, n = ph // ws, pw // ws, ws * ws
    windows = x.reshape(b, nh, ws, nw, ws, c).transpose(0, 1, 3, 2, 4, 5).reshape(b, nh * nw, n, c)
    qkv = self.qkv(windows).reshape(b, nh * nw, n, 3, heads, c // heads)
    q, k, v = qkv[..., 0, :, :], qkv[..., 1, :, :], qkv[..., 2, :, :]
    logits = jnp.einsum("bwqhd,bwkhd->bwhqk", q * (c // heads) ** -0.5, k)
    bias = self.relative_position_bias_table[...][relative_position_index(ws)]  # [N, N, heads]
    logits = logits + jnp.transpose(bias, (2, 0, 1))
    if shift_y or shift_x:
      logits = logits + shifted_window_mask(ph, pw, ws, shift_y, shift_x)[:, None]
    out = jnp.einsum("bwhqk,bwkhd->bwqhd", jax.nn.softmax(logits, axis=-1), v).reshape(b, nh * nw, n, c)
    out = self.proj(out)
    out = out.reshape(b, nh, nw, ws, ws, c).transpose(0, 1, 3, 2, 4, 5).reshape(b, ph, pw, c)
    if shift_y or shift_x:
      out = jnp.roll(out, (shift_y, shift_x), axis=(1, 2))
    return out[:, :h, :w]


class SwinBlock(nnx.Module):
  """x + drop_path(attention(LN(x))), then x + drop_path(MLP(LN(x))), on `[B, H, W, C]`."""

  def __init__(self, dim: int, heads: int, window: int, shift: int, *, drop_path: float, rngs: nnx.Rngs):
    self.norm1 = _LayerNorm(dim, rngs=rngs)
    self.attention = ShiftedWindowAttention(dim, heads, window, shift, rngs=rngs)
    self.norm2 = _LayerNorm(dim, rngs=rngs)
    self.mlp_in = _Linear(dim, 4 * dim, rngs=rngs)
    self.mlp_out = _Linear(4 * dim, dim, rngs=rngs)
    # Stochastic depth: a branch is dropped for a whole example (mask broadcast over H, W, C).
    self.drop_path = nnx.Dropout(drop_path, broadcast_dims=(1, 2, 3), rngs=rngs)

  def __call__(self, x):
    x = x + self.drop_path(self.attention(self.norm1(x)))
    return x + self.drop_path(self.mlp_out(nnx.gelu(self.mlp_in(self.norm2(x)), approximate=False)))


class PatchMerging(nnx.Module):
  """`[B, H, W, C] -> [B, ceil(H/2), ceil(W/2), 2C]`: each 2x2 neighbourhood concatenated -> LN -> linear (no bias)."""

  def __init__(self, dim: int, *, rngs: nnx.Rngs):
    self.norm = _LayerNorm(4 * dim, rngs=rngs)
    self.reduction = _Linear(4 * dim, 2 * dim, use_bias=False, rngs=rngs)

  def __call__(self, x):
    _, h, w, _ = x.shape
    x = jnp.pad(x, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)))
    x = jnp.concatenate([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], axis=-1)
    return self.reduction(self.norm(x))


class SwinTransformer(nnx.Module):
  """Swin Transformer of size `size` ("t"), with `patch` x `patch` patches and `window` x `window` windows."""

  def __init__(
    self,
    *,
    num_classes: int,
    input_shape: tuple[int, int, int],
    rngs: nnx.Rngs,
    size: str = "t",
    patch: int = 4,
    window: int = 7,
    stochastic_depth: float = 0.2,
  ):
    if size not in SIZES:
      raise ValueError(f"Swin size must be one of {sorted(SIZES)}, got {size!r}.")
    height, width_px, in_channels = input_shape
    if min(height, width_px) < patch:
      raise ValueError(f"Swin needs inputs of at least {patch}x{patch}, got {height}x{width_px}.")
    dim, depths, heads = SIZES[size]
    self.patch_embedding = nnx.Conv(in_channels, dim, (patch, patch), strides=patch, padding="VALID", rngs=rngs)
    self.patch_norm = _LayerNorm(dim, rngs=rngs)
    total, stages, merges = sum(depths), [], []
    for stage, (depth, stage_heads) in enumerate(zip(depths, heads, strict=True)):
      blocks = []
      for i in range(depth):
        drop = stochastic_depth * (sum(depths[:stage]) + i) / (total - 1)
        shift = 0 if i % 2 == 0 else window // 2
        blocks.append(SwinBlock(dim, stage_heads, window, shift, drop_path=drop, rngs=rngs))
      stages.append(nnx.List(blocks))
      if stage < len(depths) - 1:
        merges.append(PatchMerging(dim, rngs=rngs))
        dim *= 2
    self.stages = nnx.List(stages)
    # merges[i] follows stages[i].
    self.merges = nnx.List(merges)
    self.norm = _LayerNorm(dim, rngs=rngs)
    self.head = _Linear(dim, num_classes, rngs=rngs)

  def __call__(self, x):
    x = self.patch_norm(self.patch_embedding(x))
    for i, stage in enumerate(self.stages):
      for block in stage:
        x = block(x)
      if i < len(self.merges):
        x = self.merges[i](x)
    return self.head(global_average_pool(self.norm(x)))
