import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from el_jax import models
from el_jax.models import layers


def _abstract(name, num_classes, input_shape, **kwargs):
  """The model's structure and parameter shapes, without initialising (or compiling) anything."""
  return nnx.eval_shape(lambda: models.create(name, num_classes=num_classes, input_shape=input_shape, **kwargs))


@pytest.mark.parametrize(
  "name, num_classes, input_shape, kwargs, expected",
  [
    # HEM Table 2 (appendix A.1.3).
    ("mlp", 10, (28, 28, 1), {}, 239_410),
    ("convnet", 10, (28, 28, 1), {}, 30_954),
    ("resnet32", 10, (32, 32, 3), {}, 464_154),
    ("resnet18", 10, (32, 32, 3), {}, 11_173_962),
    ("mobilenet_v3_small", 10, (32, 32, 3), {}, 1_528_106),
    ("mobilenet_v3_large", 100, (32, 32, 3), {}, 4_330_132),
    ("preact_resnet18", 100, (32, 32, 3), {}, 11_218_340),
    ("resnet50", 1000, (224, 224, 3), {}, 25_557_032),
    ("vit_b16", 1000, (224, 224, 3), {}, 86_567_656),
    # Table 2 counts the dead copy of the first group in Pang et al.'s WRN code (see models/wide_resnet.py).
    ("wrn22_10", 10, (32, 32, 3), {"unused_first_group": True}, 27_977_146),
    ("wrn28_10", 200, (64, 64, 3), {"unused_first_group": True}, 38_241_656),
    # torchvision's published counts (1,000 ImageNet classes) and timm's DeiT-Ti/S for ViT-Ti/S.
    ("resnet18", 1000, (224, 224, 3), {}, 11_689_512),
    ("resnet34", 1000, (224, 224, 3), {}, 21_797_672),
    ("resnet101", 1000, (224, 224, 3), {}, 44_549_160),
    ("efficientnet_b0", 1000, (224, 224, 3), {}, 5_288_548),
    ("mobilenet_v3_small", 1000, (224, 224, 3), {}, 2_542_856),
    ("mobilenet_v3_large", 1000, (224, 224, 3), {}, 5_483_032),
    ("vit_ti16", 1000, (224, 224, 3), {}, 5_717_416),
    ("vit_s16", 1000, (224, 224, 3), {}, 22_050_664),
    # Zagoruyko and Komodakis (2016): WRN-28-10 has 36.5M parameters on CIFAR-10.
    ("wrn28_10", 10, (32, 32, 3), {}, 36_479_194),
  ],
)
def test_parameter_counts_match_published_tables(name, num_classes, input_shape, kwargs, expected):
  assert models.count_params(_abstract(name, num_classes, input_shape, **kwargs)) == expected


def _cifar_resnet_count(depth, num_classes=10):
  """He et al.'s 6n+2 CIFAR ResNet counted layer by layer (option-A shortcuts have no parameters)."""
  n = (depth - 2) // 6
  count = 3 * 16 * 9 + 2 * 16  # stem conv + BN
  in_ch = 16
  for width in (16, 32, 64):
    for _ in range(n):
      count += in_ch * width * 9 + width * width * 9 + 4 * width
      in_ch = width
  return count + 64 * num_classes + num_classes


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


@pytest.mark.parametrize("depth", [20, 32, 44, 56, 110])
def test_cifar_resnet_counts_follow_the_layer_formula(depth):
  assert models.count_params(_abstract(f"resnet{depth}", 100, (32, 32, 3))) == _cifar_resnet_count(depth, 100)


@pytest.mark.parametrize("depth, k", [(16, 8), (22, 10), (28, 10)])
def test_wide_resnet_counts_follow_the_layer_formula(depth, k):
  model = _abstract("wrn", 10, (32, 32, 3), depth=depth, width=k)
  assert models.count_params(model) == _wrn_count(depth, k, 10)


def test_other_counts():
  # HEM A.1.3 LeNet by hand: conv 1*16*25+16, conv 16*16*25+16, dense 256*50+50, dense 50*10+10.
  # (HEM Table 2 says 20,194; see models/lenet.py.)
  assert models.count_params(_abstract("lenet", 10, (28, 28, 1))) == 416 + 6416 + 12850 + 510
  assert models.count_params(_abstract("mlp", 10, (28, 28, 1), depth=0)) == 784 * 10 + 10  # linear classifier
  assert models.count_params(_abstract("mlp", 3, (4,), depth=1, width=4)) == 4 * 4 + 4 + 4 * 3 + 3  # UCI (D,) input
  # Xie et al. (2017) Table 7: ResNeXt-29 8x64d has 34.4M parameters.
  assert round(models.count_params(_abstract("resnext29", 10, (32, 32, 3))) / 1e6, 1) == 34.4
  # Liu et al. (2016) MNIST CNN: 10 3x3 conv(64)+BN+PReLU units, FC 576->256 + PReLU, dense 256->10.
  convs = (9 * 1 * 64 + 2 * 64 + 1) + 9 * (9 * 64 * 64 + 2 * 64 + 1)
  assert models.count_params(_abstract("lsoftmax_cnn", 10, (28, 28, 1))) == convs + 576 * 256 + 256 + 1 + 2570


def test_batch_statistics_are_not_parameters():
  model = _abstract("resnet18", 10, (32, 32, 3))
  stats = jax.tree.leaves(nnx.state(model, nnx.BatchStat))
  # 20 batch norms (stem, 16 in blocks, 3 shortcuts) over 64 + 4*64 + 5*128 + 5*256 + 5*512 = 4,800 channels hold a
  # running mean and variance each; PyTorch does not count them, and neither does count_params.
  assert len(stats) == 2 * 20 and sum(int(np.prod(s.shape)) for s in stats) == 2 * 4800
  everything = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(nnx.state(model)))
  assert models.count_params(model) == 11_173_962 == everything - 2 * 4800


# Models and the input shapes of their experiments; the slow ones are large images or wide networks.
_FAST = [
  ("mlp", (28, 28, 1)),
  ("mlp", (13,)),
  ("lenet", (28, 28, 1)),
  ("convnet", (28, 28, 1)),
  ("lsoftmax_cnn", (28, 28, 1)),
  ("resnet20", (32, 32, 3)),
  ("resnet32", (32, 32, 3)),
]
_SLOW = [
  ("mobilenet_v3_small", (32, 32, 3)),
  ("mobilenet_v3_large", (32, 32, 3)),
  ("resnet44", (32, 32, 3)),
  ("resnet56", (32, 32, 3)),
  ("resnet110", (32, 32, 3)),
  ("resnet18", (32, 32, 3)),
  ("resnet34", (32, 32, 3)),
  ("preact_resnet18", (32, 32, 3)),
  ("resnext29", (32, 32, 3)),
  ("wrn22_10", (32, 32, 3)),
  ("wrn28_10", (64, 64, 3)),
  ("wrn16_8", (32, 32, 3)),
  ("vit_ti16", (32, 32, 3)),
  ("vit_s16", (224, 224, 3)),
  ("vit_b16", (224, 224, 3)),
  ("resnet18", (224, 224, 3)),
  ("resnet50", (224, 224, 3)),
  ("resnet101", (224, 224, 3)),
  ("efficientnet_b0", (224, 224, 3)),
]


# XLA's lower optimisation levels compile these deep graphs about twice as fast on CPU; the tests check shapes,
# finiteness and gradient flow, not speed.
_FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}


def _check_forward_backward(name, input_shape, batch=2, num_classes=7):
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


@pytest.mark.parametrize("name, input_shape", _FAST)
def test_forward_and_backward_under_jit(name, input_shape):
  _check_forward_backward(name, input_shape)


@pytest.mark.slow
@pytest.mark.parametrize("name, input_shape", _SLOW)
def test_forward_and_backward_under_jit_large(name, input_shape):
  _check_forward_backward(name, input_shape, batch=2 if input_shape[0] <= 64 else 1)


def test_every_registered_model_is_exercised():
  from tests.models.test_more_models import NEW_MODELS  # exercised there

  image_models = set(models.names()) - set(models._family_models())  # token and graph models: tested with their data
  assert {name for name, _ in _FAST + _SLOW} | NEW_MODELS | {"wrn"} == image_models


def test_the_unused_first_group_gets_no_gradient():
  wrn = models.create("wrn", num_classes=3, input_shape=(8, 8, 3), depth=10, width=1, unused_first_group=True)
  graphdef, params, rest = nnx.split(wrn, nnx.Param, ...)
  x = jax.random.normal(jax.random.key(0), (2, 8, 8, 3))
  grad_fn = jax.jit(jax.grad(lambda p: nnx.merge(graphdef, p, jax.tree.map(lambda v: v, rest))(x).sum()))
  grads = grad_fn(params)
  assert all(not jnp.any(g) for g in jax.tree.leaves(grads["unused_first_group"]))
  assert jnp.any(grads["stem"]["kernel"][...]) and jnp.any(grads["groups"][0][0]["conv1"]["kernel"][...])


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


@pytest.mark.parametrize(
  "name, input_shape, momentum, epsilon",
  [
    ("resnet20", (8, 8, 3), 0.9, 1e-5),
    ("mobilenet_v3_small", (32, 32, 3), 0.99, 1e-3),
    ("efficientnet_b0", (32, 32, 3), 0.9, 1e-3),
  ],
)
def test_every_batch_norm_has_the_torchvision_settings(name, input_shape, momentum, epsilon):
  model = _abstract(name, 10, input_shape)
  norms = [m for _, m in nnx.iter_graph(model) if isinstance(m, nnx.BatchNorm)]
  assert norms and all(m.momentum == pytest.approx(momentum) and m.epsilon == epsilon for m in norms)


def test_dropout_is_active_only_in_training():
  model = models.create("wrn", num_classes=10, input_shape=(8, 8, 3), depth=10, width=1, dropout=0.5)
  x = jax.random.normal(jax.random.key(0), (2, 8, 8, 3))
  model.eval()
  np.testing.assert_array_equal(model(x), model(x))
  model.train()
  assert not jnp.allclose(model(x), model(x))


def test_seed_controls_initialisation():
  def first_kernel(seed):
    return models.create("lenet", num_classes=10, input_shape=(28, 28, 1), seed=seed).conv1.kernel[...]

  assert jnp.array_equal(first_kernel(0), first_kernel(0))
  assert not jnp.array_equal(first_kernel(0), first_kernel(1))


def test_bad_names_arguments_and_shapes_are_clear_errors():
  with pytest.raises(ValueError, match="Valid names: .*convnet, efficientnet_b0"):
    models.create("resnet_typo", num_classes=10, input_shape=(28, 28, 1))
  with pytest.raises(ValueError, match="widht"):
    models.create("mlp", num_classes=10, input_shape=(28, 28, 1), widht=3)
  with pytest.raises(ValueError, match=r"needs image inputs of shape \(H, W, C\).*use 'mlp'"):
    models.create("resnet18", num_classes=10, input_shape=(13,))
  with pytest.raises(ValueError, match="depth must be 6n \\+ 2"):
    models.create("resnet32", num_classes=10, input_shape=(32, 32, 3), depth=33)
  with pytest.raises(ValueError, match="depth must be 6n \\+ 4"):
    models.create("wrn", num_classes=10, input_shape=(32, 32, 3), depth=23)
  with pytest.raises(ValueError, match="not divisible into 16x16 patches"):
    models.create("vit_ti16", num_classes=10, input_shape=(28, 28, 3))
  with pytest.raises(ValueError, match="at least 2"):
    models.create("mlp", num_classes=1, input_shape=(4,))


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
