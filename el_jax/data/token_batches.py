"""Token-count batches of parallel text: sentence pairs grouped by length, each batch within a budget of tokens.

The EL paper trains its translation models "with each batch has 16K tokens" (IWSLT14 De-En) and "4K tokens" (IWSLT17
Fr-En) (appendix B.1, Table 1's runs): fairseq's `--max-tokens 4096`, with `--update-freq 4` for De-En. fairseq
counts a sentence pair as `max(source, target)` tokens, EOS included (`num_tokens`), and a batch as its number of
pairs times its longest pair's count; the same count is used here:

    padded tokens of a batch = rows x L <= max_tokens,

where `L` is the batch's padded length and `rows` its number of pairs (padding rows included). Source, `target_in`,
`label` and `label_mask` are all padded to `L`, so each side of a batch holds `rows x L` tokens.

Layout:
  * buckets: a pair of `n` tokens is padded to the smallest bucket length `L >= n` (`bucket_lengths`: multiples of
    8 up to 64, of 16 up to 128, of 32 up to 256, ..., so padding adds at most a quarter above 32 tokens, and at
    most 16 lengths cover 1..256 tokens). Only the buckets that hold a pair are used;
  * rows: a batch of bucket `L` has `rows(L) = floor(max_tokens / L)` rows, rounded down to a multiple of
    `multiple` (the devices the batch is split over, so every device holds `rows(L) / multiple` pairs of `L`
    tokens). A batch shape is `(rows(L), L)`, one per used bucket: XLA compiles at most that many train steps;
  * an epoch (seeded by `(seed, epoch)`): the pairs of each bucket are shuffled, from the shortest bucket up; full
    batches of `rows(L)` are cut, and the `k < rows(L)` pairs left over either move up to the next used bucket
    `L'`, padded to its length, when that costs fewer tokens (`k L' < rows(L) L`), or else make one batch of `L`
    whose last rows are empty (`label_mask` False everywhere: no loss, no accuracy); the last bucket's leftovers
    always make such a batch. Then the order of the batches is shuffled. Which leftovers move depends only on the
    bucket sizes, so every epoch has the same `num_batches`, every pair is used exactly once per epoch, and batch
    `s` of a run is a pure function of `(seed, s)`: a run resumed at step `s` trains on exactly the batches an
    uninterrupted one would.

A pair longer than the budget allows (`multiple` pairs of its bucket length exceed `max_tokens`) raises a
ValueError naming it and the setting to change.
"""

import dataclasses
import functools
import threading

import grain
import numpy as np

from el_jax.data import translation

__all__ = ["TokenBatches", "bucket_lengths", "train_dataset"]

PAD_ROW = -1  # the index of an empty row in a batch's indices


def bucket_lengths(max_length: int, *, min_width: int = 8) -> tuple[int, ...]:
  """Padded lengths covering 1..`max_length` tokens: steps of `max(min_width, 2^floor(log2 L) / 4)` from
  `min_width` (8, 16, ..., 64, 80, ..., 128, 160, ..., 256, 320, ...), the last one `max_length` itself.

  Widths that grow with the length bound the padding of a pair of `n > 4 min_width` tokens to under `n / 4`,
  while 1..256 tokens take 16 lengths (multiples of 8 would take 32)."""
  if int(max_length) != max_length or max_length < 1:
    raise ValueError(f"max_length must be a positive integer, got {max_length!r}.")
  lengths, length = [], min_width
  while length < max_length:
    lengths.append(length)
    length += max(min_width, (1 << (length.bit_length() - 1)) // 4)
  return (*lengths, int(max_length))


@dataclasses.dataclass(frozen=True, eq=False)
class TokenBatches:
  """The token-count batches of a training set: `batch(step)` is `(L, indices)` for every step of every epoch.

  Attributes:
    lengths: int `[N]`, each pair's tokens, `max(source, target)` with EOS (`ParallelText.token_lengths`).
    max_tokens: the budget of padded tokens per batch (rows x L).
    seed: the data order's seed.
    multiple: batch rows are a multiple of this (the devices a batch is split over).
    buckets: the candidate padded lengths (default `bucket_lengths(max(lengths))`).
    name: the source's name, for error messages.
  """

  lengths: np.ndarray
  max_tokens: int
  seed: int = 0
  multiple: int = 1
  buckets: tuple | None = None
  name: str = ""

  def __post_init__(self):
    lengths = np.asarray(self.lengths, np.int64)
    if lengths.ndim != 1 or not len(lengths) or lengths.min() < 1:
      raise ValueError(f"{self.name}: lengths must be a non-empty list of positive token counts.")
    for key in ("max_tokens", "multiple"):
      value = getattr(self, key)
      if int(value) != value or value < 1:
        raise ValueError(f"{key} must be a positive integer, got {value!r}.")
    if self.seed < 0:
      raise ValueError(f"seed must be non-negative, got {self.seed}.")
    buckets = np.asarray(sorted(self.buckets or bucket_lengths(int(lengths.max()))), np.int64)
    if lengths.max() > buckets[-1]:
      raise ValueError(f"{self.name}: a pair of {lengths.max()} tokens exceeds the longest bucket, {buckets[-1]}.")
    bucket = np.searchsorted(buckets, lengths)  # the smallest bucket length >= each pair's
    used = np.unique(bucket)
    rows = (self.max_tokens // buckets[used]) // self.multiple * self.multiple
    if not rows.all():
      b = int(np.argmin(rows > 0))
      i = int(np.flatnonzero(bucket == used[b])[np.argmax(lengths[bucket == used[b]])])
      raise ValueError(
        f"{self.name}: sentence pair {i} has {lengths[i]} tokens (max of source and target, EOS included), padded "
        f"to {buckets[used[b]]}; max_tokens={self.max_tokens} cannot hold {self.multiple} such pair(s) (one per "
        f"device). Raise max_tokens to at least {self.multiple * buckets[used[b]]}, or drop such pairs by lowering "
        "dataset.options.max_source_length / max_target_length with skip_too_long=True."
      )
    object.__setattr__(self, "lengths", lengths)
    object.__setattr__(self, "_bucket", np.searchsorted(used, bucket))  # each pair's index among the used buckets
    object.__setattr__(self, "padded_lengths", tuple(int(x) for x in buckets[used]))
    object.__setattr__(self, "rows", tuple(int(r) for r in rows))
    # Batches per bucket, from the counts only: the pairs left over in a bucket move up to the next when padding
    # them to its length costs fewer tokens than a batch of this bucket with empty rows, else they make that batch.
    counts, carried, num_batches, carry = np.bincount(self._bucket, minlength=len(used)), 0, 0, []
    for b, (count, r) in enumerate(zip(counts, self.rows, strict=True)):
      pool = carried + int(count)
      num_batches += pool // r
      carried = pool % r
      carry.append(b + 1 < len(used) and carried * int(buckets[used[b + 1]]) < r * int(buckets[used[b]]))
      if carried and not carry[-1]:
        num_batches, carried = num_batches + 1, 0
    object.__setattr__(self, "_carry", tuple(carry))
    object.__setattr__(self, "num_batches", int(num_batches))
    object.__setattr__(self, "_lock", threading.Lock())

  @classmethod
  def for_source(cls, source, *, max_tokens: int, seed: int = 0, multiple: int = 1, buckets=None) -> "TokenBatches":
    """The batches of a translation source (`el_jax.data.translation`: anything with `token_lengths()`)."""
    if not hasattr(source, "token_lengths"):
      raise TypeError(
        f"{getattr(source, 'name', source)!r} has no token_lengths(): token-count batches take parallel text "
        "(translation:<dataset>); use batching by sentences (max_tokens=None) for other data."
      )
    return cls(source.token_lengths(), max_tokens, seed, multiple, buckets, getattr(source, "name", ""))

  @property
  def shapes(self) -> tuple[tuple[int, int], ...]:
    """The `(rows, L)` batch shapes, one per used bucket."""
    return tuple(zip(self.rows, self.padded_lengths, strict=True))

  def epoch(self, epoch: int) -> list[tuple[int, np.ndarray]]:
    """Epoch `epoch`'s batches in training order: `(L, indices)` with `indices` int64 `[rows(L)]`, `PAD_ROW` on
    empty rows."""
    with self._lock:  # grain reads batches from several threads
      return self._epoch(int(epoch))

  @functools.lru_cache(maxsize=2)  # noqa: B019 (the instance lives as long as the run)
  def _epoch(self, epoch: int) -> list[tuple[int, np.ndarray]]:
    rng = np.random.default_rng((self.seed, epoch))
    batches, carried = [], np.zeros(0, np.int64)
    for b, (r, length) in enumerate(self.shapes):
      pool = np.concatenate([carried, np.flatnonzero(self._bucket == b)])
      pool = pool[rng.permutation(len(pool))]
      full = len(pool) // r * r
      batches += [(length, chunk) for chunk in pool[:full].reshape(-1, r)]
      carried = pool[full:]
      if len(carried) and not self._carry[b]:  # one batch of this bucket, its last rows empty
        batches.append((length, np.concatenate([carried, np.full(r - len(carried), PAD_ROW, np.int64)])))
        carried = carried[:0]
    return [batches[i] for i in rng.permutation(len(batches))]

  def batch(self, step: int) -> tuple[int, np.ndarray]:
    """`(L, indices)` of training step `step` (0-based, counted over epochs)."""
    epoch, index = divmod(int(step), self.num_batches)
    return self.epoch(epoch)[index]

  def sentences(self, step: int) -> int:
    """The sentence pairs (non-empty rows) of step `step`'s batch."""
    return int(np.count_nonzero(self.batch(step)[1] != PAD_ROW))


def _empty_record(length: int) -> dict:
  record = translation.padded_record(np.zeros(0, np.int32), np.zeros(0, np.int32), length, length)
  record["label_mask"][:] = False  # an empty row: no label counts
  return record


def train_dataset(source, plan: TokenBatches, *, num_epochs: int, rows_of=None) -> grain.MapDataset:
  """Element `s` is the batch of training step `s` (`source`, `target_in`, `label`, `label_mask`, `[rows, L]`).

  `rows_of(global_rows) -> slice` picks the rows this process reads of a batch of `global_rows` (default: all).
  """
  if num_epochs < 1:
    raise ValueError(f"num_epochs must be >= 1, got {num_epochs}.")

  def read(step):
    length, indices = plan.batch(step)
    if rows_of is not None:
      indices = indices[rows_of(len(indices))]
    records = [
      _empty_record(length) if i == PAD_ROW else translation.padded_record(*source.pair(int(i)), length, length)
      for i in indices
    ]
    return {key: np.stack([r[key] for r in records]) for key in records[0]}

  return grain.MapDataset.range(plan.num_batches * num_epochs).map(read)
