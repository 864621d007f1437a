"""A decoder-only Transformer language model, built from the translation Transformer's layers.

`TransformerLM(tokens [B, T]) -> logits [B, T, V]`: the logits at position `t` predict token `t + 1` (the label),
from tokens `0 .. t` only. Token ids follow the translation convention (`el_jax.models.transformer`): 0 is padding,
whose keys no query attends and whose embedding row starts at zero. `linear_outputs(tokens)` gives the last hidden
states and the output projection instead, for a loss fused with the projection (`config.loss.fused_output`), which
never holds the `[B, T, V]` logits.

Architecture (the decoder of `el_jax.models.transformer` without its attention over an encoder):
  * token embeddings `N(0, d^-1/2)` scaled by `sqrt(d)`, plus sinusoidal positions, then dropout;
  * `layers` post-layer-norm blocks `x = LN(x + drop(attn(x, x, causal)))`, `x = LN(x + drop(ffn(x)))`: the
    translation encoder's block (`transformer.EncoderLayer`) given the causal mask (`transformer.causal_mask`);
  * the output projection is the embedding matrix's transpose (`tie_embeddings=True`, Press & Wolf 2017) or a
    separate `d x V` matrix, with an optional bias `[V]` (`output_bias=True`):
    `logits = h W + b`, `W = E^T` when tied.
"""

import jax.numpy as jnp
from flax import nnx

from el_jax.losses import LinearOutputs
from el_jax.models.transformer import PAD_ID, EncoderLayer, causal_mask, embed_tokens


class TransformerLM(nnx.Module):
  """Decoder-only Transformer: `model(tokens [B, T]) -> logits [B, T, num_classes]`.

  Args:
    num_classes: the vocabulary size `V` (input and output).
    input_shape: `{"tokens": (T,)}`, the sequence length of the data (any length works at call time).
    layers, dim, hidden, heads, dropout: the depth, the model width, the feed-forward width, the number of heads and
      the residual/embedding dropout.
    attention_dropout, activation_dropout: dropout on the attention weights and after the ReLU.
    tie_embeddings: the output projection is the embedding matrix's transpose; else a separate `d x V` matrix.
    output_bias: add a learnt bias `[V]` (zeros at initialisation) to the logits.
  """

  def __init__(
    self,
    *,
    num_classes: int,
    input_shape: dict,
    rngs: nnx.Rngs,
    layers: int = 2,
    dim: int = 128,
    hidden: int = 512,
    heads: int = 4,
    dropout: float = 0.1,
    attention_dropout: float = 0.0,
    activation_dropout: float = 0.0,
    tie_embeddings: bool = True,
    output_bias: bool = False,
  ):
    if not isinstance(input_shape, dict) or set(input_shape) != {"tokens"}:
      raise ValueError(
        f"TransformerLM needs input_shape {{'tokens': (T,)}} (a token stream's `input_shape`, e.g. the "
        f"markov_tokens dataset's), got {input_shape!r}."
      )
    if layers < 1:
      raise ValueError(f"TransformerLM needs at least one layer, got layers={layers}.")
    self.dim = dim
    embed_init = nnx.initializers.normal(dim**-0.5)
    self.embedding = nnx.Embed(num_classes, dim, embedding_init=embed_init, rngs=rngs)
    self.embedding.embedding[...] = self.embedding.embedding[...].at[PAD_ID].set(0.0)  # as fairseq's padding row
    self.tie_embeddings = tie_embeddings
    if not tie_embeddings:
      self.output_projection = nnx.Param(embed_init(rngs.params(), (dim, num_classes)))
    self.output_bias = nnx.Param(jnp.zeros((num_classes,))) if output_bias else None
    block = dict(dropout=dropout, attention_dropout=attention_dropout, activation_dropout=activation_dropout, rngs=rngs)
    self.layers = nnx.List([EncoderLayer(dim, hidden, heads, **block) for _ in range(layers)])
    self.dropout = nnx.Dropout(dropout, rngs=rngs)

  def hidden_states(self, tokens):
    """The last hidden states `[B, T, d]` for ids `[B, T]`; position `t` sees tokens `0 .. t` that are not padding."""
    tokens = jnp.asarray(tokens)
    mask = causal_mask(tokens)
    x = self.dropout(embed_tokens(self.embedding, tokens, self.dim))
    for layer in self.layers:
      x = layer(x, mask)
    return x

  def output_weight(self):
    """The output projection `[d, V]`: the embedding's transpose, or the separate matrix."""
    if self.tie_embeddings:
      return self.embedding.embedding[...].T
    return self.output_projection[...]

  def linear_outputs(self, tokens) -> LinearOutputs:
    """The last hidden states `[B, T, d]`, the output projection `[d, V]` and bias `[V]` (or None), whose
    `hidden @ weight + bias` is the logits: what `el_jax.losses.linear_loss` takes to give the loss without
    materialising the `[B, T, V]` logits."""
    bias = None if self.output_bias is None else self.output_bias[...]
    return LinearOutputs(self.hidden_states(tokens), self.output_weight(), bias)

  def __call__(self, tokens):
    hidden, weight, bias = self.linear_outputs(tokens)
    logits = hidden @ weight.astype(hidden.dtype)
    return logits if bias is None else logits + bias.astype(logits.dtype)


MODELS = {"transformer_lm": TransformerLM}
