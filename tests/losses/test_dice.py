"""el_jax/losses/_dice.py: the dice loss at a perfect prediction and its gradient against a numerical one."""

import jax
import numpy as np

from el_jax import losses
from tests.losses import reference
from tests.losses.cases import inputs


def test_dice_perfect_prediction_is_zero_and_gradient_matches_reference():
  y = np.array([0, 1, 2, 1])
  z = (reference.one_hot(y, 3) * 60).astype(np.float32)
  np.testing.assert_allclose(losses.dice_loss(z, y, smooth=0.0), 0.0, atol=1e-6)
  z, y = inputs("softmax")
  with jax.enable_x64(True):
    grad = jax.grad(lambda z: losses.dice_loss(z, y))(np.asarray(z, np.float64))
  h = 1e-6
  zz = z.astype(np.float64)
  bump = np.zeros_like(zz)
  bump[2, 3] = h
  numeric = (reference.dice_loss(zz + bump, y) - reference.dice_loss(zz - bump, y)) / (2 * h)
  np.testing.assert_allclose(grad[2, 3], numeric, rtol=1e-5)
