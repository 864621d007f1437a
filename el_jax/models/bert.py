"""BERT (Devlin et al. 2019, "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding") with
a sequence-classification head, for the mixing paper's GLUE fine-tuning ("BERT on the GLUE Benchmark").

Encoder: token + position + segment embeddings -> LayerNorm -> dropout -> L post-LN transformer layers
(`x = LN(x + dropout(attention(x)))`, `x = LN(x + dropout(W_2 gelu(W_1 x)))`, exact erf GELU, LayerNorm epsilon
1e-12) -> pooler `tanh(W_p h_[CLS])`. Head: dropout(0.1) -> linear to K classes. Attention ignores padding keys
(token id 0). `bert_base` (L=12, H=768, A=12, 3072-wide feed-forward, 30,522 WordPiece ids, 512 positions, 2 segments)
has 109,483,778 parameters with a 2-class head, as BERT-base uncased.

Pretrained weights: `checkpoint=` names a file holding a Hugging Face / PyTorch BERT state dict under its usual names
(`bert.embeddings.word_embeddings.weight`, `bert.encoder.layer.0.attention.self.query.weight`, ..., linear weights
stored `[out, in]`), as saved by `BertModel` (no `bert.` prefix), `BertForPreTraining` or
`BertForSequenceClassification`; the older `LayerNorm.gamma` / `LayerNorm.beta` names (those of the `bert-base-uncased`
release) count as `LayerNorm.weight` / `LayerNorm.bias`. It replaces the encoder's and pooler's initial values; the
classification head stays freshly initialised, other arrays (pre-training heads, `classifier.*`) are ignored. The file
extension picks the reader:
  .safetensors  a Hugging Face `model.safetensors`, read with `safetensors.numpy` (no torch; the 'text' extra:
                `pip install 'el_jax[text]'`).
  .npz          numpy arrays, e.g. made from a `pytorch_model.bin` with
                `np.savez(path, **{k: v.numpy() for k, v in torch.load("pytorch_model.bin").items()})`.
"""

import contextlib
import dataclasses
import os

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from el_jax import _extras


@dataclasses.dataclass(frozen=True)
class BertSize:
  layers: int
  width: int
  heads: int
  mlp_width: int
  vocab_size: int = 30_522
  max_positions: int = 512
  segments: int = 2


SIZES = {
  "base": BertSize(layers=12, width=768, heads=12, mlp_width=3072),
  "tiny": BertSize(layers=2, width=128, heads=2, mlp_width=512),  # Turc et al. (2019)'s BERT-Tiny shape
}
_init = nnx.initializers.normal(0.02)  # BERT's truncated-normal(0.02) initialiser, without the truncation


def _dense(n_in: int, n_out: int, rngs: nnx.Rngs) -> nnx.Linear:
  return nnx.Linear(n_in, n_out, kernel_init=_init, rngs=rngs)


def _layer_norm(width: int, rngs: nnx.Rngs) -> nnx.LayerNorm:
  return nnx.LayerNorm(width, epsilon=1e-12, rngs=rngs)


def attention_bias(key_mask: jax.Array, dtype) -> jax.Array:
  """`[B, 1, 1, T]` additive attention bias: 0 where `key_mask [B, T]` is True, the dtype's lowest value elsewhere."""
  return jnp.where(key_mask, 0.0, jnp.finfo(dtype).min).astype(dtype)[:, None, None, :]


class SelfAttention(nnx.Module):
  """Multi-head scaled dot-product self-attention: `softmax(Q K^T / sqrt(d) + bias) V`, then an output projection."""

  def __init__(self, width: int, heads: int, *, dropout: float, rngs: nnx.Rngs):
    self.heads = heads
    self.query, self.key, self.value = (_dense(width, width, rngs) for _ in range(3))
    self.output = _dense(width, width, rngs)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)

  def __call__(self, x: jax.Array, bias: jax.Array) -> jax.Array:
    b, t, width = x.shape

    def split(y):
      return y.reshape(b, t, self.heads, width // self.heads).transpose(0, 2, 1, 3)  # [B, A, T, d]

    q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
    scores = q @ k.transpose(0, 1, 3, 2) / jnp.sqrt(jnp.asarray(width // self.heads, x.dtype)) + bias
    weights = self.dropout(jax.nn.softmax(scores.astype(jnp.float32), axis=-1).astype(x.dtype))
    return self.output((weights @ v).transpose(0, 2, 1, 3).reshape(b, t, width))


class TransformerLayer(nnx.Module):
  """A post-LN encoder layer: attention and feed-forward sublayers, each followed by dropout, residual and LN."""

  def __init__(self, size: BertSize, *, dropout: float, rngs: nnx.Rngs):
    self.attention = SelfAttention(size.width, size.heads, dropout=dropout, rngs=rngs)
    self.attention_norm = _layer_norm(size.width, rngs)
    self.intermediate = _dense(size.width, size.mlp_width, rngs)
    self.output = _dense(size.mlp_width, size.width, rngs)
    self.output_norm = _layer_norm(size.width, rngs)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)

  def __call__(self, x: jax.Array, bias: jax.Array) -> jax.Array:
    x = self.attention_norm(x + self.dropout(self.attention(x, bias)))
    y = self.output(jax.nn.gelu(self.intermediate(x), approximate=False))
    return self.output_norm(x + self.dropout(y))


class BertClassifier(nnx.Module):
  """BERT encoder + pooler + classification head: `(tokens [B, T], segments [B, T]) -> logits [B, K]`.

  Args:
    num_classes: K.
    input_shape: `{"tokens": (T,), "segments": (T,)}` with T at most the size's 512 positions.
    size: a key of `SIZES` ("base", "tiny").
    dropout_rate: of the embeddings, attention weights, sublayer outputs and the head (BERT's 0.1).
    checkpoint: a `.safetensors` or `.npz` BERT state dict to start from (see the module docstring); None: random
      init.
  """

  def __init__(
    self,
    *,
    num_classes: int,
    input_shape: dict,
    rngs: nnx.Rngs,
    size: str = "base",
    dropout_rate: float = 0.1,
    checkpoint: str | None = None,
  ):
    if size not in SIZES:
      raise ValueError(f"Unknown BERT size {size!r}. Valid: {', '.join(SIZES)}.")
    if checkpoint is not None:
      _check_checkpoint_path(checkpoint)
    s = SIZES[size]
    if not isinstance(input_shape, dict) or set(input_shape) != {"tokens", "segments"}:
      raise ValueError(f"BERT needs input_shape={{'tokens': (T,), 'segments': (T,)}}, got {input_shape!r}.")
    length = tuple(input_shape["tokens"])
    if len(length) != 1 or length != tuple(input_shape["segments"]) or length[0] > s.max_positions:
      raise ValueError(f"BERT needs equal token and segment shapes (T,) with T <= {s.max_positions}: {input_shape}.")
    self.token_embedding = nnx.Embed(s.vocab_size, s.width, embedding_init=_init, rngs=rngs)
    self.position_embedding = nnx.Embed(s.max_positions, s.width, embedding_init=_init, rngs=rngs)
    self.segment_embedding = nnx.Embed(s.segments, s.width, embedding_init=_init, rngs=rngs)
    self.embedding_norm = _layer_norm(s.width, rngs)
    self.dropout = nnx.Dropout(dropout_rate, rngs=rngs)
    self.layers = nnx.List([TransformerLayer(s, dropout=dropout_rate, rngs=rngs) for _ in range(s.layers)])
    self.pooler = _dense(s.width, s.width, rngs)
    self.head = _dense(s.width, num_classes, rngs)
    if checkpoint is not None:
      load_checkpoint(self, checkpoint)

  def encode(self, tokens: jax.Array, segments: jax.Array) -> jax.Array:
    """`[B, T, H]` hidden states of the last layer; padding (token 0) is masked out as an attention key."""
    positions = jnp.arange(tokens.shape[1])[None, :]
    x = self.token_embedding(tokens) + self.position_embedding(positions) + self.segment_embedding(segments)
    x = self.dropout(self.embedding_norm(x))
    bias = attention_bias(tokens != 0, x.dtype)
    for layer in self.layers:
      x = layer(x, bias)
    return x

  def __call__(self, tokens: jax.Array, segments: jax.Array) -> jax.Array:
    pooled = jnp.tanh(self.pooler(self.encode(tokens, segments)[:, 0]))
    return self.head(self.dropout(pooled))


def _checkpoint_names(model: BertClassifier) -> dict:
  """`{PyTorch state-dict name: (nnx.Param, transpose?)}` for the encoder and pooler."""
  names = {
    "bert.embeddings.word_embeddings.weight": (model.token_embedding.embedding, False),
    "bert.embeddings.position_embeddings.weight": (model.position_embedding.embedding, False),
    "bert.embeddings.token_type_embeddings.weight": (model.segment_embedding.embedding, False),
    "bert.embeddings.LayerNorm.weight": (model.embedding_norm.scale, False),
    "bert.embeddings.LayerNorm.bias": (model.embedding_norm.bias, False),
    "bert.pooler.dense.weight": (model.pooler.kernel, True),
    "bert.pooler.dense.bias": (model.pooler.bias, False),
  }
  for i, layer in enumerate(model.layers):
    prefix = f"bert.encoder.layer.{i}."
    dense = {
      "attention.self.query": layer.attention.query,
      "attention.self.key": layer.attention.key,
      "attention.self.value": layer.attention.value,
      "attention.output.dense": layer.attention.output,
      "intermediate.dense": layer.intermediate,
      "output.dense": layer.output,
    }
    for name, linear in dense.items():
      names[prefix + name + ".weight"] = (linear.kernel, True)  # PyTorch stores [out, in]
      names[prefix + name + ".bias"] = (linear.bias, False)
    for name, norm in (("attention.output.LayerNorm", layer.attention_norm), ("output.LayerNorm", layer.output_norm)):
      names[prefix + name + ".weight"] = (norm.scale, False)
      names[prefix + name + ".bias"] = (norm.bias, False)
  return names


CHECKPOINT_FORMATS = (".safetensors", ".npz")
_LEGACY_SUFFIXES = {".gamma": ".weight", ".beta": ".bias"}  # LayerNorm names of TF-converted checkpoints


def _check_checkpoint_path(path: str) -> None:
  if not os.path.isfile(path):
    raise FileNotFoundError(
      f"BERT checkpoint {path!r} not found. Pass the path of a Hugging Face model.safetensors (or a .npz PyTorch BERT "
      "state dict) as config.model.checkpoint (see el_jax/models/bert.py), or set it to None to start from random "
      "weights."
    )
  if not path.endswith(CHECKPOINT_FORMATS):
    raise ValueError(
      f"BERT checkpoint {path!r}: unknown format; the file name must end in {' or '.join(CHECKPOINT_FORMATS)} "
      "(see el_jax/models/bert.py)."
    )


def _canonical_name(key: str) -> str:
  """`key` without a leading `bert.`, with `LayerNorm.gamma`/`.beta` renamed `LayerNorm.weight`/`.bias`."""
  key = key.removeprefix("bert.")
  for old, new in _LEGACY_SUFFIXES.items():
    if key.endswith("LayerNorm" + old):
      return key.removesuffix(old) + new
  return key


@contextlib.contextmanager
def _open_arrays(path: str):
  """The checkpoint's `{name: np.ndarray}` (a mapping; `.npz` arrays are read on access), by file extension."""
  if path.endswith(".safetensors"):
    yield _extras.load("safetensors.numpy", "text", "Reading a .safetensors BERT checkpoint").load_file(path)
  else:
    with np.load(path) as arrays:
      yield arrays


def load_checkpoint(model: BertClassifier, path: str) -> None:
  """Copies a `.safetensors` or `.npz` BERT state dict into `model`'s encoder and pooler (see the module docstring).

  Raises:
    FileNotFoundError: if `path` does not exist.
    ValueError: if the file extension is neither .safetensors nor .npz, or an expected array is missing or has the
      wrong shape.
    ImportError: for a .safetensors file without the `safetensors` package.
  """
  _check_checkpoint_path(path)
  with _open_arrays(path) as arrays:
    stored = {}
    for key in sorted(arrays, key=lambda k: _canonical_name(k) == k.removeprefix("bert.")):
      stored[_canonical_name(key)] = key  # an array under the current name wins over a legacy gamma/beta one
    for name, (param, transpose) in _checkpoint_names(model).items():
      key = stored.get(_canonical_name(name))
      if key is None:
        raise ValueError(
          f"BERT checkpoint {path!r} has no array {name!r} (nor without the 'bert.' prefix, nor as LayerNorm "
          "gamma/beta)."
        )
      value = np.asarray(arrays[key])
      value = value.T if transpose else value
      if value.shape != param.shape:
        raise ValueError(f"BERT checkpoint {path!r}: {key!r} has shape {value.shape}, the model needs {param.shape}.")
      param[...] = jnp.asarray(value, param.dtype)


def _bert(size: str):
  def build(**kwargs):
    return BertClassifier(size=size, **kwargs)

  return build


MODELS = {"bert_base": _bert("base"), "bert_tiny": _bert("tiny")}
