"""Bringing an image set to another set's input shape, against PIL and the luma formula computed here."""

import numpy as np
import pytest
from PIL import Image

from el_jax.data import conform


def _rgb(h, w, seed=0):
  return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_grey_to_colour_repeats_the_channel_and_colour_to_grey_is_the_601_luma():
  grey = np.random.default_rng(1).integers(0, 256, (3, 5, 5, 1), dtype=np.uint8)
  np.testing.assert_array_equal(conform.conform(grey, (5, 5, 3)), np.repeat(grey, 3, axis=-1))
  rgb = np.stack([_rgb(5, 5, s) for s in range(3)])
  luma = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])  # ITU-R 601-2
  out = conform.conform(rgb, (5, 5, 1))
  assert out.shape == (3, 5, 5, 1) and out.dtype == np.uint8
  assert np.abs(out[..., 0].astype(np.float64) - luma).max() <= 0.5 + 1e-6  # rounded


def test_other_sizes_resize_the_shorter_side_bilinearly_and_crop_the_centre():
  image = _rgb(40, 60)
  expected = np.asarray(Image.fromarray(image).resize((30, 20), Image.BILINEAR))[:, 5:25]
  np.testing.assert_array_equal(conform.conform_image(image, (20, 20, 3)), expected)
  tall = _rgb(50, 30, 2)  # ImageNet-style: shorter side to `resize`, then the centre crop
  resized = np.asarray(Image.fromarray(tall).resize((14, 23), Image.BILINEAR))  # 30 -> 14, 50 -> int(14 * 50 / 30)
  np.testing.assert_array_equal(conform.conform_image(tall, (12, 12, 3), resize=14), resized[6:18, 1:13])


def test_images_of_several_sizes_and_channels_stack_into_one_uint8_array():
  images = [_rgb(40, 60), np.full((105, 105, 1), 200, np.uint8), _rgb(28, 28, 3)]
  out = conform.conform(images, (28, 28, 1))
  assert out.shape == (3, 28, 28, 1) and out.dtype == np.uint8
  np.testing.assert_array_equal(out[1], 200)  # a constant image stays constant through the resize
  same = np.zeros((2, 28, 28, 1), np.uint8)
  assert conform.conform(same, (28, 28, 1)) is same


def test_bad_inputs_are_named():
  with pytest.raises(ValueError, match="uint8"):
    conform.conform_image(np.zeros((4, 4, 3), np.float32), (4, 4, 3))
  with pytest.raises(ValueError, match="not square"):
    conform.conform_image(np.zeros((4, 4, 3), np.uint8), (4, 6, 3))
  with pytest.raises(ValueError, match="2 channels"):
    conform.conform_image(np.zeros((4, 4, 2), np.uint8), (4, 4, 3))
