"""ECE and reliability bins against hand-computed cases, including confidences of exactly 1.0 and on bin edges."""

import numpy as np
import pytest

from el_jax.evaluate import calibration


def _probs(confidences, predicted, num_classes=2):
  """Two-class probabilities with the given max confidence on the given class."""
  probs = np.zeros((len(confidences), num_classes))
  for i, (c, k) in enumerate(zip(confidences, predicted, strict=True)):
    probs[i] = (1 - c) / (num_classes - 1)
    probs[i, k] = c
  return probs


def test_ece_hand_computed():
  # 4 bins (0, .25], (.25, .5], (.5, .75], (.75, 1].
  # bin 2 gets 0.6 (correct), 0.7 (wrong); bin 3 gets 1.0 (correct), 0.9 (correct), 0.8 (wrong).
  conf = [0.6, 0.7, 1.0, 0.9, 0.8]
  probs = _probs(conf, [0, 0, 1, 1, 0])
  labels = np.array([0, 1, 1, 1, 1])
  bin2 = 2 / 5 * abs(0.5 - 0.65)
  bin3 = 3 / 5 * abs(2 / 3 - 0.9)
  assert calibration.expected_calibration_error(probs, labels, num_bins=4) == pytest.approx(bin2 + bin3, abs=1e-6)


def test_confidence_one_falls_in_the_last_bin_and_edges_close_their_bin():
  probs = _probs([1.0, 0.75, 0.5], [0, 0, 0])
  bins = calibration.reliability_bins(probs, np.array([0, 0, 1]), num_bins=4)
  np.testing.assert_array_equal(bins["count"], [0, 1, 1, 1])  # 0.5 in (.25, .5], 0.75 in (.5, .75], 1.0 in last
  np.testing.assert_array_equal(bins["accuracy"][1:], [0.0, 1.0, 1.0])
  # All-correct predictions of confidence exactly 1 are perfectly calibrated.
  assert calibration.expected_calibration_error(_probs([1.0] * 3, [0] * 3), np.zeros(3, int)) == 0.0


def test_ece_of_a_single_bin_is_the_confidence_accuracy_gap():
  probs = _probs([0.9] * 10, [0] * 10)
  labels = np.array([0] * 7 + [1] * 3)
  assert calibration.expected_calibration_error(probs, labels) == pytest.approx(0.2, abs=1e-6)


def test_bad_input_is_named():
  with pytest.raises(ValueError, match="softmax probabilities"):
    calibration.expected_calibration_error(np.array([[3.0, -1.0]]), np.array([0]))
  with pytest.raises(ValueError, match="shapes"):
    calibration.expected_calibration_error(np.ones((2, 2)) / 2, np.array([0]))
