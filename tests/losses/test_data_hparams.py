"""Loss hyper-parameters filled in from the training set: HEM's margin, HEM+'s per-class margins, class counts."""

import math

import numpy as np
import pytest

from el_jax import losses


def test_hem_margin_is_sqrt_2000_over_n():
  resolved = losses.resolve_data_hparams({"margin": "hem"}, [30, 20, 50])
  assert resolved == {"margin": pytest.approx(math.sqrt(2000 / 100))}


def test_hem_margin_constant_m_is_consumed():
  resolved = losses.resolve_data_hparams({"margin": "hem", "M": 500.0}, [100, 100])
  assert resolved == {"margin": pytest.approx(math.sqrt(500 / 200))}


def test_hem_plus_margins_per_class():
  counts = [400, 100, 25, 4]  # K = 4: sqrt(2000 / (4 s_i))
  resolved = losses.resolve_data_hparams({"margin": "hem_plus"}, counts)
  np.testing.assert_allclose(resolved["margin"], [math.sqrt(2000 / (4 * s)) for s in counts], rtol=1e-6)


def test_class_counts_from_the_training_set_and_lazily():
  calls = []

  def counts():
    calls.append(1)
    return np.array([5, 7])

  assert losses.resolve_data_hparams({"tau": 1.0}, counts) == {"tau": 1.0}
  assert not calls  # no marker: the labels are not read
  assert losses.resolve_data_hparams({"class_counts": "train", "tau": 0.5}, counts) == {
    "class_counts": [5, 7],
    "tau": 0.5,
  }


def test_unknown_marker_names_the_valid_ones():
  with pytest.raises(ValueError, match="'hem', 'hem_plus'"):
    losses.resolve_data_hparams({"margin": "auto"}, [1, 1])


def test_resolved_hparams_build_the_losses():
  counts = np.array([50, 30, 20])
  for name, hparams in [
    ("hem_loss", {"margin": "hem"}),
    ("hem_loss", {"margin": "hem_plus"}),
    ("logit_adjusted_loss", {"class_counts": "train"}),
  ]:
    objective = losses.get_objective(name, **losses.resolve_data_hparams(hparams, counts))
    value = objective(np.zeros((2, 3), np.float32), np.array([0, 2]))
    assert np.isfinite(value)


def test_m_and_margin_of_left_unset_take_their_defaults():
  counts = [400, 100]  # K = 2: sqrt(2000 / (2 s_k))
  resolved = losses.resolve_data_hparams({"margin": "hem_plus", "M": None, "margin_of": None}, counts)
  assert set(resolved) == {"margin"}
  np.testing.assert_allclose(resolved["margin"], [math.sqrt(2000 / 800), math.sqrt(2000 / 200)], rtol=1e-6)
  resolved = losses.resolve_data_hparams({"margin": "hem_plus", "M": 200.0, "margin_of": "label"}, counts)
  assert resolved["margin_of"] == "label"
  np.testing.assert_allclose(resolved["margin"], [math.sqrt(200 / 800), math.sqrt(200 / 200)], rtol=1e-6)


def test_an_m_no_marker_uses_or_a_bad_m_is_named():
  assert losses.resolve_data_hparams({"margin": 0.5, "M": 2000.0}, [1, 1]) == {"margin": 0.5}
  with pytest.raises(ValueError, match=r"M=500.0 sets the margin of the markers.*but margin is 0.5"):
    losses.resolve_data_hparams({"margin": 0.5, "M": 500.0}, [1, 1])
  for bad in (0.0, -1.0, "big"):
    with pytest.raises(ValueError, match="must be a number > 0"):
      losses.resolve_data_hparams({"margin": "hem", "M": bad}, [1, 1])


def test_hem_plus_label_reading_from_a_marker():
  # counts [400, 100]: mu_0 = sqrt(2000/800) = 1.5811, mu_1 = sqrt(2000/200) = 3.1623.
  # Example of class 1 with logits [2, 0]: the label reading adds mu_1: e_0 = 2 - 0 + 3.1623; the competitor reading
  # adds mu_0: e_0 = 2 + 1.5811. HEM keeps the one error: the loss is e_0.
  hparams = {"margin": "hem_plus", "margin_of": "label"}
  objective = losses.get_objective("hem_loss", **losses.resolve_data_hparams(hparams, [400, 100]))
  np.testing.assert_allclose(objective(np.array([[2.0, 0.0]]), np.array([1])), 2 + math.sqrt(10), rtol=1e-6)
  hparams = {"margin": "hem_plus"}
  objective = losses.get_objective("hem_loss", **losses.resolve_data_hparams(hparams, [400, 100]))
  np.testing.assert_allclose(objective(np.array([[2.0, 0.0]]), np.array([1])), 2 + math.sqrt(2.5), rtol=1e-6)
