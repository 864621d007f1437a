"""The encoder-decoder Transformer of Vaswani et al. (2017) for translation, as fairseq's `transformer_iwslt_de_en`.

`Transformer(source [B, S], target_in [B, T]) -> logits [B, T, V]`: token ids with 0 as padding (the vocabulary
convention of `el_jax.data.translation`: pad 0, BOS 1, EOS 2, unknown 3). `target_in` is the target shifted right,
starting with BOS; the logits at position `t` predict target token `t` (the label). `linear_outputs(source,
target_in)` gives the decoder's last hidden states and the output projection instead, for a loss fused with the
projection (`config.loss.fused_output`).

Architecture (fairseq's defaults for `transformer_iwslt_de_en`, Ott et al. 2019):
  * token embeddings `N(0, d^-1/2)` scaled by `sqrt(d)`, plus sinusoidal positions, then dropout;
  * post-layer-norm blocks (`normalize_before=False`): `x = LN(x + dropout(sublayer(x)))`;
    encoder block: self-attention, ReLU feed-forward; decoder block: causal self-attention, attention over the
    encoder output, feed-forward; no final layer norm in either stack;
  * attention (Vaswani et al., Eq. 1): `softmax(Q K^T / sqrt(d_h) + mask) V` per head; keys that are padding (and,
    in decoder self-attention, future positions) get a large negative logit;
  * the output projection is the target embedding matrix (`share_decoder_embeddings`, fairseq's
    `--share-decoder-input-output-embed`) or a separate bias-free `d x V` matrix; `share_all_embeddings` also ties the
    source embedding (a joint source-target dictionary, fairseq's `--share-all-embeddings`).
Sizes: `transformer_iwslt` = 6 + 6 layers, d = 512, feed-forward 1024, 4 heads, dropout 0.3 (attention and ReLU
dropout 0, as fairseq's defaults). Sinusoids follow fairseq's layout: sines in the first half of the channels,
cosines in the second, frequencies `10000^(-i / (d/2 - 1))`, `i = 0 .. d/2 - 1`; positions count from 0.

Decoding: `decode(model, source, max_length, beam_size)`: greedy search for `beam_size=1`, else beam search as
fairseq's `SequenceGenerator` (length penalty 1: a finished hypothesis scores `sum log p / length`, the length counting
its EOS; a sentence stops once `beam_size` hypotheses have ended; EOS is forced at `max_length`). Each step reruns
the decoder on the whole prefix buffer (no key/value cache), so a step costs a full decoder pass over `max_length`
positions; the search stops as soon as every sentence of the batch is finished.
"""

import functools
import math

import jax
import jax.numpy as jnp
from flax import nnx

from el_jax.losses import LinearOutputs

PAD_ID, BOS_ID, EOS_ID = 0, 1, 2

# (layers per stack, model width d, feed-forward width, heads, dropout)
SIZES = {
  "iwslt": (6, 512, 1024, 4, 0.3),
  "tiny": (2, 32, 64, 4, 0.1),
}
_xavier = nnx.initializers.xavier_uniform()


def sinusoidal_positions(length: int, dim: int) -> jax.Array:
  """`[length, dim]` position encodings: `sin(p w_i)` in channels `i < dim/2`, `cos(p w_i)` after them,
  `w_i = 10000^(-i / (dim/2 - 1))` (fairseq's `SinusoidalPositionalEmbedding`; Vaswani et al. 2017, §3.5)."""
  if dim % 2 or dim < 4:
    raise ValueError(f"sinusoidal positions need an even width of at least 4, got {dim}.")
  half = dim // 2
  freqs = jnp.exp(jnp.arange(half, dtype=jnp.float32) * -(math.log(10000.0) / (half - 1)))
  angles = jnp.arange(length, dtype=jnp.float32)[:, None] * freqs[None, :]
  return jnp.concatenate([jnp.sin(angles), jnp.cos(angles)], axis=1)


def embed_tokens(embedding: nnx.Embed, tokens, dim: int) -> jax.Array:
  """`embedding(tokens) sqrt(dim)` plus the sinusoidal positions `[T, dim]` (before dropout), for ids `[B, T]`."""
  x = embedding(tokens) * math.sqrt(dim)
  return x + sinusoidal_positions(tokens.shape[1], dim).astype(x.dtype)


def causal_mask(tokens) -> jax.Array:
  """`[B, T, T]` bool for ids `[B, T]`: query `t` may attend key `u` when `u <= t` and token `u` is not padding."""
  length = tokens.shape[1]
  return jnp.tril(jnp.ones((length, length), bool))[None] & (tokens != PAD_ID)[:, None, :]


def _linear(d_in: int, d_out: int, *, rngs: nnx.Rngs, bias: bool = True) -> nnx.Linear:
  return nnx.Linear(d_in, d_out, use_bias=bias, kernel_init=_xavier, rngs=rngs)


class Attention(nnx.Module):
  """Multi-head attention: `out = concat_h(softmax(q_h k_h^T / sqrt(d_h), masked) v_h) W_o`.

  `q = x W_q + b_q`, `k = m W_k + b_k`, `v = m W_v + b_v` for queries `x [B, Tq, d]` and memory `m [B, Tk, d]`;
  `mask [B, Tq, Tk]` is True where a query may attend a key. The softmax runs in float32; a masked logit is the
  float32 minimum, so a query with no visible key attends uniformly instead of producing NaN.
  """

  def __init__(self, dim: int, heads: int, *, dropout: float, rngs: nnx.Rngs):
    if dim % heads:
      raise ValueError(f"attention width {dim} is not divisible by {heads} heads.")
    self.heads = heads
    self.query = _linear(dim, dim, rngs=rngs)
    self.key = _linear(dim, dim, rngs=rngs)
    self.value = _linear(dim, dim, rngs=rngs)
    self.out = _linear(dim, dim, rngs=rngs)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)

  def __call__(self, x, memory, mask):
    batch, tq, dim = x.shape
    head_dim = dim // self.heads

    def split(y):
      return y.reshape(y.shape[0], y.shape[1], self.heads, head_dim)

    q, k, v = split(self.query(x)), split(self.key(memory)), split(self.value(memory))
    logits = jnp.einsum("bqhd,bkhd->bhqk", q, k).astype(jnp.float32) / math.sqrt(head_dim)
    logits = jnp.where(mask[:, None], logits, jnp.finfo(jnp.float32).min)
    weights = self.dropout(jax.nn.softmax(logits, axis=-1).astype(v.dtype))
    return self.out(jnp.einsum("bhqk,bkhd->bqhd", weights, v).reshape(batch, tq, dim))


class FeedForward(nnx.Module):
  """`W_2 dropout(relu(x W_1 + b_1)) + b_2`."""

  def __init__(self, dim: int, hidden: int, *, activation_dropout: float, rngs: nnx.Rngs):
    self.fc1 = _linear(dim, hidden, rngs=rngs)
    self.fc2 = _linear(hidden, dim, rngs=rngs)
    self.dropout = nnx.Dropout(activation_dropout, rngs=rngs)

  def __call__(self, x):
    return self.fc2(self.dropout(nnx.relu(self.fc1(x))))


class EncoderLayer(nnx.Module):
  """Post-norm encoder block: `x = LN(x + drop(attn(x, x)))`, `x = LN(x + drop(ffn(x)))`."""

  def __init__(self, dim, hidden, heads, *, dropout, attention_dropout, activation_dropout, rngs):
    self.attention = Attention(dim, heads, dropout=attention_dropout, rngs=rngs)
    self.attention_norm = nnx.LayerNorm(dim, epsilon=1e-5, rngs=rngs)
    self.ffn = FeedForward(dim, hidden, activation_dropout=activation_dropout, rngs=rngs)
    self.ffn_norm = nnx.LayerNorm(dim, epsilon=1e-5, rngs=rngs)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)

  def __call__(self, x, mask):
    x = self.attention_norm(x + self.dropout(self.attention(x, x, mask)))
    return self.ffn_norm(x + self.dropout(self.ffn(x)))


class DecoderLayer(nnx.Module):
  """Post-norm decoder block: causal self-attention, attention over the encoder output, feed-forward."""

  def __init__(self, dim, hidden, heads, *, dropout, attention_dropout, activation_dropout, rngs):
    self.self_attention = Attention(dim, heads, dropout=attention_dropout, rngs=rngs)
    self.self_attention_norm = nnx.LayerNorm(dim, epsilon=1e-5, rngs=rngs)
    self.cross_attention = Attention(dim, heads, dropout=attention_dropout, rngs=rngs)
    self.cross_attention_norm = nnx.LayerNorm(dim, epsilon=1e-5, rngs=rngs)
    self.ffn = FeedForward(dim, hidden, activation_dropout=activation_dropout, rngs=rngs)
    self.ffn_norm = nnx.LayerNorm(dim, epsilon=1e-5, rngs=rngs)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)

  def __call__(self, y, memory, self_mask, cross_mask):
    y = self.self_attention_norm(y + self.dropout(self.self_attention(y, y, self_mask)))
    y = self.cross_attention_norm(y + self.dropout(self.cross_attention(y, memory, cross_mask)))
    return self.ffn_norm(y + self.dropout(self.ffn(y)))


class Transformer(nnx.Module):
  """Encoder-decoder Transformer: `model(source [B, S], target_in [B, T]) -> logits [B, T, num_classes]`.

  Args:
    num_classes: the target vocabulary size `V`.
    input_shape: `{"source": (S,), "target_in": (T,)}`, the padded lengths (any lengths work at call time).
    source_vocab_size: the source vocabulary size (None: `num_classes`, a joint dictionary).
    layers, dim, hidden, heads, dropout: the stacks' depth, the model width, the feed-forward width, the number of
      heads and the residual/embedding dropout.
    attention_dropout, activation_dropout: dropout on attention weights and after the ReLU (fairseq's defaults, 0).
    share_decoder_embeddings: the output projection is the target embedding matrix.
    share_all_embeddings: the source, target and output embeddings are one matrix (needs equal vocabularies).
  """

  def __init__(
    self,
    *,
    num_classes: int,
    input_shape: dict,
    rngs: nnx.Rngs,
    source_vocab_size: int | None = None,
    layers: int = 6,
    dim: int = 512,
    hidden: int = 1024,
    heads: int = 4,
    dropout: float = 0.3,
    attention_dropout: float = 0.0,
    activation_dropout: float = 0.0,
    share_decoder_embeddings: bool = True,
    share_all_embeddings: bool = False,
  ):
    if not isinstance(input_shape, dict) or set(input_shape) != {"source", "target_in"}:
      raise ValueError(
        f"Transformer needs input_shape {{'source': (S,), 'target_in': (T,)}} (a translation dataset's "
        f"`input_shape`), got {input_shape!r}."
      )
    source_vocab_size = source_vocab_size or num_classes
    if share_all_embeddings and source_vocab_size != num_classes:
      raise ValueError(
        f"share_all_embeddings needs one joint dictionary, but the source vocabulary has {source_vocab_size} "
        f"types and the target {num_classes}; set share_all_embeddings=False or use a joint dictionary."
      )
    self.dim = dim
    embed_init = nnx.initializers.normal(dim**-0.5)
    self.target_embedding = nnx.Embed(num_classes, dim, embedding_init=embed_init, rngs=rngs)
    if share_all_embeddings:
      self.source_embedding = self.target_embedding
    else:
      self.source_embedding = nnx.Embed(source_vocab_size, dim, embedding_init=embed_init, rngs=rngs)
    # fairseq zeroes the padding rows at initialisation.
    for table in {id(e): e for e in (self.source_embedding, self.target_embedding)}.values():
      table.embedding[...] = table.embedding[...].at[PAD_ID].set(0.0)
    self.share_output = share_decoder_embeddings or share_all_embeddings
    if not self.share_output:
      self.output_projection = nnx.Param(embed_init(rngs.params(), (dim, num_classes)))
    block = dict(dropout=dropout, attention_dropout=attention_dropout, activation_dropout=activation_dropout, rngs=rngs)
    self.encoder_layers = nnx.List([EncoderLayer(dim, hidden, heads, **block) for _ in range(layers)])
    self.decoder_layers = nnx.List([DecoderLayer(dim, hidden, heads, **block) for _ in range(layers)])
    self.dropout = nnx.Dropout(dropout, rngs=rngs)

  def _embed(self, embedding: nnx.Embed, tokens):
    return self.dropout(embed_tokens(embedding, tokens, self.dim))

  def encode(self, source):
    """`(memory [B, S, d], source_mask [B, S])` for source ids `[B, S]` (mask False on padding)."""
    source = jnp.asarray(source)
    source_mask = source != PAD_ID
    x = self._embed(self.source_embedding, source)
    attend = source_mask[:, None, :] & jnp.ones((1, source.shape[1], 1), bool)
    for layer in self.encoder_layers:
      x = layer(x, attend)
    return x, source_mask

  def decode_logits(self, target_in, encoded):
    """Logits `[B, T, V]` for decoder inputs `[B, T]` given `encoded = self.encode(source)`."""
    hidden = self.decode_hidden(target_in, encoded)
    return hidden @ self.output_weight().astype(hidden.dtype)

  def output_weight(self):
    """The output projection `[d, V]`: the target embedding's transpose, or the separate matrix."""
    if self.share_output:
      return self.target_embedding.embedding[...].T
    return self.output_projection[...]

  def linear_outputs(self, source, target_in) -> LinearOutputs:
    """The decoder's last hidden states `[B, T, d]` and the output projection, whose product is the logits: what
    `el_jax.losses.linear_loss` takes to give the loss without materialising the `[B, T, V]` logits."""
    return LinearOutputs(self.decode_hidden(target_in, self.encode(source)), self.output_weight())

  def decode_hidden(self, target_in, encoded):
    """The decoder's last hidden states `[B, T, d]` for decoder inputs `[B, T]` given `encoded`."""
    memory, source_mask = encoded
    target_in = jnp.asarray(target_in)
    self_mask = causal_mask(target_in)
    cross_mask = source_mask[:, None, :] & jnp.ones((1, target_in.shape[1], 1), bool)
    y = self._embed(self.target_embedding, target_in)
    for layer in self.decoder_layers:
      y = layer(y, memory, self_mask, cross_mask)
    return y

  def __call__(self, source, target_in):
    return self.decode_logits(target_in, self.encode(source))


def _sized(size: str):
  layers, dim, hidden, heads, dropout = SIZES[size]
  return functools.partial(Transformer, layers=layers, dim=dim, hidden=hidden, heads=heads, dropout=dropout)


MODELS = {
  "transformer_iwslt": _sized("iwslt"),
  "transformer_tiny": _sized("tiny"),
}


# ---- Decoding -------------------------------------------------------------------------------------------------------


def _step_log_probs(model, target_in, encoded, t: int | jax.Array, *, last: bool | jax.Array, eos_id: int):
  """Log-probabilities `[N, V]` of the next token at position `t`; padding is never chosen; at the last position
  every token but EOS is excluded (fairseq's forced EOS, which keeps EOS's own log-probability)."""
  logits = jax.lax.dynamic_index_in_dim(model.decode_logits(target_in, encoded), t, axis=1, keepdims=False)
  log_probs = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
  log_probs = log_probs.at[:, PAD_ID].set(-jnp.inf)
  not_eos = jnp.arange(log_probs.shape[-1]) != eos_id
  return jnp.where(last & not_eos, -jnp.inf, log_probs)  # at the end only EOS remains, with its log-probability


def _check_decode_args(source, max_length: int, beam_size: int):
  if source.ndim != 2:
    raise ValueError(f"decode needs source ids [B, S], got shape {source.shape}.")
  if max_length < 1:
    raise ValueError(f"max_length must be at least 1 (the EOS), got {max_length}.")
  if beam_size < 1:
    raise ValueError(f"beam_size must be at least 1, got {beam_size}.")


@functools.partial(jax.jit, static_argnames=("graphdef", "max_length", "bos_id", "eos_id"))
def _greedy(graphdef, state, source, *, max_length: int, bos_id: int, eos_id: int):
  model = nnx.merge(graphdef, state)
  model.eval()
  encoded = model.encode(source)
  batch = source.shape[0]
  buffer = jnp.zeros((batch, max_length + 1), jnp.int32).at[:, 0].set(bos_id)

  def body(carry):
    t, buffer, ended = carry
    log_probs = _step_log_probs(model, buffer[:, :max_length], encoded, t, last=t == max_length - 1, eos_id=eos_id)
    token = jnp.where(ended, PAD_ID, jnp.argmax(log_probs, axis=-1).astype(jnp.int32))
    return t + 1, buffer.at[:, t + 1].set(token), ended | (token == eos_id)

  def unfinished(carry):  # stop once every sentence has ended
    t, _, ended = carry
    return (t < max_length) & ~jnp.all(ended)

  _, buffer, _ = jax.lax.while_loop(unfinished, body, (jnp.int32(0), buffer, jnp.zeros((batch,), bool)))
  return buffer[:, 1:]


def greedy_decode(model: nnx.Module, source, max_length: int, *, bos_id: int = BOS_ID, eos_id: int = EOS_ID):
  """`[B, max_length]` int32: the most probable next token at each step, up to and including EOS, then padding (0).

  `model` offers `encode(source)` and `decode_logits(target_in, encoded)` (as `Transformer`); it runs in
  evaluation mode (no dropout) on a copy, `model` itself is left as it is.
  """
  source = jnp.asarray(source, jnp.int32)
  _check_decode_args(source, max_length, 1)
  graphdef, state = nnx.split(model)
  return _greedy(graphdef, state, source, max_length=max_length, bos_id=bos_id, eos_id=eos_id)


@functools.partial(
  jax.jit, static_argnames=("graphdef", "max_length", "beam_size", "length_penalty", "bos_id", "eos_id")
)
def _beam(graphdef, state, source, *, max_length, beam_size, length_penalty, bos_id, eos_id):
  model = nnx.merge(graphdef, state)
  model.eval()
  batch, k = source.shape[0], beam_size
  encoded = jax.tree.map(lambda x: jnp.repeat(x, k, axis=0), model.encode(source))  # row b * k + j: beam j of b
  length = max_length + 1
  tokens = jnp.zeros((batch, k, length), jnp.int32).at[:, :, 0].set(bos_id)
  # Only beam 0 is alive at the start, so that the first step does not pick k copies of one hypothesis.
  scores = jnp.full((batch, k), -jnp.inf).at[:, 0].set(0.0)
  finished = jnp.zeros((batch, k, length), jnp.int32)
  finished_scores = jnp.full((batch, k), -jnp.inf)
  num_finished = jnp.zeros((batch,), jnp.int32)
  rows = jnp.arange(batch)[:, None]

  def body(carry):
    t, tokens, scores, finished, finished_scores, num_finished = carry
    target_in = tokens.reshape(batch * k, length)[:, :max_length]
    log_probs = _step_log_probs(model, target_in, encoded, t, last=t == max_length - 1, eos_id=eos_id)
    vocab = log_probs.shape[-1]
    candidates = (scores[:, :, None] + log_probs.reshape(batch, k, vocab)).reshape(batch, k * vocab)
    cand_scores, cand_index = jax.lax.top_k(candidates, 2 * k)  # best first
    cand_beam, cand_token = cand_index // vocab, (cand_index % vocab).astype(jnp.int32)
    cand_tokens = tokens[rows, cand_beam].at[:, :, t + 1].set(cand_token)  # [B, 2k, length]
    is_eos = (cand_token == eos_id) & jnp.isfinite(cand_scores)

    # Finalise the EOS candidates among the best k (fairseq), in rank order, until a sentence has k hypotheses.
    done = num_finished >= k
    eos_first = is_eos[:, :k] & ~done[:, None]
    slot = num_finished[:, None] + jnp.cumsum(eos_first, axis=1) - 1
    accept = eos_first & (slot < k)
    to_slot = accept[:, :, None] & (slot[:, :, None] == jnp.arange(k)[None, None, :])  # [B, cand j, slot]
    filled = jnp.any(to_slot, axis=1)
    source_j = jnp.argmax(to_slot, axis=1)  # [B, slot]
    normalised = cand_scores[:, :k] / jnp.asarray(t + 1, jnp.float32) ** length_penalty
    finished = jnp.where(filled[:, :, None], cand_tokens[rows, source_j], finished)
    finished_scores = jnp.where(filled, normalised[rows, source_j], finished_scores)
    num_finished = num_finished + jnp.sum(accept, axis=1)

    # The best k candidates that do not end carry on (there are at least k among the 2k: one EOS per beam).
    order = jnp.argsort(jnp.arange(2 * k)[None, :] + 2 * k * is_eos, axis=1)[:, :k]
    alive_scores = jnp.where(is_eos, -jnp.inf, cand_scores)[rows, order]
    return t + 1, cand_tokens[rows, order], alive_scores, finished, finished_scores, num_finished

  def unfinished(carry):  # stop once every sentence has its beam_size hypotheses: later steps change nothing
    t, num_finished = carry[0], carry[-1]
    return (t < max_length) & ~jnp.all(num_finished >= k)

  carry = (jnp.int32(0), tokens, scores, finished, finished_scores, num_finished)
  _, _, _, finished, finished_scores, _ = jax.lax.while_loop(unfinished, body, carry)
  best = jnp.argmax(finished_scores, axis=1)
  return finished[jnp.arange(batch), best, 1:], finished_scores[jnp.arange(batch), best]


def beam_search(
  model: nnx.Module,
  source,
  max_length: int,
  beam_size: int = 5,
  *,
  length_penalty: float = 1.0,
  bos_id: int = BOS_ID,
  eos_id: int = EOS_ID,
):
  """`(tokens [B, max_length] int32, scores [B] float32)`: the best finished hypothesis of a beam search.

  At step `t` each of the `beam_size` alive hypotheses is extended by every token; of the best `2 beam_size`
  extensions (by summed log-probability), those ending in EOS that rank among the best `beam_size` are finished with
  score `sum log p / (t + 1)^length_penalty` (`t + 1` tokens including EOS), and the best `beam_size` others stay
  alive. A sentence stops collecting once it has `beam_size` finished hypotheses; EOS is forced at `max_length`.
  The result is the finished hypothesis of highest score, its EOS included, padded with 0. This is the search of
  fairseq's `SequenceGenerator` with its default `--lenpen 1` (Ott et al. 2019). Padding (id 0) is never generated.
  """
  source = jnp.asarray(source, jnp.int32)
  _check_decode_args(source, max_length, beam_size)
  graphdef, state = nnx.split(model)
  return _beam(
    graphdef,
    state,
    source,
    max_length=max_length,
    beam_size=beam_size,
    length_penalty=float(length_penalty),
    bos_id=bos_id,
    eos_id=eos_id,
  )


def decode(model: nnx.Module, source, max_length: int, beam_size: int = 5, *, length_penalty: float = 1.0):
  """Translations `[B, max_length]` of source ids `[B, S]`: greedy for `beam_size=1`, else `beam_search`.

  Each row holds the generated target ids up to and including EOS, then padding (0).
  """
  if beam_size == 1:
    return greedy_decode(model, source, max_length)
  return beam_search(model, source, max_length, beam_size, length_penalty=length_penalty)[0]
