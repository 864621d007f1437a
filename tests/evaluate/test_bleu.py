"""Corpus BLEU against examples worked by hand and against sacrebleu; BLEU of a decoded test set."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from el_jax.data import translation
from el_jax.evaluate import bleu


def test_modified_precision_clips_counts_papineni_example():
  # Papineni et al. (2002), §2.1: "the" x 7 against "the cat is on the mat": p_1 = 2/7, no bigram matches.
  score = bleu.corpus_bleu(["the the the the the the the"], ["the cat is on the mat"])
  assert score.precisions[0] == pytest.approx(2 / 7)
  assert score.precisions[1] == 0.0 and score.score == 0.0


def test_corpus_bleu_sums_counts_over_sentences():
  # Sentence 1: unigrams 5/6, bigrams 3/5, trigrams 1/4, 4-grams 0/3; sentence 2: 4/5, 3/4, 2/3, 1/2.
  # Corpus: p = 9/11, 6/9, 3/7, 1/5; 11 hypothesis and 11 reference words, so BP = 1.
  score = bleu.corpus_bleu(["the cat sat on the mat", "a b c d e"], ["the cat is on the mat", "a b c d f"])
  np.testing.assert_allclose(score.precisions, [9 / 11, 6 / 9, 3 / 7, 1 / 5])
  assert score.brevity_penalty == 1.0 and (score.hypothesis_length, score.reference_length) == (11, 11)
  assert score.score == pytest.approx(100 * (9 / 11 * 6 / 9 * 3 / 7 * 1 / 5) ** 0.25)


def test_brevity_penalty_punishes_short_hypotheses_only():
  short = bleu.corpus_bleu(["a b c d"], ["a b c d e f"])  # c = 4, r = 6: exp(1 - 6/4)
  assert short.precisions == (1.0, 1.0, 1.0, 1.0)
  assert short.score == pytest.approx(100 * math.exp(-0.5))
  long = bleu.corpus_bleu(["a b c d e f g"], ["a b c d e f"])
  assert long.brevity_penalty == 1.0
  assert bleu.corpus_bleu([""], ["a b"]).score == 0.0
  assert bleu.corpus_bleu(["a b c d"], ["a b c d"]).score == pytest.approx(100.0)


def test_mismatched_inputs_are_named():
  with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
    bleu.corpus_bleu(["a", "b"], ["a"])


def test_agrees_with_sacrebleu_on_random_corpora():
  import sacrebleu  # a dev dependency (pyproject.toml)

  rng = np.random.default_rng(0)
  words = [f"w{i}" for i in range(6)]
  for _ in range(5):
    refs = [" ".join(rng.choice(words, rng.integers(3, 15))) for _ in range(20)]
    hyps = [" ".join(rng.choice(words, rng.integers(1, 15))) for _ in range(20)]
    ours = bleu.corpus_bleu(hyps, refs)
    theirs = sacrebleu.corpus_bleu(hyps, [refs], tokenize="none", smooth_method="none", force=True)
    assert ours.score == pytest.approx(theirs.score, abs=1e-9)
    np.testing.assert_allclose(np.array(ours.precisions) * 100, theirs.precisions, atol=1e-9)
    assert ours.brevity_penalty == pytest.approx(theirs.bp)


class Copy(nnx.Module):
  """Predicts, at target position `t`, source token `t` (its source's ids then EOS are the reference)."""

  def __init__(self, vocab: int):
    self.vocab = vocab

  def encode(self, source):
    return source

  def decode_logits(self, target_in, encoded):
    length = target_in.shape[1]
    ids = jnp.pad(encoded, ((0, 0), (0, length)))[:, :length]
    return 10.0 * jax.nn.one_hot(ids, self.vocab)


class Silent(Copy):
  def decode_logits(self, target_in, encoded):
    return 10.0 * jax.nn.one_hot(jnp.full(target_in.shape, translation.EOS_ID), self.vocab)


def _copy_task(tmp_path, lines):
  (tmp_path / "dict.de.txt").write_text("ein 3\nhaus@@ 2\nboot 1\nist 1\n")
  (tmp_path / "dict.en.txt").write_text("ein 3\nhaus@@ 2\nboot 1\nist 1\n")
  (tmp_path / "test.de").write_text(lines)
  (tmp_path / "test.en").write_text(lines)
  return translation.load(
    "iwslt14_de_en",
    "test",
    data_dir=str(tmp_path),
    source_vocab_size=8,
    target_vocab_size=8,
    max_source_length=8,
    max_target_length=8,
  )


def test_translation_bleu_decodes_removes_bpe_and_scores(tmp_path):
  source = _copy_task(tmp_path, "ein haus@@ boot ist ein boot\nein boot ist ein haus@@ boot\nist ein boot\n")
  score, hypotheses = bleu.translation_bleu(Copy(8), source, beam_size=2, batch_size=2)
  assert hypotheses == ["ein hausboot ist ein boot", "ein boot ist ein hausboot", "ist ein boot"]
  assert score.score == pytest.approx(100.0)
  score, hypotheses = bleu.translation_bleu(Silent(8), source, beam_size=1, batch_size=4)
  assert hypotheses == ["", "", ""] and score.score == 0.0


def test_unknown_words_never_match(tmp_path):
  source = _copy_task(tmp_path, "ein haus@@ boot ist ein hund\n")  # "hund" is unknown
  score, hypotheses = bleu.translation_bleu(Copy(8), source, beam_size=2)
  assert hypotheses == ["ein hausboot ist ein <unk>"]
  assert score.precisions[0] == pytest.approx(4 / 5)
