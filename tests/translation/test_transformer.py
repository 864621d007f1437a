"""The translation Transformer: masks (causal, padding), a numpy reference of its attention and post-norm layers,
fairseq's sinusoids and parameter count, and its argument checks."""

import math

import jax
import numpy as np
import pytest
from flax import nnx

from el_jax.data import translation
from el_jax.models import transformer

SHAPE = {"source": (6,), "target_in": (5,)}


def _tiny(**kwargs):
  """One layer per stack, width 16: the smallest model with every kind of block, quick to compile."""
  model = transformer.Transformer(
    num_classes=23,
    input_shape=SHAPE,
    rngs=nnx.Rngs(0),
    source_vocab_size=19,
    layers=1,
    dim=16,
    hidden=32,
    heads=2,
    dropout=0.1,
    **kwargs,
  )
  model.eval()
  return model


@nnx.jit
def _apply(model, source, target_in):
  return model(source, target_in)


SOURCE = np.array([[5, 6, 7, 8, 2, 0], [9, 10, 2, 0, 0, 0]], np.int32)
TARGET_IN = np.array([[1, 11, 12, 13, 14], [1, 15, 16, 0, 0]], np.int32)


def test_logits_have_the_target_vocabulary_and_the_special_ids_agree_with_the_data():
  assert _apply(_tiny(), SOURCE, TARGET_IN).shape == (2, 5, 23)
  assert (transformer.PAD_ID, transformer.BOS_ID, transformer.EOS_ID) == (
    translation.PAD_ID,
    translation.BOS_ID,
    translation.EOS_ID,
  )


def test_a_future_target_token_does_not_change_earlier_logits():
  model = _tiny()
  changed = TARGET_IN.copy()
  changed[0, 3] = 20
  before, after = np.asarray(_apply(model, SOURCE, TARGET_IN)), np.asarray(_apply(model, SOURCE, changed))
  np.testing.assert_allclose(before[:, :3], after[:, :3], atol=1e-6)
  np.testing.assert_allclose(before[1], after[1], atol=1e-6)
  assert np.abs(before[0, 3:] - after[0, 3:]).max() > 1e-4


def test_extra_padding_changes_no_logit_of_a_real_token():
  model = _tiny()
  longer_source = np.concatenate([SOURCE, np.zeros((2, 4), np.int32)], axis=1)
  longer_target = np.concatenate([TARGET_IN, np.zeros((2, 3), np.int32)], axis=1)
  base = np.asarray(_apply(model, SOURCE, TARGET_IN))
  padded = np.asarray(_apply(model, longer_source, longer_target))[:, :5]
  np.testing.assert_allclose(base[0], padded[0], atol=1e-5)
  np.testing.assert_allclose(base[1, :3], padded[1, :3], atol=1e-5)  # row 1 has 3 real decoder inputs
  # A sentence alone gives the logits it gets in a batch with a longer one.
  alone = np.asarray(_apply(model, SOURCE[1:, :3], TARGET_IN[1:, :3]))
  np.testing.assert_allclose(alone[0], base[1, :3], atol=1e-5)


def test_the_source_changes_the_logits():
  model = _tiny()
  other = SOURCE.copy()
  other[0, 1] = 17
  assert (
    np.abs(np.asarray(_apply(model, SOURCE, TARGET_IN))[0] - np.asarray(_apply(model, other, TARGET_IN))[0]).max()
    > 1e-4
  )


def test_a_fully_padded_row_gives_finite_logits():
  # Evaluation pads the last batch with all-zero rows.
  logits = _apply(_tiny(), np.zeros((1, 6), np.int32), np.zeros((1, 5), np.int32))
  assert np.all(np.isfinite(np.asarray(logits)))


def test_dropout_is_on_in_training_mode_only():
  model = _tiny()
  eval_logits = np.asarray(_apply(model, SOURCE, TARGET_IN))
  model.train()
  train_logits = np.asarray(_apply(model, SOURCE, TARGET_IN))
  assert np.abs(train_logits - eval_logits).max() > 1e-4


# ---- numpy references -------------------------------------------------------------------------------------------


def _np_linear(layer, x):
  return x @ np.asarray(layer.kernel[...]) + np.asarray(layer.bias[...])


def _np_attention(attention, x, memory, mask, heads):
  b, tq, d = x.shape
  dh = d // heads
  q = _np_linear(attention.query, x).reshape(b, tq, heads, dh)
  k = _np_linear(attention.key, memory).reshape(b, -1, heads, dh)
  v = _np_linear(attention.value, memory).reshape(b, -1, heads, dh)
  out = np.zeros((b, tq, heads, dh))
  for i in range(b):
    for h in range(heads):
      scores = q[i, :, h] @ k[i, :, h].T / math.sqrt(dh)
      scores = np.where(mask[i], scores, -np.inf)
      weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
      weights /= weights.sum(axis=-1, keepdims=True)
      out[i, :, h] = weights @ v[i, :, h]
  return _np_linear(attention.out, out.reshape(b, tq, d))


def _np_layer_norm(norm, x):
  mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
  return (x - mean) / np.sqrt(var + 1e-5) * np.asarray(norm.scale[...]) + np.asarray(norm.bias[...])


def test_attention_matches_a_numpy_reference():
  heads = 2
  attention = transformer.Attention(8, heads, dropout=0.0, rngs=nnx.Rngs(1))
  rng = np.random.default_rng(0)
  x, memory = rng.normal(size=(2, 3, 8)).astype(np.float32), rng.normal(size=(2, 4, 8)).astype(np.float32)
  mask = rng.random((2, 3, 4)) < 0.7
  mask[..., 0] = True
  expected = _np_attention(attention, x, memory, mask, heads)
  np.testing.assert_allclose(np.asarray(attention(x, memory, mask)), expected, rtol=1e-5, atol=1e-5)


def test_an_encoder_layer_is_post_norm_attention_then_relu_feed_forward():
  layer = transformer.EncoderLayer(
    8, 16, 2, dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, rngs=nnx.Rngs(2)
  )
  rng = np.random.default_rng(1)
  x = rng.normal(size=(2, 5, 8)).astype(np.float32)
  mask = np.broadcast_to(np.array([[True] * 5, [True] * 3 + [False] * 2])[:, None, :], (2, 5, 5))
  h = _np_layer_norm(layer.attention_norm, x + _np_attention(layer.attention, x, x, mask, 2))
  ffn = _np_linear(layer.ffn.fc2, np.maximum(_np_linear(layer.ffn.fc1, h), 0.0))
  expected = _np_layer_norm(layer.ffn_norm, h + ffn)
  np.testing.assert_allclose(np.asarray(layer(x, mask)), expected, rtol=1e-4, atol=1e-4)


def test_a_one_layer_model_matches_a_numpy_forward_pass():
  model = transformer.Transformer(
    num_classes=11, input_shape=SHAPE, rngs=nnx.Rngs(3), layers=1, dim=8, hidden=16, heads=2, dropout=0.0
  )
  source = np.array([[4, 5, 6, 2, 0]], np.int32)
  target_in = np.array([[1, 7, 8, 0]], np.int32)
  src_table = np.asarray(model.source_embedding.embedding[...])
  tgt_table = np.asarray(model.target_embedding.embedding[...])
  positions = lambda n: np.asarray(transformer.sinusoidal_positions(n, 8))  # noqa: E731
  x = src_table[source] * math.sqrt(8) + positions(5)
  enc_mask = np.broadcast_to((source != 0)[:, None, :], (1, 5, 5))
  enc = model.encoder_layers[0]
  h = _np_layer_norm(enc.attention_norm, x + _np_attention(enc.attention, x, x, enc_mask, 2))
  memory = _np_layer_norm(enc.ffn_norm, h + _np_linear(enc.ffn.fc2, np.maximum(_np_linear(enc.ffn.fc1, h), 0)))
  y = tgt_table[target_in] * math.sqrt(8) + positions(4)
  self_mask = np.tril(np.ones((4, 4), bool))[None] & (target_in != 0)[:, None, :]
  cross_mask = np.broadcast_to((source != 0)[:, None, :], (1, 4, 5))
  dec = model.decoder_layers[0]
  y = _np_layer_norm(dec.self_attention_norm, y + _np_attention(dec.self_attention, y, y, self_mask, 2))
  y = _np_layer_norm(dec.cross_attention_norm, y + _np_attention(dec.cross_attention, y, memory, cross_mask, 2))
  y = _np_layer_norm(dec.ffn_norm, y + _np_linear(dec.ffn.fc2, np.maximum(_np_linear(dec.ffn.fc1, y), 0)))
  expected = y @ tgt_table.T  # shared decoder input and output embeddings
  np.testing.assert_allclose(np.asarray(_apply(model, source, target_in))[0, :3], expected[0, :3], rtol=1e-4, atol=1e-4)


def test_sinusoids_follow_fairseqs_layout():
  # d = 4: frequencies 10000^(-i / (d/2 - 1)) = 1 and 1e-4; sines first, then cosines.
  expected = np.array([[0, 0, 1, 1], [math.sin(1), math.sin(1e-4), math.cos(1), math.cos(1e-4)]])
  np.testing.assert_allclose(np.asarray(transformer.sinusoidal_positions(2, 4)), expected, atol=1e-6)


def test_padding_embedding_rows_start_at_zero():
  model = _tiny()
  assert not np.any(np.asarray(model.source_embedding.embedding[...])[0])
  assert not np.any(np.asarray(model.target_embedding.embedding[...])[0])


# ---- Sizes and arguments ------------------------------------------------------------------------------------------


def _param_count(**kwargs):
  model = nnx.eval_shape(lambda: transformer.MODELS["transformer_iwslt"](input_shape=SHAPE, rngs=nnx.Rngs(0), **kwargs))
  return sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))


def test_iwslt_size_is_fairseqs_transformer_iwslt_de_en():
  d, ffn = 512, 1024
  attention = 4 * (d * d + d)
  feed_forward = d * ffn + ffn + ffn * d + d
  encoder_layer = attention + feed_forward + 2 * 2 * d
  decoder_layer = 2 * attention + feed_forward + 3 * 2 * d
  body = 6 * (encoder_layer + decoder_layer)
  # fairseq reports 39,469,056 parameters for transformer_iwslt_de_en with --share-decoder-input-output-embed.
  assert body + 8848 * d + 6632 * d == 39_469_056
  assert _param_count(num_classes=6632, source_vocab_size=8848) == 39_469_056
  assert _param_count(num_classes=6632, source_vocab_size=8848, share_decoder_embeddings=False) == (
    39_469_056 + 6632 * d
  )
  # One joint table for source, target and output.
  assert _param_count(num_classes=16240, share_all_embeddings=True, layers=2) == (
    2 * (encoder_layer + decoder_layer) + 16240 * d
  )


def test_shared_embeddings_are_one_table():
  model = transformer.MODELS["transformer_tiny"](
    num_classes=23, input_shape=SHAPE, rngs=nnx.Rngs(0), share_all_embeddings=True
  )
  assert model.source_embedding is model.target_embedding


def test_bad_arguments_are_named():
  with pytest.raises(ValueError, match="joint dictionary"):
    transformer.Transformer(
      num_classes=23, input_shape=SHAPE, rngs=nnx.Rngs(0), source_vocab_size=19, share_all_embeddings=True
    )
  with pytest.raises(ValueError, match="input_shape"):
    transformer.Transformer(num_classes=23, input_shape=(6,), rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match="divisible"):
    transformer.Attention(10, 4, dropout=0.0, rngs=nnx.Rngs(0))
