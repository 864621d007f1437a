"""el_jax/losses/_prediction_error.py: the squared and absolute errors, with and without the mirror bonus."""

import jax
import jax.numpy as jnp
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
@pytest.mark.parametrize("name", ["squared_error", "absolute_error"])
def test_errors_match_reference(name, activation):
  z, y = inputs("softmax")
  for bonus in (False, True):
    np.testing.assert_allclose(
      getattr(losses, name)(z, y, activation=activation, mirror_bonus=bonus),
      getattr(reference, name)(z, y, activation, bonus),
      rtol=1e-5,
      atol=1e-7,
    )


@pytest.mark.parametrize(
  "name, mirror_bonus", [("squared_error", True), ("absolute_error", True), ("absolute_error", False)]
)
def test_softmax_gradients_match_differences_of_the_definition(name, mirror_bonus):
  # The cases computed from p_y alone: gradients against central differences of the float64 sums over all K.
  z, y = inputs("softmax", shape=(4, 5), scale=1.5, seed=2)
  z[0, y[0]] += 12.0  # a confident example: 1 - p_y ~ 1e-5, exact through log(1 - p_y)
  weights = np.linspace(0.5, 1.5, 4)
  ref = lambda z: weights @ getattr(reference, name)(z, y, "softmax", mirror_bonus)  # noqa: E731
  h, numeric = 1e-6, np.zeros(z.shape)
  for index in np.ndindex(*z.shape):
    bump = np.zeros(z.shape)
    bump[index] = h
    numeric[index] = (ref(z + bump) - ref(z - bump)) / (2 * h)
  with jax.enable_x64(True):
    fn = lambda z: jnp.sum(weights * getattr(losses, name)(z, y, mirror_bonus=mirror_bonus))  # noqa: E731
    grad = jax.grad(fn)(jnp.asarray(z, jnp.float64))
  np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)
  grad32 = jax.grad(
    lambda z: jnp.sum(jnp.asarray(weights, jnp.float32) * getattr(losses, name)(z, y, mirror_bonus=mirror_bonus))
  )(z)
  np.testing.assert_allclose(grad32, numeric, rtol=1e-4, atol=1e-7)
