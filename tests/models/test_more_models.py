"""ShuffleNet V2, ResNeXt-50/101, Inception v3 and Swin-T: published parameter counts, structure, and training steps."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from el_jax import models
from el_jax.models.shufflenet_v2 import channel_shuffle
from el_jax.models.swin import ShiftedWindowAttention, relative_position_index
from tests.models.test_models import _abstract, _check_forward_backward

NEW_MODELS = {"shufflenet_v2", "resnext50_32x4d", "resnext101_32x8d", "inception_v3", "swin_t"}


@pytest.mark.parametrize(
  "name, num_classes, input_shape, expected",
  [
    # torchvision's published counts with 1,000 ImageNet classes.
    ("shufflenet_v2", 1000, (224, 224, 3), 2_278_604),
    ("resnext50_32x4d", 1000, (224, 224, 3), 25_028_904),
    ("resnext101_32x8d", 1000, (224, 224, 3), 88_791_336),
    ("swin_t", 1000, (224, 224, 3), 28_288_354),
    # No absolute position embedding: Swin's count does not depend on the input size.
    ("swin_t", 1000, (32, 32, 3), 28_288_354),
    # torchvision's 27,161,264 less its auxiliary classifier (see test_inception_v3_count_by_layer_shapes).
    ("inception_v3", 1000, (299, 299, 3), 23_834_568),
    # The CIFAR stem of ShuffleNet V2 has the ImageNet stem's shape; only the classifier changes with K.
    ("shufflenet_v2", 1000, (32, 32, 3), 2_278_604),
    ("shufflenet_v2", 10, (32, 32, 3), 2_278_604 - 990 * 1025),
  ],
)
def test_parameter_counts_match_published_figures(name, num_classes, input_shape, expected):
  assert models.count_params(_abstract(name, num_classes, input_shape)) == expected


def test_inception_v3_count_by_layer_shapes():
  # Every convolution of Inception v3 as (in, out, kernel height, kernel width); each has no bias and a batch norm
  # with a scale and a bias per output channel.
  def a(c, pool):  # InceptionA, one branch a line
    return [
      (c, 64, 1, 1),
      *[(c, 48, 1, 1), (48, 64, 5, 5)],
      *[(c, 64, 1, 1), (64, 96, 3, 3), (96, 96, 3, 3)],
      (c, pool, 1, 1),
    ]

  def c7(n):  # InceptionC
    return [
      (768, 192, 1, 1),
      *[(768, n, 1, 1), (n, n, 1, 7), (n, 192, 7, 1)],
      *[(768, n, 1, 1), (n, n, 7, 1), (n, n, 1, 7), (n, n, 7, 1), (n, 192, 1, 7)],
      (768, 192, 1, 1),
    ]

  def e(c):  # InceptionE
    return [
      (c, 320, 1, 1),
      *[(c, 384, 1, 1), (384, 384, 1, 3), (384, 384, 3, 1)],
      *[(c, 448, 1, 1), (448, 384, 3, 3), (384, 384, 1, 3), (384, 384, 3, 1)],
      (c, 192, 1, 1),
    ]

  stem = [(3, 32, 3, 3), (32, 32, 3, 3), (32, 64, 3, 3), (64, 80, 1, 1), (80, 192, 3, 3)]
  mixed_6a = [(288, 384, 3, 3), *[(288, 64, 1, 1), (64, 96, 3, 3), (96, 96, 3, 3)]]
  mixed_7a = [
    *[(768, 192, 1, 1), (192, 320, 3, 3)],
    *[(768, 192, 1, 1), (192, 192, 1, 7), (192, 192, 7, 1), (192, 192, 3, 3)],
  ]
  convs = stem + a(192, 32) + a(256, 64) + a(288, 64) + mixed_6a + c7(128) + c7(160) + c7(160) + c7(192)
  convs += mixed_7a + e(1280) + e(2048)
  assert len(convs) == 94  # torchvision's Inception3 has 94 BasicConv2d modules besides the auxiliary head's 2
  total = sum(i * o * kh * kw + 2 * o for i, o, kh, kw in convs) + 2048 * 1000 + 1000
  # The auxiliary head on Mixed_6e: 1x1(768->128) and 5x5(128->768) convolutions with batch norm, dense(768->1000).
  aux = (768 * 128 + 2 * 128) + (128 * 768 * 25 + 2 * 768) + 768 * 1000 + 1000
  assert (total, aux, total + aux) == (23_834_568, 3_326_696, 27_161_264)
  assert models.count_params(_abstract("inception_v3", 1000, (299, 299, 3))) == total


def test_resnext_groups_its_3x3_convolutions_and_leaves_resnets_alone():
  resnext = _abstract("resnext50_32x4d", 10, (224, 224, 3))
  # First stage: 32 groups of 4 channels (an inner width of 128), then 256 output channels; 8 per group in 101 32x8d.
  assert resnext.blocks[0].conv2.kernel.shape == (3, 3, 4, 128)
  assert resnext.blocks[0].conv2.feature_group_count == 32 and resnext.blocks[0].conv3.kernel.shape == (1, 1, 128, 256)
  assert resnext.blocks[-1].conv2.kernel.shape == (3, 3, 32, 1024)
  assert _abstract("resnext101_32x8d", 10, (224, 224, 3)).blocks[-1].conv2.kernel.shape == (3, 3, 64, 2048)
  resnet = _abstract("resnet50", 10, (224, 224, 3))
  assert resnet.blocks[0].conv2.kernel.shape == (3, 3, 64, 64) and resnet.blocks[0].conv2.feature_group_count == 1
  with pytest.raises(ValueError, match="need a bottleneck ResNet"):
    models.create("resnet18", num_classes=10, input_shape=(32, 32, 3), groups=32, width_per_group=4)


@pytest.mark.parametrize(
  "input_shape, stem, imagenet_stem",
  [
    ((32, 32, 3), "auto", False),
    ((64, 64, 3), "auto", False),
    ((96, 96, 3), "auto", True),
    ((224, 224, 3), "auto", True),
  ]
  + [((224, 224, 3), "cifar", False), ((32, 32, 3), "imagenet", True)],
)
def test_shufflenet_stem_follows_the_input_size(input_shape, stem, imagenet_stem):
  model = _abstract("shufflenet_v2", 10, input_shape, stem=stem)
  assert model.imagenet_stem == imagenet_stem
  assert model.stem.strides == (2 if imagenet_stem else 1)


def test_channel_shuffle_interleaves_the_two_halves():
  x = jnp.arange(8.0).reshape(1, 1, 1, 8)
  np.testing.assert_array_equal(channel_shuffle(x, 2).ravel(), [0, 4, 1, 5, 2, 6, 3, 7])
  np.testing.assert_array_equal(channel_shuffle(jnp.arange(6.0), 3), [0, 2, 4, 1, 3, 5])


def test_relative_position_index_numbers_each_offset_once():
  window = 7
  index = relative_position_index(window)
  assert index.shape == (49, 49) and index.min() == 0 and index.max() == 168 and len(np.unique(index)) == 169
  # A token and itself: offset (0, 0), the centre of the 13 x 13 table; the pair (0, 0) -> (6, 6) is offset
  # (-6, -6), its first row, and the reverse pair its last.
  assert set(np.diag(index)) == {6 * 13 + 6} and index[0, 48] == 0 and index[48, 0] == 168
  ys, xs = np.divmod(np.arange(49), 7)
  offsets = (ys[:, None] - ys[None, :]) * 100 + (xs[:, None] - xs[None, :])
  # The same index if and only if the same offset.
  assert np.array_equal(index[:, :, None] == index.ravel()[None, None], offsets[:, :, None] == offsets.ravel())


@pytest.mark.parametrize("shift", [0, 3])
def test_shifted_windows_attend_only_within_their_window(shift):
  size, window = 14, 7
  attention = ShiftedWindowAttention(8, 2, window, shift, rngs=nnx.Rngs(0))
  x = jax.random.normal(jax.random.key(0), (1, size, size, 8))
  # Which input tokens each output token depends on: [size, size (output), size, size (input)].
  graphdef, state = nnx.split(attention)
  jacobian = jax.jit(jax.jacobian(lambda x: nnx.merge(graphdef, state)(x)[0].sum(-1)))(x)[:, :, 0]
  depends = np.abs(np.asarray(jacobian)).sum(-1) > 1e-20
  # The windows of the shifted grid, in the unshifted map: rows and columns [0, 3), [3, 10), [10, 14) for a shift of
  # 3, with no wrapping around; [0, 7), [7, 14) for no shift.
  cell = (np.arange(size) + (window - shift if shift else 0)) // window
  region = cell[:, None] * 10 + cell[None, :]
  expected = region[:, :, None, None] == region[None, None, :, :]
  assert np.array_equal(depends, expected)


def test_swin_pads_maps_that_are_not_a_multiple_of_the_window():
  # 32x32 -> 8x8 tokens (padded to 14x14 for the windows) -> 4x4 -> 2x2 -> 1x1.
  model = _abstract("swin_t", 10, (32, 32, 3))
  out = nnx.eval_shape(lambda m: m(jnp.zeros((2, 32, 32, 3))), model)
  assert out.shape == (2, 10)


def test_inception_v3_rejects_inputs_below_75_pixels():
  with pytest.raises(ValueError, match="at least 75x75"):
    models.create("inception_v3", num_classes=10, input_shape=(64, 64, 3))


# One training step per model at small inputs: the CIFAR stems at 32x32 (ShuffleNet V2's is also quick enough to run
# outside the slow set), the ImageNet stem of ShuffleNet V2 at 72x72, Inception v3 at its smallest input (a batch of 2:
# its last feature map is 1x1, and batch norm over a single value would zero every gradient), and Swin-T at 32x32
# (padded windows, shifted in the first stage only) and at 224x224, where every stage but the last shifts.
_LARGE = [
  ("shufflenet_v2", (72, 72, 3), 2),
  ("resnext50_32x4d", (32, 32, 3), 2),
  ("resnext101_32x8d", (32, 32, 3), 2),
  ("inception_v3", (75, 75, 3), 2),
  ("swin_t", (32, 32, 3), 2),
  ("swin_t", (224, 224, 3), 1),
]


@pytest.mark.slow
@pytest.mark.parametrize("name, input_shape, batch", _LARGE)
def test_forward_and_backward_large(name, input_shape, batch):
  _check_forward_backward(name, input_shape, batch=batch)


def test_forward_and_backward():
  _check_forward_backward("shufflenet_v2", (32, 32, 3))


def test_new_models_are_registered_exported_and_exercised():
  assert NEW_MODELS <= set(models.names())
  assert {name for name, _, _ in _LARGE} == NEW_MODELS
  for cls in ("ShuffleNetV2", "InceptionV3", "SwinTransformer"):
    assert cls in models.__all__ and hasattr(models, cls)
