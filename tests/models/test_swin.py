"""el_jax.models.swin, Swin-T: its published parameter count, the relative position index, shifted windows that
attend only within themselves, padding to whole windows, and forward and backward passes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from el_jax import models
from el_jax.models.swin import ShiftedWindowAttention, relative_position_index
from tests.models.checks import abstract, check_forward_backward


@pytest.mark.parametrize(
  "name, num_classes, input_shape, expected",
  [
    # torchvision's published count with 1,000 ImageNet classes.
    ("swin_t", 1000, (224, 224, 3), 28_288_354),
    # No absolute position embedding: Swin's count does not depend on the input size.
    ("swin_t", 1000, (32, 32, 3), 28_288_354),
  ],
)
def test_parameter_counts_match_published_figures(name, num_classes, input_shape, expected):
  assert models.count_params(abstract(name, num_classes, input_shape)) == expected


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
  model = abstract("swin_t", 10, (32, 32, 3))
  out = nnx.eval_shape(lambda m: m(jnp.zeros((2, 32, 32, 3))), model)
  assert out.shape == (2, 10)


# One training step at 32x32 (padded windows, shifted in the first stage only) and at 224x224, where every stage but
# the last shifts.
LARGE = [("swin_t", (32, 32, 3), 2), ("swin_t", (224, 224, 3), 1)]


@pytest.mark.slow
@pytest.mark.parametrize("name, input_shape, batch", LARGE)
def test_forward_and_backward_large(name, input_shape, batch):
  check_forward_backward(name, input_shape, batch=batch)
