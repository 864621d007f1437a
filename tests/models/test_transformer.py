"""el_jax.models.transformer, the translation Transformer: masks (causal, padding), a numpy reference of its attention
and post-norm layers, fairseq's sinusoids and parameter count, its argument checks; and greedy and beam-search decoding
on models whose next-token probabilities are set by hand (hypotheses and scores worked out on paper) and on a real
Transformer, whose own logits the decoders must follow."""

import math

import jax
import jax.numpy as jnp
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


# ---- Decoding: greedy and beam search -----------------------------------------------------------------------------

PAD, BOS, EOS, A, B = 0, 1, 2, 3, 4


def _log_table(rows: dict) -> np.ndarray:
  """`[5, 5]` next-token log-probabilities by previous token from `{previous: {next: probability}}`."""
  table = np.full((5, 5), -np.inf, np.float32)
  for previous, probs in rows.items():
    for token, p in probs.items():
      table[previous, token] = math.log(p)
  table[~np.isfinite(table).any(axis=1)] = 0.0  # rows never reached: uniform
  return table


# P(. | BOS) = a .6, b .4;  P(. | a) = a .4, b .3, EOS .3;  P(. | b) = EOS .9, a .1.
TABLE = _log_table({BOS: {A: 0.6, B: 0.4}, A: {A: 0.4, B: 0.3, EOS: 0.3}, B: {EOS: 0.9, A: 0.1}})


class Bigram(nnx.Module):
  """A decoder whose next-token logits depend only on the previous token: `tables[source[:, 0]][previous]`."""

  def __init__(self, tables):
    self.tables = nnx.Variable(jnp.asarray(tables))

  def encode(self, source):
    return jnp.asarray(source)[:, 0]

  def decode_logits(self, target_in, encoded):
    return self.tables[...][encoded[:, None], target_in]


def _bigram():
  # Source token 0 selects TABLE; source token 1 a table whose best continuation of BOS is b, then EOS.
  other = _log_table({BOS: {B: 0.7, A: 0.3}, B: {EOS: 0.8, B: 0.2}, A: {EOS: 1.0}})
  return Bigram(np.stack([TABLE, other]))


BIGRAM_SOURCE = np.array([[0, 2], [1, 2]], np.int32)


def test_greedy_takes_the_most_probable_token_and_forces_eos_at_max_length():
  # Row 0: a (.6), then a (.4) at every step, EOS forced at the 4th token. Row 1: b (.7), EOS (.8), then padding.
  tokens = np.asarray(transformer.greedy_decode(_bigram(), BIGRAM_SOURCE, 4))
  np.testing.assert_array_equal(tokens, [[A, A, A, EOS], [B, EOS, PAD, PAD]])
  np.testing.assert_array_equal(np.asarray(transformer.decode(_bigram(), BIGRAM_SOURCE, 4, 1)), tokens)


def test_beam_search_finds_the_hypothesis_greedy_misses():
  # Beam 2. Step 1: b.EOS (.36), a.a (.24), a.EOS (.18), a.b (.18): b.EOS ranks in the best two and is finished with
  # score log(.36) / 2; a.a and a.b stay alive. Step 2: a.b.EOS (.162) ranks first, is finished with log(.162) / 3
  # and completes the two hypotheses. The best is b.EOS.
  tokens, scores = transformer.beam_search(_bigram(), BIGRAM_SOURCE[:1], 4, 2)
  np.testing.assert_array_equal(np.asarray(tokens), [[B, EOS, PAD, PAD]])
  np.testing.assert_allclose(np.asarray(scores), [math.log(0.36) / 2], rtol=1e-6)


def test_beam_rows_are_searched_independently():
  tokens, scores = transformer.beam_search(_bigram(), BIGRAM_SOURCE, 4, 2)
  np.testing.assert_array_equal(np.asarray(tokens), [[B, EOS, PAD, PAD], [B, EOS, PAD, PAD]])
  np.testing.assert_allclose(np.asarray(scores), [math.log(0.36) / 2, math.log(0.7 * 0.8) / 2], rtol=1e-6)


def test_without_length_normalisation_the_summed_log_probability_ranks():
  # Beam 3, length penalty 0. Step 1 finishes b.EOS (.36) and a.EOS (.18); alive a.a (.24), a.b (.18), b.a (.04).
  # Step 2: a.b.EOS (.162) finishes the third hypothesis. Best summed log-probability: b.EOS.
  tokens, scores = transformer.beam_search(_bigram(), BIGRAM_SOURCE[:1], 4, 3, length_penalty=0.0)
  np.testing.assert_array_equal(np.asarray(tokens), [[B, EOS, PAD, PAD]])
  np.testing.assert_allclose(np.asarray(scores), [math.log(0.36)], rtol=1e-6)


def test_length_normalisation_can_prefer_a_longer_hypothesis():
  # P(. | BOS) = a .5, b .5 (a first by index); P(. | a) = EOS .3, a .7; P(. | b) = EOS .4, a .6; max_length 3.
  # Beam 2, step 1: a.a .35, b.a .30, b.EOS .20, a.EOS .15: none of the best two ends. Step 2 (last): EOS forced,
  # a.a.EOS (.35 * .3 = .105) and b.a.EOS (.3 * .3 = .09). Best: a.a.EOS, log(.105) / 3 (normalised by 3 tokens).
  table = _log_table({BOS: {A: 0.5, B: 0.5}, A: {EOS: 0.3, A: 0.7}, B: {EOS: 0.4, A: 0.6}})
  tokens, scores = transformer.beam_search(Bigram(table[None]), np.zeros((1, 1), np.int32), 3, 2)
  np.testing.assert_array_equal(np.asarray(tokens), [[A, A, EOS]])
  np.testing.assert_allclose(np.asarray(scores), [math.log(0.105) / 3], rtol=1e-6)


def test_decoders_follow_a_transformers_own_logits():
  model = transformer.Transformer(
    num_classes=13,
    input_shape={"source": (5,), "target_in": (4,)},
    rngs=nnx.Rngs(4),
    layers=1,
    dim=16,
    hidden=32,
    heads=2,
    dropout=0.5,
  )
  model.train()  # decoding must switch dropout off on its copy, and leave the model in training mode
  source = np.array([[5, 6, 7, 2, 0], [8, 2, 0, 0, 0]], np.int32)
  tokens = np.asarray(transformer.greedy_decode(model, source, 4))
  assert model.dropout.deterministic is False
  model.eval()
  apply = nnx.jit(lambda m, s, t: m(s, t))
  for row in range(2):
    buffer = np.zeros((1, 4), np.int32)  # the prefix, right-padded: later positions do not reach position t
    buffer[0, 0] = transformer.BOS_ID
    for t in range(4):
      logits = np.array(apply(model, source[row : row + 1], buffer))[0, t]
      logits[transformer.PAD_ID] = -np.inf
      expected = transformer.EOS_ID if t == 3 else int(np.argmax(logits))
      assert tokens[row, t] == expected
      if expected == transformer.EOS_ID:
        assert np.all(tokens[row, t + 1 :] == transformer.PAD_ID)
        break
      buffer[0, t + 1] = expected
  # Beam 1 is greedy search.
  np.testing.assert_array_equal(np.asarray(transformer.beam_search(model, source, 4, 1)[0]), tokens)


def test_bad_decoding_arguments_are_named():
  with pytest.raises(ValueError, match="max_length"):
    transformer.decode(_bigram(), BIGRAM_SOURCE, 0, 2)
  with pytest.raises(ValueError, match="beam_size"):
    transformer.beam_search(_bigram(), BIGRAM_SOURCE, 4, 0)
  with pytest.raises(ValueError, match="source ids"):
    transformer.decode(_bigram(), BIGRAM_SOURCE[0], 4, 2)


def test_stopping_when_every_sentence_is_finished_changes_no_result():
  # Both rows finish their two hypotheses by step 2, so a longer max_length only adds padding.
  short_tokens, short_scores = transformer.beam_search(_bigram(), BIGRAM_SOURCE, 4, 2)
  long_tokens, long_scores = transformer.beam_search(_bigram(), BIGRAM_SOURCE, 9, 2)
  np.testing.assert_array_equal(np.asarray(long_tokens)[:, :4], np.asarray(short_tokens))
  assert not np.asarray(long_tokens)[:, 4:].any()
  np.testing.assert_allclose(np.asarray(long_scores), np.asarray(short_scores))
