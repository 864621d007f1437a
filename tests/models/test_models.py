import jax
import jax.numpy as jnp
import pytest
from flax import nnx

from el_jax import models


@pytest.mark.parametrize(
  "name, kwargs, expected",
  [
    # HEM appendix A.1.3 LeNet, counted by hand: conv 1*16*25+16, conv 16*16*25+16, dense 256*50+50,
    # dense 50*10+10 (HEM Table 2 says 20,194; see models/lenet.py).
    ("lenet", {}, 416 + 6416 + 12850 + 510),
    ("mlp", {}, 239_410),  # HEM Table 2
    ("mlp", {"depth": 0}, 784 * 10 + 10),  # a linear classifier
  ],
)
def test_parameter_counts(name, kwargs, expected):
  model = models.create(name, num_classes=10, input_shape=(28, 28, 1), **kwargs)
  assert models.count_params(model) == expected


@pytest.mark.parametrize("name", models.names())
def test_forward_and_backward_under_jit(name):
  model = models.create(name, num_classes=7, input_shape=(28, 28, 1), seed=1)
  graphdef, params = nnx.split(model)
  x = jax.random.uniform(jax.random.key(0), (4, 28, 28, 1))

  @jax.jit
  def loss_and_grad(params):
    def loss(params):
      return jnp.sum(nnx.merge(graphdef, params)(x) ** 2)

    return jax.value_and_grad(loss)(params)

  value, grads = loss_and_grad(params)
  assert nnx.merge(graphdef, params)(x).shape == (4, 7)
  assert jnp.isfinite(value)
  assert all(jnp.isfinite(g).all() for g in jax.tree.leaves(grads))
  assert any(jnp.abs(g).sum() > 0 for g in jax.tree.leaves(grads))


def test_seed_controls_initialisation():
  def first_kernel(seed):
    return models.create("lenet", num_classes=10, input_shape=(28, 28, 1), seed=seed).conv1.kernel[...]

  assert jnp.array_equal(first_kernel(0), first_kernel(0))
  assert not jnp.array_equal(first_kernel(0), first_kernel(1))


def test_unknown_model_and_bad_kwargs():
  with pytest.raises(ValueError, match="Valid names: lenet, mlp"):
    models.create("resnet_typo", num_classes=10, input_shape=(28, 28, 1))
  with pytest.raises(ValueError, match="widht"):
    models.create("mlp", num_classes=10, input_shape=(28, 28, 1), widht=3)
