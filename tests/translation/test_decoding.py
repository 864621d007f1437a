"""Greedy and beam-search decoding on models whose next-token probabilities are set by hand, with the hypotheses
and scores worked out on paper; and on a real Transformer, the decoders' agreement with its own logits."""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from el_jax.models import transformer

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


SOURCE = np.array([[0, 2], [1, 2]], np.int32)


def test_greedy_takes_the_most_probable_token_and_forces_eos_at_max_length():
  # Row 0: a (.6), then a (.4) at every step, EOS forced at the 4th token. Row 1: b (.7), EOS (.8), then padding.
  tokens = np.asarray(transformer.greedy_decode(_bigram(), SOURCE, 4))
  np.testing.assert_array_equal(tokens, [[A, A, A, EOS], [B, EOS, PAD, PAD]])
  np.testing.assert_array_equal(np.asarray(transformer.decode(_bigram(), SOURCE, 4, 1)), tokens)


def test_beam_search_finds_the_hypothesis_greedy_misses():
  # Beam 2. Step 1: b.EOS (.36), a.a (.24), a.EOS (.18), a.b (.18): b.EOS ranks in the best two and is finished with
  # score log(.36) / 2; a.a and a.b stay alive. Step 2: a.b.EOS (.162) ranks first, is finished with log(.162) / 3
  # and completes the two hypotheses. The best is b.EOS.
  tokens, scores = transformer.beam_search(_bigram(), SOURCE[:1], 4, 2)
  np.testing.assert_array_equal(np.asarray(tokens), [[B, EOS, PAD, PAD]])
  np.testing.assert_allclose(np.asarray(scores), [math.log(0.36) / 2], rtol=1e-6)


def test_beam_rows_are_searched_independently():
  tokens, scores = transformer.beam_search(_bigram(), SOURCE, 4, 2)
  np.testing.assert_array_equal(np.asarray(tokens), [[B, EOS, PAD, PAD], [B, EOS, PAD, PAD]])
  np.testing.assert_allclose(np.asarray(scores), [math.log(0.36) / 2, math.log(0.7 * 0.8) / 2], rtol=1e-6)


def test_without_length_normalisation_the_summed_log_probability_ranks():
  # Beam 3, length penalty 0. Step 1 finishes b.EOS (.36) and a.EOS (.18); alive a.a (.24), a.b (.18), b.a (.04).
  # Step 2: a.b.EOS (.162) finishes the third hypothesis. Best summed log-probability: b.EOS.
  tokens, scores = transformer.beam_search(_bigram(), SOURCE[:1], 4, 3, length_penalty=0.0)
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
    transformer.decode(_bigram(), SOURCE, 0, 2)
  with pytest.raises(ValueError, match="beam_size"):
    transformer.beam_search(_bigram(), SOURCE, 4, 0)
  with pytest.raises(ValueError, match="source ids"):
    transformer.decode(_bigram(), SOURCE[0], 4, 2)


def test_stopping_when_every_sentence_is_finished_changes_no_result():
  # Both rows finish their two hypotheses by step 2, so a longer max_length only adds padding.
  short_tokens, short_scores = transformer.beam_search(_bigram(), SOURCE, 4, 2)
  long_tokens, long_scores = transformer.beam_search(_bigram(), SOURCE, 9, 2)
  np.testing.assert_array_equal(np.asarray(long_tokens)[:, :4], np.asarray(short_tokens))
  assert not np.asarray(long_tokens)[:, 4:].any()
  np.testing.assert_allclose(np.asarray(long_scores), np.asarray(short_scores))
