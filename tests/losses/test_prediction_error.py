"""el_jax/losses/_prediction_error.py: the squared and absolute errors, with and without the mirror bonus."""

import numpy as np
import pytest

from el_jax import losses
from tests.losses import reference
from tests.losses.cases import inputs


@pytest.mark.parametrize("fn", [losses.squared_error, losses.absolute_error])
def test_softmax_mirror_bonus_is_4_over_k_times_one_minus_p(fn):
  # EL §4.5: with softmax and the mirror bonus, L = (4/K)(1 - p_y) - 1.
  z, y = inputs("softmax", shape=(16, 7))
  p_y = reference.softmax(z)[np.arange(16), y]
  np.testing.assert_allclose(fn(z, y, mirror_bonus=True), 4 / 7 * (1 - p_y) - 1, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("activation", ["softmax", "sigmoid"])
def test_errors_match_reference(activation):
  z, y = inputs("softmax")
  for bonus in (False, True):
    np.testing.assert_allclose(
      losses.squared_error(z, y, activation=activation, mirror_bonus=bonus),
      reference.squared_error(z, y, activation, bonus),
      rtol=1e-5,
      atol=1e-7,
    )
