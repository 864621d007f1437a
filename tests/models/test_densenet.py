"""el_jax.models.densenet: DenseNet-201's published parameter count, its channel growth, the feature maps taken by
the FPN encoder, and training steps (executed on a small DenseNet, traced on DenseNet-201)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from el_jax import models
from el_jax.models import densenet
from tests.models.checks import abstract, check_forward_backward, trace_forward_backward

# A DenseNet small enough to run: 1-2 layers per block, growth 4, 8 initial features.
TINY = {"growth_rate": 4, "block_config": (1, 2, 1, 1), "bn_size": 2, "init_features": 8}


@pytest.fixture(scope="module")
def densenet201():
  """DenseNet-201's structure with 1,000 classes, built once (it takes seconds)."""
  return abstract("densenet201", 1000, (224, 224, 3))


def test_parameter_count_matches_torchvision(densenet201):
  assert models.count_params(densenet201) == 20_013_928


def test_blocks_grow_by_the_growth_rate_and_transitions_halve(densenet201):
  model = densenet201
  # Huang et al. (2017) Table 1 with k = 32 from 64 features: 64 + 6k = 256 -> 128 + 12k = 512 -> 256 + 48k = 1792
  # -> 896 + 32k = 1920.
  assert model.feature_channels == (256, 512, 1792, 1920)
  assert [len(block) for block in model.blocks] == [6, 12, 48, 32]
  assert [t.conv.kernel.shape for t in model.transitions] == [(1, 1, 256, 128), (1, 1, 512, 256), (1, 1, 1792, 896)]
  layer = model.blocks[2][0]  # bottleneck to bn_size * k = 128 channels, then k new ones
  assert layer.conv1.kernel.shape == (1, 1, 256, 128) and layer.conv2.kernel.shape == (3, 3, 128, 32)
  assert model.head.kernel.shape == (1920, 1000)


def test_features_are_transition_activations_and_the_final_norm():
  model = models.create("densenet201", num_classes=10, input_shape=(64, 64, 3), classifier=False, **TINY)
  assert not hasattr(model, "head")
  with pytest.raises(ValueError, match="classifier=False: call `features"):
    model(jnp.zeros((1, 64, 64, 3)))
  x = jax.random.normal(jax.random.key(0), (2, 64, 64, 3))
  maps = nnx.jit(lambda m, x: m.features(x))(model, x)  # one compilation, not op-by-op dispatch
  # 8 + 4 = 12 -> 6 + 8 = 14 -> 7 + 4 = 11 -> 5 + 4 = 9 channels at strides 4, 8, 16, 32.
  assert [m.shape for m in maps] == [(2, 16, 16, 12), (2, 8, 8, 14), (2, 4, 4, 11), (2, 2, 2, 9)]
  # The transitions' activations follow a ReLU; the last map is the final batch norm's output, before the ReLU: in
  # training mode it has zero mean and unit variance over batch and space per channel.
  assert all(float(m.min()) >= 0 for m in maps[:3])
  last = np.asarray(maps[3])
  np.testing.assert_allclose(last.mean(axis=(0, 1, 2)), 0, atol=1e-5)
  np.testing.assert_allclose(last.var(axis=(0, 1, 2)), 1, atol=1e-3)


def test_dense_layer_passes_its_input_on_and_pools_like_pytorch():
  layer = densenet.DenseLayer(5, 3, 2, rngs=nnx.Rngs(0))
  x = jax.random.normal(jax.random.key(1), (1, 4, 4, 5))
  out = layer(x)
  assert out.shape == (1, 4, 4, 8) and jnp.array_equal(out[..., :5], x)
  # 2x2 average pooling, stride 2, an odd last row dropped (AvgPool2d(2, 2) floors the output size).
  y = np.arange(2 * 5 * 4 * 1, dtype=np.float32).reshape(2, 5, 4, 1)
  expected = y[:, :4].reshape(2, 2, 2, 2, 2, 1).mean(axis=(2, 4))
  np.testing.assert_allclose(densenet._avg_pool_2x2(jnp.asarray(y)), expected)


# Run with the small layout `TINY`; DenseNet-201 itself is traced below.
FAST = [("densenet201", (64, 64, 3))]


@pytest.mark.parametrize("name, input_shape", FAST)
def test_a_small_densenet_trains(name, input_shape):
  check_forward_backward(name, input_shape, batch=2, **TINY)


def test_bad_block_config_is_a_clear_error():
  with pytest.raises(ValueError, match="block_config must give 4 positive"):
    abstract("densenet201", 10, (64, 64, 3), block_config=(6, 12, 48))


def test_forward_and_backward_traced(densenet201):
  # DenseNet-201's forward and backward pass at ImageNet size, traced (executing it proves nothing more than the
  # small one above).
  logits, _ = trace_forward_backward(densenet201, "densenet201", (224, 224, 3), batch=2)
  assert logits.shape == (2, 1000)
