"""Calibration: expected calibration error and the reliability diagram's bins (Guo et al., 2017).

Confidence is the maximum softmax probability and a prediction is correct when its argmax is the label.
The `M` bins are equal-width intervals `(lo, hi]` with edges `linspace(0, 1, M + 1)`: a confidence of exactly 1.0
falls in the last bin, and a confidence equal to an inner edge in the bin that edge closes. (Softmax confidences
are at least `1/K > 0`; a confidence of exactly 0 is put in the first bin.)
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from el_jax.evaluate.metrics import correct


def _check(probs, labels):
  probs, labels = np.asarray(probs), np.asarray(labels)
  if probs.ndim != 2 or labels.shape != probs.shape[:1]:
    raise ValueError(f"probs must be [N, K] and labels [N], got shapes {probs.shape} and {labels.shape}.")
  if len(labels) == 0:
    raise ValueError("calibration needs at least one example, got none.")
  if np.any(probs < 0) or np.any(probs > 1):
    raise ValueError("probs must lie in [0, 1]: pass softmax probabilities, not logits.")


def bin_index(confidence, num_bins: int):
  """The bin `(lo, hi]` of each confidence: `i` such that `edges[i] < c <= edges[i + 1]` (0 for `c = 0`)."""
  edges = jnp.linspace(0.0, 1.0, num_bins + 1)
  return jnp.searchsorted(edges[1:-1], confidence, side="left")


def reliability_bins(probs, labels, num_bins: int = 15) -> dict:
  """Per-bin `count`, mean `confidence` and `accuracy` (NaN in an empty bin), and the bin `edges`."""
  _check(probs, labels)
  if num_bins < 1:
    raise ValueError(f"num_bins must be >= 1, got {num_bins}.")
  counts, conf_sums, hit_sums = _bin_sums(jnp.asarray(probs), jnp.asarray(labels), num_bins)
  counts, conf_sums, hit_sums = (np.asarray(a, np.float64) for a in (counts, conf_sums, hit_sums))
  with np.errstate(invalid="ignore", divide="ignore"):
    return {
      "edges": np.linspace(0.0, 1.0, num_bins + 1),
      "count": counts.astype(np.int64),
      "confidence": np.where(counts > 0, conf_sums / counts, np.nan),
      "accuracy": np.where(counts > 0, hit_sums / counts, np.nan),
    }


@functools.partial(jax.jit, static_argnames="num_bins")
def _bin_sums(probs, labels, num_bins):
  confidence = jnp.max(probs, axis=-1)
  hits = correct(probs, labels).astype(jnp.float32)  # the argmax of the probabilities is the logits' argmax
  bins = bin_index(confidence, num_bins)
  counts = jnp.zeros(num_bins).at[bins].add(1.0)
  return counts, jnp.zeros(num_bins).at[bins].add(confidence), jnp.zeros(num_bins).at[bins].add(hits)


def expected_calibration_error(probs, labels, num_bins: int = 15) -> float:
  r"""ECE :math:`= \sum_b \frac{n_b}{N} \left|\mathrm{acc}_b - \mathrm{conf}_b\right|` over equal-width bins.

  (Guo et al., 2017, Eq. 3; the ECE of EL Table 12.) Bins are `(lo, hi]`; see the module docstring.

  Args:
    probs: `[N, K]` predicted class probabilities.
    labels: `[N]` integer labels.
    num_bins: `M`, the number of bins (15 by default, as in Guo et al.).
  """
  bins = reliability_bins(probs, labels, num_bins)
  counts = bins["count"]
  filled = counts > 0
  gaps = np.abs(bins["accuracy"][filled] - bins["confidence"][filled])
  return float(np.sum(counts[filled] / counts.sum() * gaps))
