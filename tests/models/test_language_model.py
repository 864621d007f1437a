"""el_jax.models.language_model, the decoder-only Transformer: causal masking, a numpy forward pass (padding keys left
out), its `linear_outputs` against its logits, its parameter count and argument checks. Every call has the one shape of
`TOKENS`, so that each model compiles once (its training runs are in tests/e2e/test_language_model.py)."""

import math

import jax
import numpy as np
import pytest
from flax import nnx

from el_jax import models
from el_jax.models import language_model, transformer
from tests.models.test_transformer import _np_attention, _np_layer_norm, _np_linear

V = 19
SHAPE = {"tokens": (6,)}
# Row 1: 3 tokens, then padding; row 2: padding only, as the rows that pad the evaluation's last batch.
TOKENS = np.array([[5, 6, 7, 8, 9, 10], [11, 12, 13, 0, 0, 0], [0, 0, 0, 0, 0, 0]], np.int32)


def _tiny(seed, **kwargs):
  """Two layers of width 16: every part of the model, quick to compile."""
  options = dict(layers=2, dim=16, hidden=32, heads=2, dropout=0.1) | kwargs
  model = language_model.TransformerLM(num_classes=V, input_shape=SHAPE, rngs=nnx.Rngs(seed), **options)
  model.eval()
  return model


@pytest.fixture(scope="module")
def tied():
  """Tied embeddings, no bias (the defaults)."""
  return _tiny(3)


@pytest.fixture(scope="module")
def untied():
  """A separate output projection and a bias, set away from its zero initialisation so that a bias left out of a
  path shows."""
  model = _tiny(4, tie_embeddings=False, output_bias=True)
  model.output_bias[...] = jax.random.normal(jax.random.key(1), (V,))
  return model


@nnx.jit
def _outputs(model, tokens):
  """`(logits, linear_outputs)` in one compiled call."""
  return model(tokens), model.linear_outputs(tokens)


def _logits(model, tokens):
  return np.asarray(_outputs(model, tokens)[0])


def test_a_future_token_does_not_change_earlier_logits(tied):
  changed = TOKENS.copy()
  changed[0, 3] = 17
  before, after = _logits(tied, TOKENS), _logits(tied, changed)
  assert before.shape == (3, 6, V)
  np.testing.assert_array_equal(before[:, :3], after[:, :3])  # positions 0..2 cannot see position 3
  np.testing.assert_array_equal(before[1:], after[1:])
  assert np.abs(before[0, 3:] - after[0, 3:]).max(axis=-1).min() > 1e-4  # position 3 and every later one do


def _np_forward(model, tokens, dim, heads):
  """`(hidden, weight, logits)` in numpy: embeddings x sqrt(d) + sinusoids, post-norm blocks under the causal mask of
  the tokens that are not padding, then the output projection and bias. (A query that sees only padding gets NaN.)"""
  table = np.asarray(model.embedding.embedding[...], np.float64)
  x = table[tokens] * math.sqrt(dim) + np.asarray(transformer.sinusoidal_positions(tokens.shape[1], dim))
  length = tokens.shape[1]
  mask = np.tril(np.ones((length, length), bool))[None] & (tokens != 0)[:, None, :]
  for layer in model.layers:
    x = _np_layer_norm(layer.attention_norm, x + _np_attention(layer.attention, x, x, mask, heads))
    ffn = _np_linear(layer.ffn.fc2, np.maximum(_np_linear(layer.ffn.fc1, x), 0.0))
    x = _np_layer_norm(layer.ffn_norm, x + ffn)
  weight = table.T if model.tie_embeddings else np.asarray(model.output_projection[...])
  bias = 0.0 if model.output_bias is None else np.asarray(model.output_bias[...])
  return x, weight, x @ weight + bias


@pytest.mark.parametrize("name", ["tied", "untied"])
def test_logits_and_linear_outputs_match_a_numpy_forward_pass(name, request):
  model = request.getfixturevalue(name)
  hidden, weight, expected = _np_forward(model, TOKENS[:2], 16, 2)
  logits, outputs = _outputs(model, TOKENS)
  logits = np.asarray(logits)
  np.testing.assert_allclose(logits[:2], expected, rtol=1e-4, atol=1e-4)  # row 1's padding keys are left out
  assert np.all(np.isfinite(logits[2]))  # a row of padding: each query attends uniformly, no NaN
  np.testing.assert_allclose(np.asarray(outputs.hidden)[:2], hidden, rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(np.asarray(outputs.weight), weight, rtol=1e-6)
  assert (outputs.bias is None) == (name == "tied")
  # hidden @ weight (+ bias), in numpy, is the model's logits
  bias = 0.0 if outputs.bias is None else np.asarray(outputs.bias)
  np.testing.assert_allclose(np.asarray(outputs.hidden) @ np.asarray(outputs.weight) + bias, logits, atol=1e-5)


def test_the_padding_embedding_starts_at_zero(tied):
  assert not np.any(np.asarray(tied.embedding.embedding[...])[transformer.PAD_ID])


def _param_count(**kwargs):
  model = nnx.eval_shape(
    lambda: models.create("transformer_lm", num_classes=4096, input_shape={"tokens": (128,)}, **kwargs)
  )
  return models.count_params(model)


def test_parameter_count():
  d, ffn = 128, 512
  attention = 4 * (d * d + d)  # query, key, value, out
  block = attention + (d * ffn + ffn) + (ffn * d + d) + 2 * 2 * d  # + feed-forward + two layer norms
  assert _param_count() == 4096 * d + 2 * block  # the defaults: 2 layers, tied embeddings, no bias
  assert _param_count(tie_embeddings=False, output_bias=True) == 4096 * d + 2 * block + d * 4096 + 4096


def test_bad_arguments_are_named():
  def create(**kwargs):
    return nnx.eval_shape(lambda: models.create("transformer_lm", num_classes=V, **({"input_shape": SHAPE} | kwargs)))

  with pytest.raises(ValueError, match=r"needs input_shape \{'tokens': \(T,\)\}"):
    create(input_shape={"source": (6,), "target_in": (5,)})
  with pytest.raises(ValueError, match="at least one layer"):
    create(layers=0)
  with pytest.raises(ValueError, match="divisible"):
    create(dim=10, heads=4)
