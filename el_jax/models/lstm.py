"""An LSTM text classifier: the mixing paper's Women's Clothing E-Commerce Reviews networks ("LSTM multi-class
classification"): token embedding in R^E_d -> one or two LSTM layers of H_d cells -> a linear projection of the top
layer's output at the end of each sequence -> logits.

The paper's five architectures: (1) one layer, H_d = E_d = 50; (2) one layer, 75; (3) one layer, 100; (4) two layers,
50; (5) two layers, 100 (`configs/expectation_mixing/reviews.py`).
"""

import jax
import jax.numpy as jnp
from flax import nnx


def lstm_cell(params: dict, carry: tuple, x: jax.Array) -> tuple:
  """One LSTM step (Hochreiter & Schmidhuber 1997, with a forget gate: Gers et al. 2000).

  With `z = x W_x + h W_h + b` split into four `[B, H]` blocks (i, f, g, o):
    i = sigmoid(z_i), f = sigmoid(z_f), g = tanh(z_g), o = sigmoid(z_o),
    c' = f * c + i * g,   h' = o * tanh(c').
  `params` holds `input_kernel [E, 4H]`, `recurrent_kernel [H, 4H]` and `bias [4H]`; `carry` is `(c, h)`.
  Returns the new carry `(c', h')`.
  """
  c, h = carry
  z = x @ params["input_kernel"] + h @ params["recurrent_kernel"] + params["bias"]
  z_i, z_f, z_g, z_o = jnp.split(z, 4, axis=-1)
  c = jax.nn.sigmoid(z_f) * c + jax.nn.sigmoid(z_i) * jnp.tanh(z_g)
  h = jax.nn.sigmoid(z_o) * jnp.tanh(c)
  return c, h


def sequence_lengths(tokens: jax.Array, pad_id: int = 0) -> jax.Array:
  """`[B]` lengths of right-padded token rows `[B, T]`: one past the last position whose token is not `pad_id`
  (0 for an all-padding row)."""
  positions = jnp.arange(1, tokens.shape[1] + 1)
  return jnp.max(jnp.where(tokens != pad_id, positions, 0), axis=1)


class LSTMLayer(nnx.Module):
  """A unidirectional LSTM layer over `[B, T, E]` inputs (`lstm_cell` at every step).

  Parameters: `4H(E + H) + 4H` (one bias per gate; PyTorch's `nn.LSTM` keeps two, 4H more). The input kernel is
  initialised LeCun-normal, the recurrent kernel orthogonal, the biases at zero.
  """

  def __init__(self, in_features: int, hidden_features: int, *, rngs: nnx.Rngs):
    self.hidden_features = hidden_features
    self.input_kernel = nnx.Param(nnx.initializers.lecun_normal()(rngs.params(), (in_features, 4 * hidden_features)))
    recurrent = nnx.initializers.orthogonal()
    self.recurrent_kernel = nnx.Param(
      jnp.concatenate([recurrent(rngs.params(), (hidden_features, hidden_features)) for _ in range(4)], axis=1)
    )
    self.bias = nnx.Param(jnp.zeros((4 * hidden_features,)))

  def __call__(self, inputs: jax.Array, mask: jax.Array) -> tuple[jax.Array, jax.Array]:
    """`(outputs [B, T, H], final h [B, H])`. Where `mask [B, T]` is False the carry is held, so the final `h` is
    the output at each row's last unmasked step (zeros for a row with none)."""
    params = {"input_kernel": self.input_kernel[...], "recurrent_kernel": self.recurrent_kernel[...]}
    params["bias"] = self.bias[...]
    batch = inputs.shape[0]
    zeros = jnp.zeros((batch, self.hidden_features), inputs.dtype)

    def step(carry, xs):
      x, keep = xs
      new = lstm_cell(params, carry, x)
      carry = jax.tree.map(lambda n, o: jnp.where(keep[:, None], n, o), new, carry)
      return carry, carry[1]

    (_, last), outputs = jax.lax.scan(step, (zeros, zeros), (jnp.swapaxes(inputs, 0, 1), mask.T))
    return jnp.swapaxes(outputs, 0, 1), last


class LSTMClassifier(nnx.Module):
  """tokens `[B, T]` -> embedding `[B, T, E_d]` -> `num_layers` LSTM layers of `hidden_dim` -> linear -> `[B, K]`.

  Rows are right-padded with token 0; the logits project the top layer's output at each row's last non-padding
  token (`sequence_lengths`), not at position T.

  Args:
    num_classes: K.
    input_shape: `{"tokens": (T,)}` (the source's input shapes).
    vocab_size: the number of token ids (ids must lie in `[0, vocab_size)`; 0 is padding).
    embed_dim: E_d. hidden_dim: H_d. num_layers: stacked LSTM layers (the paper uses 1 or 2).
  """

  def __init__(
    self,
    *,
    num_classes: int,
    input_shape: dict,
    rngs: nnx.Rngs,
    vocab_size: int,
    embed_dim: int = 50,
    hidden_dim: int = 50,
    num_layers: int = 1,
  ):
    if not isinstance(input_shape, dict) or "tokens" not in input_shape or len(tuple(input_shape["tokens"])) != 1:
      raise ValueError(f"LSTMClassifier needs input_shape={{'tokens': (T,)}}, got {input_shape!r}.")
    if num_layers < 1 or vocab_size < 2:
      raise ValueError(f"LSTMClassifier needs num_layers >= 1 and vocab_size >= 2, got {num_layers}, {vocab_size}.")
    self.embedding = nnx.Embed(vocab_size, embed_dim, rngs=rngs)
    sizes = [embed_dim] + [hidden_dim] * num_layers
    self.layers = nnx.List([LSTMLayer(a, b, rngs=rngs) for a, b in zip(sizes[:-1], sizes[1:], strict=True)])
    self.head = nnx.Linear(hidden_dim, num_classes, rngs=rngs)

  def __call__(self, tokens: jax.Array) -> jax.Array:
    lengths = sequence_lengths(tokens)
    mask = jnp.arange(tokens.shape[1])[None, :] < lengths[:, None]
    x = self.embedding(tokens)
    last = None
    for layer in self.layers:
      x, last = layer(x, mask)
    return self.head(last)


MODELS = {"lstm": LSTMClassifier}
