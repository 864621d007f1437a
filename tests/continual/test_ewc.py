import jax
import jax.numpy as jnp
import numpy as np

from el_jax import losses
from el_jax.continual import ewc


def _softmax(z):
  e = np.exp(z - z.max(axis=1, keepdims=True))
  return e / e.sum(axis=1, keepdims=True)


def test_fisher_of_a_linear_softmax_model_matches_the_hand_computed_gradients():
  # Linear softmax model z = x W + b with mean cross-entropy: dL/dW = x^T (p - y) / n, dL/db = mean(p - y).
  rng = np.random.default_rng(0)
  d, k = 3, 4
  params = {"w": rng.normal(size=(d, k)).astype(np.float32), "b": rng.normal(size=k).astype(np.float32)}
  batches = [
    {"x": rng.normal(size=(n, d)).astype(np.float32), "y": rng.integers(0, k, n).astype(np.int32)} for n in (5, 3, 7)
  ]

  def loss(p, batch):
    return jnp.mean(losses.cross_entropy(batch["x"] @ p["w"] + p["b"], batch["y"]))

  fisher = ewc.fisher_diagonal(jax.grad(loss), params, batches)
  expected_w, expected_b = np.zeros((d, k)), np.zeros(k)
  for batch in batches:
    x, n = batch["x"].astype(np.float64), len(batch["y"])
    error = _softmax(x @ params["w"] + params["b"]) - np.eye(k)[batch["y"]]
    expected_w += (x.T @ error / n) ** 2
    expected_b += (error.mean(axis=0)) ** 2
  np.testing.assert_allclose(fisher["w"], expected_w / 3, rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(fisher["b"], expected_b / 3, rtol=1e-5, atol=1e-7)


def test_penalty_sums_one_fisher_weighted_quadratic_per_past_episode():
  rng = np.random.default_rng(1)
  shapes = {"a": (2, 3), "b": (4,)}
  draw = lambda: {k: rng.normal(size=s).astype(np.float32) for k, s in shapes.items()}  # noqa: E731
  params = draw()
  anchors = {f"episode{e}": {"fisher": jax.tree.map(np.abs, draw()), "params": draw()} for e in range(2)}
  expected = sum(
    np.sum(anchor["fisher"][k] * (params[k] - anchor["params"][k]) ** 2) for anchor in anchors.values() for k in shapes
  )
  np.testing.assert_allclose(ewc.penalty(params, anchors, 0.7), 0.7 * expected, rtol=1e-5)
  # Its gradient is 2 lambda sum_e F_e (theta - theta_e).
  grads = jax.grad(ewc.penalty)(params, anchors, 0.7)
  expected_a = sum(2 * 0.7 * a["fisher"]["a"] * (params["a"] - a["params"]["a"]) for a in anchors.values())
  np.testing.assert_allclose(grads["a"], expected_a, rtol=1e-5)
  assert float(ewc.penalty(params, {}, 0.7)) == 0.0
