"""Helpers of the model tests: a model's abstract structure, and one jitted training-mode forward and backward pass.

The test files of the image models list the cases of `check_forward_backward` they run as `FAST` (name, input shape),
`SLOW` (name, input shape: large images or wide networks) and `LARGE` (name, input shape, batch), which
tests/models/test_registry.py reads to check that every registered image model is exercised.
"""

import functools

import jax
import jax.numpy as jnp
from flax import nnx

from el_jax import models


def abstract(name, num_classes, input_shape, **kwargs):
  """The model's structure and parameter shapes, without initialising (or compiling) anything."""
  return nnx.eval_shape(lambda: models.create(name, num_classes=num_classes, input_shape=input_shape, **kwargs))


# XLA's lower optimisation levels compile these deep graphs about twice as fast on CPU; the tests check shapes,
# finiteness and gradient flow, not speed.
_FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}


def check_forward_backward(name, input_shape, batch=2, num_classes=7):
  model = models.create(name, num_classes=num_classes, input_shape=input_shape, seed=1)
  # Training mode (batch statistics), with dropout and stochastic depth off so that no parameter's gradient is
  # zero by chance.
  model.train()
  model.set_attributes(deterministic=True, raise_if_not_found=False)
  graphdef, params, rest = nnx.split(model, nnx.Param, ...)
  x = jax.random.normal(jax.random.key(0), (batch, *input_shape))

  @functools.partial(jax.jit, compiler_options=_FAST_COMPILE)
  def loss_and_grad(params, rest):
    def loss(params):
      # The non-parameter variables (batch statistics) are copied inside the differentiated trace, where the
      # training-mode forward pass updates them.
      logits = nnx.merge(graphdef, params, jax.tree.map(lambda v: v, rest))(x)
      return jnp.sum(jax.nn.log_softmax(logits)[:, 0]), logits

    return jax.value_and_grad(loss, has_aux=True)(params)

  (value, logits), grads = loss_and_grad(params, rest)
  assert logits.shape == (batch, num_classes)
  assert jnp.isfinite(value)
  grad_leaves = jax.tree.leaves(grads)
  assert all(jnp.isfinite(g).all() for g in grad_leaves)
  # Every parameter takes part: none is disconnected from the output.
  silent = [jax.tree_util.keystr(path) for path, g in jax.tree_util.tree_leaves_with_path(grads) if not jnp.any(g)]
  assert not silent, f"parameters without gradient: {silent}"
  return model, grads
