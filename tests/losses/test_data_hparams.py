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
