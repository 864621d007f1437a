"""Token-count batches: every batch within its budget of padded tokens, every pair once per epoch, a pure function
of (seed, step) so that a resumed run sees the same batches, and few batch shapes."""

import jax
import numpy as np
import pytest
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from el_jax.data import global_batches, pipeline, token_batches, translation

MAX_TOKENS = 256
PAIRS = 300


def _parallel_text(source_lengths, target_lengths, max_length=64) -> translation.ParallelText:
  """Pairs whose ids encode their index (`source = 4 + index % 50`, target one more), of the given lengths."""
  sources = [np.full(n, 4 + i % 50, np.int32) for i, n in enumerate(source_lengths)]
  targets = [np.full(n, 5 + i % 50, np.int32) for i, n in enumerate(target_lengths)]
  (st, so), (tt, to) = translation._flatten(sources), translation._flatten(targets)
  vocabulary = translation.Dictionary.synthetic(60)
  return translation.ParallelText("tiny", st, so, tt, to, vocabulary, vocabulary, max_length, max_length)


@pytest.fixture(scope="module")
def text():
  # Source and target lengths drawn independently, so that the longer side varies from pair to pair; 1..63 tokens
  # + EOS, skewed to short pairs as sentences are.
  rng = np.random.default_rng(0)
  return _parallel_text(1 + rng.geometric(0.06, PAIRS) % 63, 1 + rng.geometric(0.06, PAIRS) % 63)


@pytest.fixture(scope="module")
def plan(text):
  return token_batches.TokenBatches.for_source(text, max_tokens=MAX_TOKENS, seed=3, multiple=2)


def _tokens(text) -> np.ndarray:
  """fairseq's count of each pair, from the arrays rather than token_lengths: max(source, target) + EOS."""
  return np.array([max(len(s), len(t)) + 1 for s, t in (text.pair(i) for i in range(len(text)))])


def test_bucket_lengths_widen_with_the_length():
  assert token_batches.bucket_lengths(256) == (
    *range(8, 65, 8),
    *range(80, 129, 16),
    *range(160, 257, 32),
  )
  assert token_batches.bucket_lengths(50) == (8, 16, 24, 32, 40, 48, 50)
  assert token_batches.bucket_lengths(5) == (5,)


def test_no_batch_exceeds_its_budget_of_padded_tokens(text, plan):
  tokens = _tokens(text)
  np.testing.assert_array_equal(text.token_lengths(), tokens)
  for epoch in range(3):
    batches = plan.epoch(epoch)
    assert len(batches) == plan.num_batches  # the same number of steps every epoch
    for length, indices in batches:
      assert len(indices) * length <= MAX_TOKENS and len(indices) % 2 == 0  # rows split over 2 devices
      real = indices[indices != token_batches.PAD_ROW]
      assert len(real) and tokens[real].max() <= length
  # Padding stays moderate: the real tokens (max of the sides) fill most of the padded ones.
  padded = sum(length * len(indices) for length, indices in plan.epoch(0))
  assert tokens.sum() / padded > 0.6


def test_every_pair_is_used_exactly_once_per_epoch(text, plan):
  for epoch in range(3):
    used = np.concatenate([indices for _, indices in plan.epoch(epoch)])
    np.testing.assert_array_equal(np.sort(used[used != token_batches.PAD_ROW]), np.arange(len(text)))
  # Empty rows fill at most one batch per bucket, and only where moving the pairs up would cost more.
  empty = [(length, int(np.sum(indices == token_batches.PAD_ROW))) for length, indices in plan.epoch(0)]
  assert len([e for e in empty if e[1]]) <= len(plan.shapes)


def test_the_order_depends_on_the_seed_and_the_epoch_only(text, plan):
  def order(p, epoch):
    return np.concatenate([indices for _, indices in p.epoch(epoch)])

  again = token_batches.TokenBatches.for_source(text, max_tokens=MAX_TOKENS, seed=3, multiple=2)
  other_seed = token_batches.TokenBatches.for_source(text, max_tokens=MAX_TOKENS, seed=4, multiple=2)
  np.testing.assert_array_equal(order(plan, 1), order(again, 1))
  assert not np.array_equal(order(plan, 0), order(plan, 1))
  assert not np.array_equal(order(plan, 0), order(other_seed, 0))
  # The batches' lengths are shuffled too, not visited from the shortest up.
  lengths = [length for length, _ in plan.epoch(0)]
  assert lengths != sorted(lengths)


def test_batches_hold_the_pairs_padded_to_the_bucket_length(text, plan):
  dataset = token_batches.train_dataset(text, plan, num_epochs=2)
  assert len(dataset) == 2 * plan.num_batches
  step = plan.num_batches + 1  # the second epoch's second batch
  length, indices = plan.batch(step)
  batch = dataset[step]
  assert {k: v.shape for k, v in batch.items()} == {k: (len(indices), length) for k in batch}
  for row, i in enumerate(indices):
    if i == token_batches.PAD_ROW:
      assert not batch["label_mask"][row].any()
      continue
    source, target = text.pair(int(i))
    np.testing.assert_array_equal(batch["source"][row, : len(source) + 1], [*source, translation.EOS_ID])
    assert not batch["source"][row, len(source) + 1 :].any()
    np.testing.assert_array_equal(batch["label"][row, : len(target) + 1], [*target, translation.EOS_ID])
    assert batch["label_mask"][row].sum() == len(target) + 1
  assert plan.sentences(step) == int(np.sum(indices != token_batches.PAD_ROW))


def test_a_resumed_run_reads_the_remaining_batches_exactly(text, plan):
  """The loop resumes at a step: a fresh plan (a new process) and a dataset started mid-epoch give the batches an
  uninterrupted run reads from there on."""
  full = list(pipeline.train_batches(token_batches.train_dataset(text, plan, num_epochs=2)))
  fresh = token_batches.TokenBatches.for_source(text, max_tokens=MAX_TOKENS, seed=3, multiple=2)
  start = plan.num_batches // 2  # mid-epoch
  resumed = list(pipeline.train_batches(token_batches.train_dataset(text, fresh, num_epochs=2), start_step=start))
  assert len(resumed) == len(full) - start
  for got, want in zip(resumed, full[start:], strict=True):
    for key in want:
      np.testing.assert_array_equal(got[key], want[key], err_msg=key)


def test_each_process_reads_its_rows_and_one_device_takes_global_batches(text, plan):
  def halves(part):
    return token_batches.train_dataset(
      text, plan, num_epochs=1, rows_of=lambda r: slice(part * r // 2, (part + 1) * r // 2)
    )

  whole = token_batches.train_dataset(text, plan, num_epochs=1)
  for step in (0, plan.num_batches - 1):
    for key, value in whole[step].items():
      np.testing.assert_array_equal(np.concatenate([halves(0)[step][key], halves(1)[step][key]]), value)
  sharding = NamedSharding(Mesh(np.array(jax.devices()[:1]), ("data",)), P("data"))
  with global_batches.train_tokens(text, plan, num_epochs=1, sharding=sharding, start_step=2) as batches:
    batch = next(batches)
    assert isinstance(batch["source"], jax.Array) and batch["source"].sharding == sharding
    np.testing.assert_array_equal(np.asarray(batch["label"]), whole[2]["label"])
  odd = token_batches.TokenBatches.for_source(text, max_tokens=MAX_TOKENS, multiple=3)
  if jax.device_count() == 1:  # rows in multiples of 3 do not split over a mesh of 2 devices; 1 takes anything
    with global_batches.train_tokens(text, odd, num_epochs=1, sharding=sharding) as batches:
      next(batches)


def test_few_shapes_are_compiled(text, plan):
  shapes = {(len(indices), length) for epoch in range(3) for length, indices in plan.epoch(epoch)}
  assert shapes == set(plan.shapes)
  assert len(shapes) <= len(token_batches.bucket_lengths(64)) == 8  # 8..64 in steps of 8
  # rows(L) = floor(256 / L) rounded down to a multiple of the 2 devices
  assert plan.shapes[:3] == ((32, 8), (16, 16), (10, 24))


def test_a_pair_longer_than_the_budget_is_an_error_naming_it():
  text = _parallel_text([3, 5, 2, 39], [4, 3, 2, 7])  # pair 3: 40 tokens with EOS, padded to 40
  with pytest.raises(ValueError, match=r"sentence pair 3 has 40 tokens .* padded to 40; max_tokens=32 cannot hold"):
    token_batches.TokenBatches.for_source(text, max_tokens=32)
  with pytest.raises(
    ValueError, match=r"cannot hold 2 such pair\(s\) \(one per device\). Raise max_tokens to at least 80"
  ):
    token_batches.TokenBatches.for_source(text, max_tokens=64, multiple=2)
  # Pairs 0-2 (6, 7 and 3 tokens) fill 3 of the 5 rows of a batch of 8 (40 tokens), cheaper than moving them up
  # to 40 (120 tokens); pair 3 is a batch of its own.
  assert token_batches.TokenBatches.for_source(text, max_tokens=40).num_batches == 2
  with pytest.raises(TypeError, match="token_lengths"):
    token_batches.TokenBatches.for_source(np.zeros(3), max_tokens=40)
