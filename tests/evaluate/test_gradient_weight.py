"""Each loss's weight -dL/dz_y against p_y: closed forms for cross-entropy and both EL bonuses."""

import jax
import numpy as np

from el_jax import losses
from el_jax.evaluate import gradient_weight


def test_gradient_weight_closed_forms():
  p = np.array([0.05, 0.3, 0.6, 0.75, 0.8, 0.95])
  ce = gradient_weight.gradient_weight(losses.get("cross_entropy"), p, 10)
  np.testing.assert_allclose(ce, 1 - p, atol=1e-5)
  normal = gradient_weight.gradient_weight(losses.get("encouraging_loss", log_end=1.0), p, 10)
  np.testing.assert_allclose(normal, np.ones_like(p), atol=1e-4)  # -log p + log(1 - p): weight 1 everywhere
  conservative = gradient_weight.gradient_weight(losses.get("encouraging_loss", log_end=0.75), p, 10)
  expected = np.where(p <= 0.75, 1.0, 1 - p + p * (1 - p) / 0.25)
  np.testing.assert_allclose(conservative, expected, atol=1e-4)


def test_gradient_weight_logits_have_the_target_probability():
  z = gradient_weight.logits_for(np.array([0.2, 0.9]), 5)
  probs = np.asarray(jax.nn.softmax(z))
  np.testing.assert_allclose(probs[:, 0], [0.2, 0.9], rtol=1e-5)
  np.testing.assert_allclose(probs[:, 1:], [[0.2] * 4, [0.025] * 4], rtol=1e-5)


def test_curves_of_several_losses_share_one_grid():
  fns = {"ce": losses.get("cross_entropy"), "el": losses.get("encouraging_loss", log_end=1.0)}
  out = gradient_weight.curves(fns, p_y=[0.1, 0.5, 0.9], num_classes=4)
  assert out["p_y"] == [0.1, 0.5, 0.9]
  np.testing.assert_allclose(out["ce"], [0.9, 0.5, 0.1], atol=1e-5)
  np.testing.assert_allclose(out["el"], [1.0, 1.0, 1.0], atol=1e-4)
