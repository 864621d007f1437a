import jax
import numpy as np
import pytest

from el_jax.continual import si


def test_path_integral_on_a_quadratic_along_a_straight_path():
  # L(theta) = 1/2 sum_k h_k theta_k^2, g = h theta; the path goes from theta0 to theta1 in N equal steps, the
  # gradient taken at the start of each step: omega = -sum_t h (theta0 + t d) d = -h d (N theta0 + d N (N - 1) / 2).
  h = np.array([2.0, 0.5])
  theta0, theta1, steps = np.array([1.0, -2.0]), np.array([0.2, -0.5]), 50
  d = (theta1 - theta0) / steps
  path = si.zeros_like({"theta": np.zeros(2, np.float32)})
  for t in range(steps):
    old, new = theta0 + t * d, theta0 + (t + 1) * d
    path = si.accumulate_path(path, {"theta": h * old}, {"theta": old}, {"theta": new})
  expected = -h * d * (steps * theta0 + d * steps * (steps - 1) / 2)
  np.testing.assert_allclose(path["theta"], expected, rtol=1e-5)
  # ... which tends to the drop of the loss along the path, 1/2 h (theta0^2 - theta1^2).
  np.testing.assert_allclose(path["theta"], 0.5 * h * (theta0**2 - theta1**2), rtol=0.03)

  xi = 0.1
  importance = si.consolidate({"theta": np.array([0.3, 0.0])}, path, {"theta": theta0}, {"theta": theta1}, xi)
  np.testing.assert_allclose(importance["theta"], [0.3, 0.0] + expected / ((theta1 - theta0) ** 2 + xi), rtol=1e-5)
  with pytest.raises(ValueError, match="damping"):
    si.consolidate(importance, path, {"theta": theta0}, {"theta": theta1}, 0.0)


def test_penalty_is_c_times_importance_weighted_squared_distance_with_optional_clipping():
  importance = {"w": np.array([0.5, 2e-4, 3.0], np.float32)}
  anchor = {"w": np.array([1.0, -1.0, 0.0], np.float32)}
  params = {"w": np.array([1.5, 1.0, -2.0], np.float32)}
  squared = np.array([0.25, 4.0, 4.0])
  np.testing.assert_allclose(si.penalty(params, importance, anchor, 0.5), 0.5 * np.sum([0.5, 2e-4, 3.0] * squared))
  clipped = si.penalty(params, importance, anchor, 0.5, max_importance=1e-3)
  np.testing.assert_allclose(clipped, 0.5 * np.sum([1e-3, 2e-4, 1e-3] * squared), rtol=1e-6)
  grad = jax.grad(si.penalty)(params, importance, anchor, 0.5)
  np.testing.assert_allclose(grad["w"], 2 * 0.5 * importance["w"] * (params["w"] - anchor["w"]), rtol=1e-6)
