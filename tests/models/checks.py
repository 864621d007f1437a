"""Helpers of the model tests: a model's abstract structure, and one jitted training-mode forward and backward pass,
executed (`check_forward_backward`) or only traced for its shapes (`trace_forward_backward`).

The test files of the image models list the cases of `check_forward_backward` they run as `FAST` (name, input shape),
`SLOW` (name, input shape: large images or wide networks) and `LARGE` (name, input shape, batch), and those of
`trace_forward_backward` as `TRACED` (name, input shape), which tests/models/test_registry.py reads to check that every
registered image model is exercised. Dense-output models (`models.DENSE_OUTPUT`) give logits `[N, H, W, K]`.
"""

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


def _loss_and_grad(name, input_shape, batch, num_classes, **kwargs):
  """The model (training mode, dropout and stochastic depth off so that no parameter's gradient is zero by chance),
  its parameters and other variables, an input batch, and `f(params, rest) -> ((loss, logits), grads)`."""
  model = models.create(name, num_classes=num_classes, input_shape=input_shape, seed=1, **kwargs)
  model.train()
  model.set_attributes(deterministic=True, raise_if_not_found=False)
  graphdef, params, rest = nnx.split(model, nnx.Param, ...)
  x = jax.random.normal(jax.random.key(0), (batch, *input_shape))

  def loss_and_grad(params, rest):
    def loss(params):
      # The non-parameter variables (batch statistics) are copied inside the differentiated trace, where the
      # training-mode forward pass updates them.
      logits = nnx.merge(graphdef, params, jax.tree.map(lambda v: v, rest))(x)
      return jnp.sum(jax.nn.log_softmax(logits)[..., 0]), logits

    return jax.value_and_grad(loss, has_aux=True)(params)

  return model, params, rest, loss_and_grad


def _logits_shape(name, input_shape, batch, num_classes):
  return (batch, *input_shape[:2], num_classes) if name in models.DENSE_OUTPUT else (batch, num_classes)


def check_forward_backward(name, input_shape, batch=2, num_classes=7, **kwargs):
  model, params, rest, loss_and_grad = _loss_and_grad(name, input_shape, batch, num_classes, **kwargs)
  (value, logits), grads = jax.jit(loss_and_grad, compiler_options=_FAST_COMPILE)(params, rest)
  assert logits.shape == _logits_shape(name, input_shape, batch, num_classes)
  assert logits.dtype == jnp.float32
  assert jnp.isfinite(value)
  grad_leaves = jax.tree.leaves(grads)
  assert all(jnp.isfinite(g).all() for g in grad_leaves)
  # Every parameter takes part: none is disconnected from the output.
  silent = [jax.tree_util.keystr(path) for path, g in jax.tree_util.tree_leaves_with_path(grads) if not jnp.any(g)]
  assert not silent, f"parameters without gradient: {silent}"
  return model, grads


def trace_forward_backward(model, name, input_shape, batch=1):
  """A forward and backward pass of `model` (built for registry model `name`, e.g. by `abstract`) traced by
  `jax.eval_shape`, nothing compiled or executed: the shapes and dtypes of the logits, the loss and every parameter's
  gradient.

  Batch norm is traced in evaluation mode: in training mode flax's update of the running statistics asks each traced
  value for its sharding, and the error message that builds walks the whole graph traced so far, a cost quadratic in
  the depth (minutes for DenseNet-201). The shapes are the same in both modes.
  """
  model.eval()
  graphdef, params, rest = nnx.split(model, nnx.Param, ...)

  def loss(params, rest):
    logits = nnx.merge(graphdef, params, rest)(jnp.zeros((batch, *input_shape)))
    return jnp.sum(jax.nn.log_softmax(logits)[..., 0]), logits

  (value, logits), grads = jax.eval_shape(jax.value_and_grad(loss, has_aux=True), params, rest)
  num_classes = logits.shape[-1]
  assert logits.shape == _logits_shape(name, input_shape, batch, num_classes)
  assert logits.dtype == jnp.float32 and value.shape == () and value.dtype == jnp.float32
  param_shapes = jax.tree.map(lambda p: (p.shape, p.dtype), params)
  assert jax.tree.map(lambda g: (g.shape, g.dtype), grads) == param_shapes
  return logits, grads
