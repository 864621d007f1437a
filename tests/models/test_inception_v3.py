"""el_jax.models.inception_v3: the parameter count (published, and convolution by convolution), the smallest input,
and a forward and backward pass."""

import pytest

from el_jax import models
from tests.models.checks import abstract, check_forward_backward


@pytest.mark.parametrize(
  "name, num_classes, input_shape, expected",
  [
    # torchvision's 27,161,264 less its auxiliary classifier (see test_inception_v3_count_by_layer_shapes).
    ("inception_v3", 1000, (299, 299, 3), 23_834_568),
  ],
)
def test_parameter_counts_match_published_figures(name, num_classes, input_shape, expected):
  assert models.count_params(abstract(name, num_classes, input_shape)) == expected


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
  assert models.count_params(abstract("inception_v3", 1000, (299, 299, 3))) == total


def test_inception_v3_rejects_inputs_below_75_pixels():
  with pytest.raises(ValueError, match="at least 75x75"):
    models.create("inception_v3", num_classes=10, input_shape=(64, 64, 3))


# One training step at its smallest input, a batch of 2: its last feature map is 1x1, and batch norm over a single
# value would zero every gradient.
LARGE = [("inception_v3", (75, 75, 3), 2)]


@pytest.mark.slow
@pytest.mark.parametrize("name, input_shape, batch", LARGE)
def test_forward_and_backward_large(name, input_shape, batch):
  check_forward_backward(name, input_shape, batch=batch)
