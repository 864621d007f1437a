"""el_jax.models.layers: batch norm against PyTorch's, and the 2x2 max pooling against a windowed max pool."""

import jax
import numpy as np
import pytest
from flax import nnx

from el_jax.models import layers


def test_batch_norm_follows_pytorch():
  norm = layers.batch_norm(3, rngs=nnx.Rngs(0))
  x = jax.random.normal(jax.random.key(0), (8, 2, 2, 3)) * 3 + 2
  out = norm(x)  # training mode: normalised by the batch's statistics, running averages updated
  mean, var = np.asarray(x).mean(axis=(0, 1, 2)), np.asarray(x).var(axis=(0, 1, 2))
  np.testing.assert_allclose(out, (x - mean) / np.sqrt(var + 1e-5), rtol=1e-4, atol=1e-4)
  # PyTorch's momentum 0.1: running = 0.9 * running + 0.1 * batch, from mean 0 and variance 1. (PyTorch would use
  # the unbiased batch variance here, a factor n / (n - 1) = 32 / 31; flax uses the biased one.)
  np.testing.assert_allclose(norm.mean[...], 0.1 * mean, rtol=1e-5)
  np.testing.assert_allclose(norm.var[...], 0.9 + 0.1 * var, rtol=1e-5)
  norm.eval()
  y = x[:1]
  np.testing.assert_allclose(norm(y), (y - 0.1 * mean) / np.sqrt(0.9 + 0.1 * var + 1e-5), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shape", [(2, 8, 8, 3), (2, 7, 9, 1)])
def test_max_pool_2x2_equals_window_max_pool(shape):
  from el_jax.models.layers import max_pool_2x2

  x = jax.random.normal(jax.random.key(0), shape)
  np.testing.assert_array_equal(max_pool_2x2(x), nnx.max_pool(x, (2, 2), strides=(2, 2)))
  # The gradient of a sum of maxima of distinct values is 1 at each window's argmax, 0 elsewhere.
  grad = jax.grad(lambda x: max_pool_2x2(x).sum())(x)
  h, w = shape[1] // 2 * 2, shape[2] // 2 * 2
  assert float(grad.sum()) == shape[0] * (h // 2) * (w // 2) * shape[3]
  assert set(np.unique(grad)) <= {0.0, 1.0} and not np.any(grad[:, h:, :]) and not np.any(grad[:, :, w:])
