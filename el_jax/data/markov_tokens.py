"""A synthetic token stream for language modelling: windows of a sparse random Markov chain whose best achievable
loss is known in closed form.

`load(split, vocab_size=..., seq_length=..., successor_probs=..., seed=...)` (`el_jax.data.load("markov_tokens",
split, ...)`) returns a `Source` whose record `i` is a window `x_0 .. x_T` of the chain, `T = seq_length`:
  tokens      int32 `[T]`: `x_0 .. x_{T-1}`, the model's input
  label       int32 `[T]`: `x_1 .. x_T` (`tokens` shifted left by one: position `t` predicts the next token)
  label_mask  bool  `[T]`: all True (fixed-length windows, no padding)
and `num_classes = vocab_size`. Records are generated on demand from `(seed, split, i)`, so a source takes no
memory and `source[i]` is the same on every call; the splits are different windows of the same chain.

The chain (options `vocab_size` V, `successor_probs` `w = (w_0, ..., w_{k-1})`, `seed`): its states are the ids
`1 .. V-1` (id 0 is padding, never generated), `n = V - 1` of them. Two random permutations `sigma`, `tau` of the
states, drawn from `seed` alone, give each state its `k` successors:

    x_{t+1} = tau[(sigma[x_t] + j) mod n]  with probability w_j,  j = 0 .. k-1.

The transition matrix `P[s, tau[(sigma[s] + j) mod n]] = w_j` has `k` non-zeros a row, all distinct (`k <= n`),
and is doubly stochastic (for each `j`, `s -> tau[(sigma[s] + j) mod n]` is a permutation), so:
  * the stationary distribution is uniform; every window starts at a uniform state, so the token at every position
    is uniform: the unigram entropy is `log n`, the best loss of a model that ignores the context;
  * the entropy rate is `H(w) = -sum_j w_j log w_j`: the best achievable loss (cross-entropy per token, in nats) of
    any model, reached by one that reads the current token. The default `w = (1/2, 1/4, 1/8, 1/8)` gives
    `H = 1.75 bits = 1.75 ln 2 = 1.2130 nats`, against `log 1023 = 6.93` nats for V = 1024.
`MarkovTokens.transition_matrix()`, `.entropy_rate` and `.unigram_entropy` give these numbers.
"""

import dataclasses
import functools
import math

import numpy as np

from el_jax.data.synthetic import GeneratedRecords

PAD_ID = 0
SUCCESSOR_PROBS = (0.5, 0.25, 0.125, 0.125)  # entropy rate 1.75 bits
SIZES = {"train": 1_000_000, "validation": 10_000, "test": 10_000}  # windows per split (generated on demand)
_SPLIT_IDS = {"train": 0, "validation": 1, "test": 2}
_CHAIN_STREAM = 7_340_033  # a constant mixed into the chain's seed, so that it differs from every record's stream


@dataclasses.dataclass(frozen=True, eq=False)
class MarkovTokens(GeneratedRecords):
  """`size` windows of `seq_length + 1` tokens of the chain of `vocab_size`, `successor_probs` and `seed` (see the
  module docstring); window `i` depends only on `(seed, split, i)`."""

  name: str
  vocab_size: int
  seq_length: int
  successor_probs: tuple[float, ...]
  size: int
  split_id: int = 0
  seed: int = 0
  unit = "sequences"

  @property
  def num_classes(self) -> int:
    return self.vocab_size

  @property
  def input_shape(self) -> dict:
    return {"tokens": (self.seq_length,)}

  @functools.cached_property
  def successors(self) -> np.ndarray:
    """int32 `[V, k]`: `successors[s, j]` is the token that follows `s` with probability `w_j` (row 0, padding's,
    is unused and holds zeros)."""
    n, k = self.vocab_size - 1, len(self.successor_probs)
    rng = np.random.default_rng((self.seed, _CHAIN_STREAM))  # the chain: the seed's, the same for every split
    sigma, tau = rng.permutation(n), rng.permutation(n)
    table = tau[(sigma[:, None] + np.arange(k)[None, :]) % n] + 1  # states are ids 1 .. n
    return np.concatenate([np.zeros((1, k), np.int64), table]).astype(np.int32)

  @functools.cached_property
  def _cdf(self) -> np.ndarray:
    return np.cumsum(self.successor_probs)

  def transition_matrix(self) -> np.ndarray:
    """float64 `[V, V]`: `P[s, u]`, the probability that `u` follows `s` (row and column 0, padding's, are 0)."""
    matrix = np.zeros((self.vocab_size, self.vocab_size))
    rows = np.arange(1, self.vocab_size)[:, None]
    matrix[rows, self.successors[1:]] = np.asarray(self.successor_probs)[None, :]
    return matrix

  @property
  def entropy_rate(self) -> float:
    """`H(w) = -sum_j w_j log w_j` nats: the chain's entropy rate, the best achievable loss per token."""
    return float(-sum(p * math.log(p) for p in self.successor_probs))

  @property
  def unigram_entropy(self) -> float:
    """`log(V - 1)` nats: the entropy of one token (uniform over the states), the best loss without context."""
    return math.log(self.vocab_size - 1)

  def __getitem__(self, index: int) -> dict:
    rng = self.record_rng(int(index))
    choices = np.minimum(np.searchsorted(self._cdf, rng.random(self.seq_length), side="right"), len(self._cdf) - 1)
    window = np.empty(self.seq_length + 1, np.int32)
    window[0] = rng.integers(1, self.vocab_size)  # uniform: the stationary distribution
    successors = self.successors
    for t, j in enumerate(choices):
      window[t + 1] = successors[window[t], j]
    return {"tokens": window[:-1], "label": window[1:], "label_mask": np.ones(self.seq_length, bool)}


def _check(vocab_size, seq_length, successor_probs) -> tuple[float, ...]:
  """The successor probabilities as a tuple of floats; a ValueError naming the option that is out of range."""
  for option, value, least in (("vocab_size", vocab_size, 3), ("seq_length", seq_length, 1)):
    if isinstance(value, bool) or int(value) != value or value < least:
      raise ValueError(f"markov_tokens: option {option} must be an integer >= {least}, got {value!r}.")
  probs = tuple(float(p) for p in successor_probs)
  if not probs or min(probs) <= 0.0 or abs(sum(probs) - 1.0) > 1e-6:
    raise ValueError(
      f"markov_tokens: option successor_probs must be positive probabilities summing to 1, got {successor_probs!r}."
    )
  if len(probs) > vocab_size - 1:
    raise ValueError(
      f"markov_tokens: {len(probs)} successors per token need at least {len(probs)} states (vocab_size >= "
      f"{len(probs) + 1}), got vocab_size={vocab_size}; raise vocab_size or give fewer successor_probs."
    )
  return probs


def load(
  split: str,
  *,
  vocab_size: int = 1024,
  seq_length: int = 64,
  successor_probs=SUCCESSOR_PROBS,
  seed: int = 0,
) -> MarkovTokens:
  """Split `split` ("train", "validation" or "test") of the token stream; see the module docstring."""
  if split not in SIZES:
    raise ValueError(f"markov_tokens has no split {split!r}; valid: {', '.join(SIZES)}.")
  probs = _check(vocab_size, seq_length, successor_probs)
  return MarkovTokens(
    f"markov_tokens/{split}", int(vocab_size), int(seq_length), probs, SIZES[split], _SPLIT_IDS[split], int(seed)
  )
