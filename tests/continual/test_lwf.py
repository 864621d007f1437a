import jax
import numpy as np
import pytest

from el_jax.continual import lwf


def _log_softmax(z):
  z = z - z.max(axis=-1, keepdims=True)
  return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def test_distillation_is_the_batch_mean_kl_of_the_softened_old_outputs_over_seen_classes():
  rng = np.random.default_rng(0)
  logits, old = rng.normal(size=(2, 6, 5)) * 3
  mask = np.array([True, False, True, True, False])
  t = 2.0
  log_p, log_q = _log_softmax(logits[:, mask] / t), _log_softmax(old[:, mask] / t)
  expected = np.mean(np.sum(np.exp(log_q) * (log_q - log_p), axis=1))
  np.testing.assert_allclose(lwf.distillation_loss(logits, old, t, mask), expected, rtol=1e-5)
  # All classes, and the cross-entropy form of Li and Hoiem minus the old outputs' entropy.
  log_p, log_q = _log_softmax(logits / t), _log_softmax(old / t)
  cross_entropy = -np.mean(np.sum(np.exp(log_q) * log_p, axis=1))
  entropy = -np.mean(np.sum(np.exp(log_q) * log_q, axis=1))
  np.testing.assert_allclose(lwf.distillation_loss(logits, old, t), cross_entropy - entropy, rtol=1e-5)


def test_distillation_gradient_flows_only_into_the_current_seen_logits():
  rng = np.random.default_rng(1)
  logits, old = rng.normal(size=(2, 3, 4)).astype(np.float32)
  mask = np.array([True, True, False, True])
  g_new, g_old = jax.grad(lwf.distillation_loss, argnums=(0, 1))(logits, old, 2.0, mask)
  assert np.all(np.asarray(g_old) == 0) and np.all(np.asarray(g_new)[:, 2] == 0) and np.all(np.isfinite(g_new))
  # d/dz KL = (p - q) / (T N) on the seen classes.
  p = np.exp(_log_softmax(logits[:, mask] / 2.0))
  q = np.exp(_log_softmax(old[:, mask] / 2.0))
  np.testing.assert_allclose(np.asarray(g_new)[:, mask], (p - q) / (2.0 * 3), rtol=1e-4, atol=1e-7)
  assert float(lwf.distillation_loss(old, old, 2.0, mask)) == pytest.approx(0.0, abs=1e-6)
  with pytest.raises(ValueError, match="temperature must be positive"):
    lwf.distillation_loss(logits, old, 0.0)
