"""el_jax/losses/_dice.py: the dice loss at a perfect prediction and its gradient against a numerical one."""

import jax
import numpy as np
import pytest

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


@pytest.mark.parametrize("smooth", [0.0, 1.0])
@pytest.mark.parametrize("masked", [False, True])
def test_dice_gradient_matches_differences_of_the_definition(smooth, masked):
  # Every entry of the gradient (written by hand through the softmax) against central differences of the float64
  # per-class loop, with a class absent from the batch (class 4) and, masked, a NaN logit in a masked example.
  z, _ = inputs("softmax", shape=(6, 5), scale=1.5, seed=7)
  y = np.array([0, 1, 2, 1, 3, 0])
  keep = np.array([True, True, False, True, True, True]) if masked else np.ones(6, bool)
  h, numeric = 1e-6, np.zeros(z.shape)
  for n, c in zip(*np.nonzero(keep[:, None] & np.ones((1, 5), bool)), strict=True):
    bump = np.zeros(z.shape)
    bump[n, c] = h
    up = reference.dice_loss((z + bump)[keep], y[keep], smooth)
    numeric[n, c] = (up - reference.dice_loss((z - bump)[keep], y[keep], smooth)) / (2 * h)
  z_in = np.where(keep[:, None], z, np.nan).astype(np.float32) if masked else z
  where = keep if masked else None
  value, grad = jax.value_and_grad(lambda z: losses.dice_loss(z, y, smooth=smooth, where=where))(z_in)
  np.testing.assert_allclose(value, reference.dice_loss(z[keep], y[keep], smooth), rtol=1e-5)
  np.testing.assert_allclose(grad, numeric, rtol=1e-3, atol=1e-6)
  with jax.enable_x64(True):
    grad64 = jax.grad(lambda z: losses.dice_loss(z, y, smooth=smooth, where=where))(np.asarray(z_in, np.float64))
  np.testing.assert_allclose(grad64, numeric, rtol=1e-6, atol=1e-10)
