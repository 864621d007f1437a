"""Accuracy and likelihood metrics on a model's logits: top-1, per class, many/medium/few-shot, NLL.

All functions take the logits `[N, K]` of every evaluated example (no padding) and integer labels `[N]`.
"""

import jax
import jax.numpy as jnp
import numpy as np

# Kang et al. (2020) split classes by their number of training examples: many (> 100), medium (20 to 100), few (< 20).
MANY_SHOT_MIN = 100
FEW_SHOT_MAX = 20


@jax.jit
def correct(logits, labels, where=None):
  """`argmax_k z_k == y` per example, or per token for per-token labels (ties go to the lowest class index, as
  `argmax` breaks them); False where `where` (bool, the shape of `labels`) is False."""
  hits = jnp.argmax(logits, axis=-1) == labels
  return hits if where is None else hits & where


def accuracy(logits, labels) -> float:
  """Top-1 accuracy: the fraction of examples whose largest logit is the label's."""
  return float(jnp.mean(correct(logits, labels)))


@jax.jit
def nll(logits, labels):
  r"""Per-example negative log-likelihood :math:`-\log p_y = \operatorname{logsumexp}(z) - z_y`."""
  return jax.nn.logsumexp(logits, axis=-1) - jnp.take_along_axis(logits, labels[:, None], axis=-1)[:, 0]


def per_class_accuracy(logits, labels, num_classes: int) -> np.ndarray:
  """Accuracy over the examples of each class `[K]`; NaN for a class with no example."""
  hits = np.asarray(correct(logits, labels), np.float64)
  labels = np.asarray(labels)
  counts = np.bincount(labels, minlength=num_classes)
  sums = np.bincount(labels, weights=hits, minlength=num_classes)
  with np.errstate(invalid="ignore", divide="ignore"):
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def shot_accuracy(logits, labels, train_counts) -> dict:
  """Accuracy on the test examples of many-, medium- and few-shot classes (EL Table 3; Kang et al., 2020).

  A class is many-shot with more than 100 training examples, few-shot with fewer than 20, medium-shot otherwise.
  Each group's accuracy averages over its test examples; a group with no test example is NaN.

  Args:
    logits: `[N, K]`.
    labels: `[N]`.
    train_counts: `[K]` training examples per class.
  """
  train_counts = np.asarray(train_counts)
  group_of_class = np.where(train_counts > MANY_SHOT_MIN, 0, np.where(train_counts < FEW_SHOT_MAX, 2, 1))
  hits = np.asarray(correct(logits, labels))
  groups = group_of_class[np.asarray(labels)]
  out = {}
  for index, name in enumerate(("many", "medium", "few")):
    chosen = groups == index
    out[name] = float(hits[chosen].mean()) if chosen.any() else float("nan")
  return out
