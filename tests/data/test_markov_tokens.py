"""el_jax.data.markov_tokens, the language models' token stream: its transition matrix against the closed form (sparse,
doubly stochastic, uniform stationary distribution, entropy rate H(w)), the windows' empirical statistics against
the matrix, the records' layout, determinism, option checks and registration."""

import math

import numpy as np
import pytest

from el_jax import data
from el_jax.data import markov_tokens, pipeline

V = 17  # 16 states: a small chain whose every transition is seen often in a few hundred windows
W = (0.5, 0.25, 0.125, 0.125)


def _source(**options):
  return data.load("markov_tokens", "train", **({"vocab_size": V, "seq_length": 32} | options))


def test_the_transition_matrix_is_sparse_doubly_stochastic_with_the_successor_probabilities():
  matrix = _source().transition_matrix()
  assert matrix.shape == (V, V)
  assert not matrix[0].any() and not matrix[:, 0].any()  # padding neither follows nor is followed
  states = matrix[1:, 1:]
  np.testing.assert_allclose(states.sum(axis=1), 1.0)
  np.testing.assert_allclose(states.sum(axis=0), 1.0)  # doubly stochastic
  for row in states:
    np.testing.assert_allclose(np.sort(row[row > 0]), np.sort(W))  # 4 distinct successors with probabilities w
  # The stationary distribution (left eigenvector of eigenvalue 1) is uniform, and the entropy rate
  # sum_s pi_s H(P[s]) is H(w) = 1.75 bits.
  values, vectors = np.linalg.eig(states.T)
  stationary = np.real(vectors[:, np.argmin(np.abs(values - 1.0))])
  np.testing.assert_allclose(stationary / stationary.sum(), np.full(V - 1, 1 / (V - 1)), atol=1e-9)
  logs = np.log(np.where(states > 0, states, 1.0))
  rate = -np.sum(stationary / stationary.sum() * np.sum(states * logs, axis=1))
  assert rate == pytest.approx(1.75 * math.log(2), rel=1e-12)
  assert _source().entropy_rate == pytest.approx(1.75 * math.log(2), rel=1e-12)
  assert _source().unigram_entropy == pytest.approx(math.log(16))


def _windows(source, count):
  records = [source[i] for i in range(count)]
  return np.stack([r["tokens"] for r in records]), np.stack([r["label"] for r in records])


def test_the_windows_follow_the_chain():
  source = _source()
  tokens, labels = _windows(source, 400)  # 400 x 32 = 12,800 transitions, about 800 from each state
  counts = np.zeros((V, V))
  np.add.at(counts, (tokens.ravel(), labels.ravel()), 1)
  matrix = source.transition_matrix()
  assert not counts[matrix == 0].any()  # no transition outside the chain's
  visits = counts.sum(axis=1, keepdims=True)[1:]
  frequencies, expected = counts[1:] / visits, matrix[1:]
  z = np.abs(frequencies - expected) / np.sqrt(np.maximum(expected * (1 - expected), 1e-12) / visits)
  assert z.max() < 4.5, z.max()  # each frequency within 4.5 binomial standard deviations of P[s, u]
  # The first tokens are uniform over the 16 states (chi-square, 15 degrees of freedom; 37.7 is its 0.999 quantile).
  first = np.bincount(tokens[:, 0], minlength=V)[1:]
  assert first.sum() == 400 and ((first - 25.0) ** 2 / 25.0).sum() < 37.7
  # The empirical conditional entropy approaches the entropy rate.
  logs = np.log(np.where(frequencies > 0, frequencies, 1.0))
  empirical_rate = -np.sum(visits[:, 0] / visits.sum() * np.sum(frequencies * logs, axis=1))
  assert empirical_rate == pytest.approx(1.75 * math.log(2), abs=0.02)


def test_a_record_is_a_window_shifted_by_one():
  source = _source()
  record = source[5]
  assert set(record) == {"tokens", "label", "label_mask"}
  assert record["tokens"].shape == record["label"].shape == (32,) and record["tokens"].dtype == np.int32
  np.testing.assert_array_equal(record["tokens"][1:], record["label"][:-1])
  assert record["label_mask"].dtype == bool and record["label_mask"].all()
  assert (record["tokens"] >= 1).all() and (record["label"] < V).all()  # never padding
  assert source.input_shape == {"tokens": (32,)} and source.num_classes == V
  assert len(source) == markov_tokens.SIZES["train"] and len(source.take(10)) == 10


def test_windows_depend_on_the_seed_and_split_only():
  source = _source()
  np.testing.assert_array_equal(source[7]["tokens"], _source()[7]["tokens"])
  assert not np.array_equal(source[7]["tokens"], source[8]["tokens"])
  validation = data.load("markov_tokens", "validation", vocab_size=V, seq_length=32)
  assert not np.array_equal(source[7]["tokens"], validation[7]["tokens"])
  np.testing.assert_array_equal(source.transition_matrix(), validation.transition_matrix())  # one chain
  assert not np.array_equal(source.transition_matrix(), _source(seed=1).transition_matrix())


def test_bad_options_are_named():
  with pytest.raises(ValueError, match="vocab_size must be an integer >= 3"):
    _source(vocab_size=2)
  with pytest.raises(ValueError, match="seq_length must be an integer >= 1"):
    _source(seq_length=0)
  with pytest.raises(ValueError, match="summing to 1"):
    _source(successor_probs=(0.5, 0.4))
  with pytest.raises(ValueError, match=r"need at least 4 states \(vocab_size >= 5\)"):
    _source(vocab_size=4)
  with pytest.raises(ValueError, match="no split 'valid'"):
    data.load("markov_tokens", "valid")


def test_it_is_registered_and_feeds_the_pipeline():
  assert "markov_tokens" in data.names() and data.normalization("markov_tokens") is None
  with pytest.raises(ValueError, match="it has no stand-in; use .markov_tokens., not .synthetic:markov_tokens."):
    data.load("synthetic:markov_tokens", "train")
  batch = pipeline.train_dataset(_source().take(64), batch_size=8, seed=0, num_epochs=1)[2]
  assert batch["tokens"].shape == batch["label"].shape == (8, 32) and batch["label_mask"].all()
