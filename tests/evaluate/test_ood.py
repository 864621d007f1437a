"""OOD scores, AUROC (against scikit-learn), FPR at 95% TPR and DAR (against hand-computed cases)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score, roc_curve

from el_jax.evaluate import ood

_scores = st.lists(st.integers(-5, 5).map(float), min_size=1, max_size=40)  # small integers: many ties


@settings(max_examples=60, deadline=None)
@given(_scores, _scores)
def test_auroc_equals_sklearn(in_scores, out_scores):
  labels = np.r_[np.ones(len(in_scores)), np.zeros(len(out_scores))]
  expected = roc_auc_score(labels, np.r_[in_scores, out_scores])
  assert ood.auroc(in_scores, out_scores) == pytest.approx(expected, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(_scores, _scores, st.sampled_from([0.5, 0.9, 0.95, 1.0]))
def test_fpr_at_tpr_is_sklearn_roc_at_the_first_threshold_reaching_the_tpr(in_scores, out_scores, tpr):
  labels = np.r_[np.ones(len(in_scores)), np.zeros(len(out_scores))]
  fprs, tprs, _ = roc_curve(labels, np.r_[in_scores, out_scores], drop_intermediate=False)
  assert ood.fpr_at_tpr(in_scores, out_scores, tpr) == fprs[np.argmax(tprs >= tpr)]


def test_fpr_at_tpr_hand_computed():
  in_scores = np.arange(1.0, 21.0)  # 20 scores: accepting >= 2 gives TPR 19/20 = 0.95 exactly
  out_scores = np.array([0.0, 1.5, 2.0, 2.5, 30.0])
  assert ood.threshold_at_tpr(in_scores, 0.95) == 2.0
  assert ood.fpr_at_tpr(in_scores, out_scores, 0.95) == 3 / 5
  # 100 scores: 0.95 * 100 is 95.00000000000001 in floating point; the threshold must still accept exactly 95.
  assert ood.threshold_at_tpr(np.arange(100.0), 0.95) == 5.0


def test_scores_closed_forms():
  logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
  np.testing.assert_allclose(ood.max_logit(logits), [3.0, 0.0])
  np.testing.assert_allclose(ood.min_conditional_energy(logits), [3.0, 0.0])
  np.testing.assert_allclose(ood.free_energy(logits), [np.log(np.exp([1, 2, 3]).sum()), np.log(3.0)], rtol=1e-6)
  np.testing.assert_allclose(ood.msp(logits), [np.exp(3) / np.exp([1, 2, 3]).sum(), 1 / 3], rtol=1e-6)


def test_detection_accuracy_rate_hand_computed():
  # Correct clean samples score 1..20: the threshold accepting 95% of them is 2. The wrong clean one is ignored.
  clean_scores = np.r_[np.arange(1.0, 21.0), 100.0]
  clean_correct = np.r_[np.ones(20, bool), False]
  scores = np.array([5.0, 5.0, 1.0, 1.0])  # accepted, accepted, rejected, rejected
  correct = np.array([True, False, False, True])  # right, wrong, right, wrong
  assert ood.detection_accuracy_rate(clean_scores, clean_correct, scores, correct) == 0.5


def test_non_finite_scores_are_rejected():
  with pytest.raises(ValueError, match="non-finite"):
    ood.auroc([1.0, np.nan], [0.0])
