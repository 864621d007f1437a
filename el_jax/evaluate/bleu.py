"""Corpus BLEU (Papineni et al., 2002) and the BLEU of a translation model on a test set.

For hypotheses `h_i` and references `r_i` (whitespace-separated tokens), n = 1..N (N = 4):

  p_n  = sum_i sum_{g in ngrams_n(h_i)} min(count_{h_i}(g), count_{r_i}(g)) / sum_i |ngrams_n(h_i)|
         (modified n-gram precision: each hypothesis n-gram counts at most as often as in its reference)
  BP   = 1 if c > r else exp(1 - r / c),  c = sum_i |h_i|, r = sum_i |r_i|   (brevity penalty; 0 when c = 0)
  BLEU = 100 * BP * exp((1 / N) sum_n log p_n)   (0 when some p_n is 0; no smoothing)

This is sacrebleu's `corpus_bleu(..., tokenize="none", smooth_method="none")` and, on the tokenised text that
fairseq's `generate.py --remove-bpe` scores, fairseq's "tokenized BLEU" that the EL paper reports (appendix B.1).
"""

import collections
import dataclasses
import math

import jax.numpy as jnp
import numpy as np

from el_jax.data import translation
from el_jax.models import transformer


@dataclasses.dataclass(frozen=True)
class BleuScore:
  """`score` in [0, 100], the modified precisions `p_1..p_N` (in [0, 1]), the brevity penalty and the lengths."""

  score: float
  precisions: tuple[float, ...]
  brevity_penalty: float
  hypothesis_length: int
  reference_length: int


def _ngrams(tokens: list[str], n: int) -> collections.Counter:
  return collections.Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def corpus_bleu(hypotheses: list[str], references: list[str], *, max_order: int = 4) -> BleuScore:
  """Corpus BLEU of `hypotheses` against one reference each (see the module docstring)."""
  if len(hypotheses) != len(references):
    raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references; give one reference each.")
  if max_order < 1:
    raise ValueError(f"max_order must be at least 1, got {max_order}.")
  matches, totals = np.zeros(max_order, np.int64), np.zeros(max_order, np.int64)
  hyp_length = ref_length = 0
  for hypothesis, reference in zip(hypotheses, references, strict=True):
    hyp, ref = hypothesis.split(), reference.split()
    hyp_length, ref_length = hyp_length + len(hyp), ref_length + len(ref)
    for n in range(1, max_order + 1):
      hyp_counts, ref_counts = _ngrams(hyp, n), _ngrams(ref, n)
      matches[n - 1] += sum(min(count, ref_counts[gram]) for gram, count in hyp_counts.items())
      totals[n - 1] += max(0, len(hyp) - n + 1)
  precisions = tuple(float(m / t) if t else 0.0 for m, t in zip(matches, totals, strict=True))
  if hyp_length == 0:
    penalty = 0.0
  else:
    penalty = 1.0 if hyp_length > ref_length else math.exp(1.0 - ref_length / hyp_length)
  if min(precisions) == 0.0:
    score = 0.0
  else:
    score = 100.0 * penalty * math.exp(sum(math.log(p) for p in precisions) / max_order)
  return BleuScore(score, precisions, penalty, hyp_length, ref_length)


def translation_bleu(
  model,
  source,
  *,
  beam_size: int = 5,
  batch_size: int = 64,
  max_length: int | None = None,
  count: int | None = None,
) -> tuple[BleuScore, list[str]]:
  """`(BLEU, hypotheses)`: translates every sentence of a translation `source` (`el_jax.data.translation`) with
  `transformer.decode(model, ..., beam_size)` and scores the hypotheses against the references.

  Hypotheses and references are the target dictionary's tokens with the BPE removed (fairseq's `--remove-bpe`); an
  unknown word in a reference is written `<<unk>>`, so it never matches. `max_length` bounds the generated tokens
  including EOS (default: the source's `max_target_length`); `count` scores the first `count` sentences only.
  Batches are padded to `batch_size` rows, so decoding compiles once.
  """
  size = len(source) if count is None else min(count, len(source))
  max_length = max_length or source.max_target_length
  target_dictionary, bpe = source.target_dictionary, getattr(source, "bpe", "none")
  hypotheses, references = [], []
  for start in range(0, size, batch_size):
    records = [source[i] for i in range(start, min(start + batch_size, size))]
    rows = np.stack([r["source"] for r in records])
    rows = np.concatenate([rows, np.zeros((batch_size - len(rows), rows.shape[1]), rows.dtype)])
    rows[len(records) :, 0] = translation.EOS_ID  # padding rows: an empty sentence
    output = np.asarray(transformer.decode(model, jnp.asarray(rows), max_length, beam_size))
    for record, ids in zip(records, output, strict=False):
      hypotheses.append(translation.remove_bpe(target_dictionary.string(ids), bpe))
      reference = target_dictionary.string(record["label"], escape_unk=True)
      references.append(translation.remove_bpe(reference, bpe))
  return corpus_bleu(hypotheses, references), hypotheses
