"""Accuracy, NLL and many/medium/few-shot accuracy on hand-computed cases."""

import numpy as np

from el_jax.evaluate import metrics

LOGITS = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 0.0, 2.0], [5.0, 0.0, 0.0]])
LABELS = np.array([0, 2, 2, 1])


def test_accuracy_and_per_class_accuracy():
  assert metrics.accuracy(LOGITS, LABELS) == 0.5
  np.testing.assert_array_equal(metrics.per_class_accuracy(LOGITS, LABELS, 4), [1.0, 0.0, 0.5, np.nan])


def test_nll_is_minus_log_softmax_of_the_label():
  probs = np.exp(LOGITS) / np.exp(LOGITS).sum(-1, keepdims=True)
  np.testing.assert_allclose(metrics.nll(LOGITS, LABELS), -np.log(probs[np.arange(4), LABELS]), rtol=1e-6)


def test_shot_accuracy_groups_classes_by_training_counts():
  # class 0 many-shot (500 > 100), class 1 few-shot (5 < 20), class 2 medium (100: not > 100).
  out = metrics.shot_accuracy(LOGITS, LABELS, train_counts=[500, 5, 100])
  assert out == {"many": 1.0, "medium": 0.5, "few": 0.0}
