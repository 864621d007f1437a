"""Margins and energies against hand-computed values (EL §3: E(y|x) = -z_y)."""

import numpy as np
import pytest

from el_jax.evaluate import margins

LOGITS = np.array([[3.0, 1.0, 2.0], [0.5, 0.0, 4.0], [1.0, 1.0, -1.0]])
LABELS = np.array([0, 1, 1])


def test_margins_hand_computed():
  np.testing.assert_allclose(margins.margins(LOGITS, LABELS), [1.0, -4.0, 0.0])


def test_energy_summary_and_class_energy():
  out = margins.energy_summary(LOGITS, LABELS)
  assert out["on_data"] == pytest.approx(np.mean([-3.0, 0.0, -1.0]))
  assert out["lowest_off_data"] == pytest.approx(np.mean([-2.0, -4.0, -1.0]))
  assert out["gap"] == pytest.approx(np.mean([1.0, -4.0, 0.0]))
  energy = margins.class_energy(LOGITS, LABELS, num_classes=3)
  np.testing.assert_allclose(energy[0], [-3.0, -1.0, -2.0])
  np.testing.assert_allclose(energy[1], [-0.75, -0.5, -1.5])
  assert np.all(np.isnan(energy[2]))


def test_summary_quantiles_and_negative_fraction_match_numpy():
  values = np.random.default_rng(0).normal(size=1001)
  out = margins.summary(values)
  assert out["mean"] == pytest.approx(values.mean()) and out["std"] == pytest.approx(values.std())
  assert out["q50"] == pytest.approx(np.median(values)) and out["q01"] == pytest.approx(np.sort(values)[10])
  assert out["fraction_negative"] == pytest.approx((values < 0).sum() / 1001)
