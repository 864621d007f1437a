"""el_jax.models.shufflenet_v2: published parameter counts, the stem chosen by input size, the channel shuffle, and
forward and backward passes."""

import jax.numpy as jnp
import numpy as np
import pytest

from el_jax import models
from el_jax.models.shufflenet_v2 import channel_shuffle
from tests.models.checks import abstract, check_forward_backward


@pytest.mark.parametrize(
  "name, num_classes, input_shape, expected",
  [
    # torchvision's published count with 1,000 ImageNet classes.
    ("shufflenet_v2", 1000, (224, 224, 3), 2_278_604),
    # The CIFAR stem of ShuffleNet V2 has the ImageNet stem's shape; only the classifier changes with K.
    ("shufflenet_v2", 1000, (32, 32, 3), 2_278_604),
    ("shufflenet_v2", 10, (32, 32, 3), 2_278_604 - 990 * 1025),
  ],
)
def test_parameter_counts_match_published_figures(name, num_classes, input_shape, expected):
  assert models.count_params(abstract(name, num_classes, input_shape)) == expected


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
  model = abstract("shufflenet_v2", 10, input_shape, stem=stem)
  assert model.imagenet_stem == imagenet_stem
  assert model.stem.strides == (2 if imagenet_stem else 1)


def test_channel_shuffle_interleaves_the_two_halves():
  x = jnp.arange(8.0).reshape(1, 1, 1, 8)
  np.testing.assert_array_equal(channel_shuffle(x, 2).ravel(), [0, 4, 1, 5, 2, 6, 3, 7])
  np.testing.assert_array_equal(channel_shuffle(jnp.arange(6.0), 3), [0, 2, 4, 1, 3, 5])


# One training step with the ImageNet stem at 72x72; the CIFAR stem at 32x32 is quick enough to run outside the slow
# set.
LARGE = [("shufflenet_v2", (72, 72, 3), 2)]


@pytest.mark.slow
@pytest.mark.parametrize("name, input_shape, batch", LARGE)
def test_forward_and_backward_large(name, input_shape, batch):
  check_forward_backward(name, input_shape, batch=batch)


def test_forward_and_backward():
  check_forward_backward("shufflenet_v2", (32, 32, 3))
