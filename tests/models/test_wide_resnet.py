"""el_jax.models.wide_resnet: parameter counts (published, and layer by layer), the unused first group of Pang et
al.'s code, dropout, and forward and backward passes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from el_jax import models
from tests.models.checks import abstract, check_forward_backward


@pytest.mark.parametrize(
  "name, num_classes, input_shape, kwargs, expected",
  [
    # HEM Table 2 counts the dead copy of the first group in Pang et al.'s WRN code (see models/wide_resnet.py).
    ("wrn22_10", 10, (32, 32, 3), {"unused_first_group": True}, 27_977_146),
    ("wrn28_10", 200, (64, 64, 3), {"unused_first_group": True}, 38_241_656),
    # Zagoruyko and Komodakis (2016): WRN-28-10 has 36.5M parameters on CIFAR-10.
    ("wrn28_10", 10, (32, 32, 3), {}, 36_479_194),
  ],
)
def test_parameter_counts_match_published_tables(name, num_classes, input_shape, kwargs, expected):
  assert models.count_params(abstract(name, num_classes, input_shape, **kwargs)) == expected


def _wrn_count(depth, k, num_classes):
  """WRN-depth-k counted layer by layer: pre-activation blocks, 1x1 shortcuts where the width changes."""
  n = (depth - 4) // 6
  count, in_ch = 3 * 16 * 9, 16
  for width in (16 * k, 32 * k, 64 * k):
    for _ in range(n):
      count += 2 * in_ch + in_ch * width * 9 + 2 * width + width * width * 9
      count += in_ch * width if in_ch != width else 0
      in_ch = width
  return count + 2 * in_ch + in_ch * num_classes + num_classes


@pytest.mark.parametrize("depth, k", [(16, 8), (22, 10), (28, 10)])
def test_wide_resnet_counts_follow_the_layer_formula(depth, k):
  model = abstract("wrn", 10, (32, 32, 3), depth=depth, width=k)
  assert models.count_params(model) == _wrn_count(depth, k, 10)


SLOW = [("wrn22_10", (32, 32, 3)), ("wrn28_10", (64, 64, 3)), ("wrn16_8", (32, 32, 3))]


@pytest.mark.slow
@pytest.mark.parametrize("name, input_shape", SLOW)
def test_forward_and_backward_under_jit_large(name, input_shape):
  check_forward_backward(name, input_shape, batch=2 if input_shape[0] <= 64 else 1)


def test_the_unused_first_group_gets_no_gradient():
  wrn = models.create("wrn", num_classes=3, input_shape=(8, 8, 3), depth=10, width=1, unused_first_group=True)
  graphdef, params, rest = nnx.split(wrn, nnx.Param, ...)
  x = jax.random.normal(jax.random.key(0), (2, 8, 8, 3))
  grad_fn = jax.jit(jax.grad(lambda p: nnx.merge(graphdef, p, jax.tree.map(lambda v: v, rest))(x).sum()))
  grads = grad_fn(params)
  assert all(not jnp.any(g) for g in jax.tree.leaves(grads["unused_first_group"]))
  assert jnp.any(grads["stem"]["kernel"][...]) and jnp.any(grads["groups"][0][0]["conv1"]["kernel"][...])


def test_dropout_is_active_only_in_training():
  model = models.create("wrn", num_classes=10, input_shape=(8, 8, 3), depth=10, width=1, dropout=0.5)
  x = jax.random.normal(jax.random.key(0), (2, 8, 8, 3))
  model.eval()
  np.testing.assert_array_equal(model(x), model(x))
  model.train()
  assert not jnp.allclose(model(x), model(x))
