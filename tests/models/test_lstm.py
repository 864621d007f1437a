"""The LSTM classifier against a numpy LSTM written from the gate equations, and its end-of-sequence pooling."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from el_jax.models import lstm


def _sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


def numpy_lstm(x, w_x, w_h, b):
  """Hidden states `[T, H]` of one sequence `x [T, E]`: gates i, f, g, o from x W_x + h W_h + b, in that order."""
  hidden = w_h.shape[0]
  c, h, out = np.zeros(hidden), np.zeros(hidden), []
  for x_t in x:
    z = x_t @ w_x + h @ w_h + b
    i, f, g, o = (z[k * hidden : (k + 1) * hidden] for k in range(4))
    c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    h = _sigmoid(o) * np.tanh(c)
    out.append(h)
  return np.stack(out)


def _params(layer):
  return (np.asarray(layer.input_kernel[...]), np.asarray(layer.recurrent_kernel[...]), np.asarray(layer.bias[...]))


def _model(num_layers, vocab=30, length=9):
  model = lstm.LSTMClassifier(
    num_classes=5,
    input_shape={"tokens": (length,)},
    rngs=nnx.Rngs(3),
    vocab_size=vocab,
    embed_dim=6,
    hidden_dim=4,
    num_layers=num_layers,
  )
  # Non-zero biases, so that a wrong gate order or bias placement shows.
  for layer in model.layers:
    layer.bias[...] = jnp.linspace(-1.0, 1.0, layer.bias.shape[0])
  return model


def numpy_classifier(model, tokens):
  """Logits of one unpadded token sequence: embedding -> stacked numpy LSTMs -> last hidden state -> linear."""
  x = np.asarray(model.embedding.embedding[...])[tokens]
  for layer in model.layers:
    x = numpy_lstm(x, *_params(layer))
  return x[-1] @ np.asarray(model.head.kernel[...]) + np.asarray(model.head.bias[...])


def test_cell_matches_the_lstm_equations():
  rng = np.random.default_rng(0)
  e, h, b = 3, 4, 2
  params = {
    "input_kernel": rng.normal(size=(e, 4 * h)),
    "recurrent_kernel": rng.normal(size=(h, 4 * h)),
    "bias": rng.normal(size=4 * h),
  }
  c0, h0, x = rng.normal(size=(b, h)), rng.normal(size=(b, h)), rng.normal(size=(b, e))
  c1, h1 = lstm.lstm_cell({k: jnp.asarray(v) for k, v in params.items()}, (jnp.asarray(c0), jnp.asarray(h0)), x)
  z = x @ params["input_kernel"] + h0 @ params["recurrent_kernel"] + params["bias"]
  i, f, g, o = _sigmoid(z[:, :h]), _sigmoid(z[:, h : 2 * h]), np.tanh(z[:, 2 * h : 3 * h]), _sigmoid(z[:, 3 * h :])
  np.testing.assert_allclose(c1, f * c0 + i * g, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(h1, o * np.tanh(f * c0 + i * g), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("num_layers", [1, 2])
def test_logits_project_the_output_at_the_last_real_token(num_layers):
  model = _model(num_layers)
  rows = [
    [3, 7, 1, 9, 4, 2, 8, 5, 6],
    [3, 7, 1, 9, 0, 0, 0, 0, 0],
    [11, 0, 0, 0, 0, 0, 0, 0, 0],
    [4, 0, 5, 0, 0, 0, 0, 0, 0],
  ]
  logits = np.asarray(model(jnp.asarray(rows, jnp.int32)))
  expected = [numpy_classifier(model, np.trim_zeros(np.asarray(r), "b")) for r in rows]
  np.testing.assert_allclose(logits, np.stack(expected), rtol=1e-4, atol=1e-5)


def test_trailing_padding_does_not_change_the_logits():
  model = _model(2, length=4)
  short = model(jnp.asarray([[5, 6, 7, 0]], jnp.int32))
  long = model(jnp.asarray([[5, 6, 7] + [0] * 20], jnp.int32))
  np.testing.assert_allclose(short, long, rtol=1e-6)


def test_sequence_lengths_count_to_the_last_non_padding_token():
  tokens = jnp.asarray([[1, 2, 3, 0], [0, 0, 0, 0], [4, 0, 5, 0], [1, 1, 1, 1]])
  np.testing.assert_array_equal(lstm.sequence_lengths(tokens), [3, 0, 3, 4])


def test_parameter_count_of_paper_architecture_1():
  model = nnx.eval_shape(
    lambda: lstm.MODELS["lstm"](
      num_classes=5,
      input_shape={"tokens": (100,)},
      rngs=nnx.Rngs(0),
      vocab_size=10_000,
      embed_dim=50,
      hidden_dim=50,
      num_layers=1,
    )
  )
  count = sum(int(np.prod(p.shape)) for p in jax.tree.leaves(nnx.state(model, nnx.Param)))
  assert count == 10_000 * 50 + 4 * 50 * (50 + 50) + 4 * 50 + 50 * 5 + 5


def test_bad_input_shape_is_named():
  with pytest.raises(ValueError, match="tokens"):
    lstm.LSTMClassifier(num_classes=5, input_shape=(10,), rngs=nnx.Rngs(0), vocab_size=10)
