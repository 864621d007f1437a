"""The synthetic OOD sets keep what they must keep (pixels, amplitudes) and are reproducible."""

import numpy as np

from el_jax.evaluate import ood_sets


def _images(n=6, seed=0):
  return np.random.default_rng(seed).integers(0, 256, (n, 28, 28, 1)).astype(np.uint8)


def test_permuted_pixels_keep_each_images_pixel_values():
  images = _images()
  permuted = ood_sets.permuted_pixels(images, seed=1)
  assert not np.array_equal(permuted, images)
  for a, b in zip(images, permuted, strict=True):
    np.testing.assert_array_equal(np.sort(a.ravel()), np.sort(b.ravel()))


def test_phase_randomised_images_keep_their_amplitude_spectrum():
  # A dim image (values around 60..100) stays inside 0..255, so only the rounding changes the amplitudes.
  images = (60 + _images() // 8).astype(np.uint8)
  out = ood_sets.phase_randomised(images, seed=2)
  amp_in = np.abs(np.fft.fft2(images[..., 0].astype(float)))
  amp_out = np.abs(np.fft.fft2(out[..., 0].astype(float)))
  assert np.abs(amp_in - amp_out).max() < 28 * 28 * 0.5 / 10  # rounding moves each pixel by <= 0.5
  assert np.corrcoef(images.ravel(), out.ravel())[0, 1] < 0.5


def test_blobs_and_noise_are_binary_or_uniform_and_reproducible():
  images = _images(200)
  blobs = ood_sets.random_blobs(images, seed=3)
  assert set(np.unique(blobs)) == {0, 255} and 0.05 < (blobs == 255).mean() < 0.95
  np.testing.assert_array_equal(blobs, ood_sets.random_blobs(images, seed=3))
  noise = ood_sets.uniform_noise(images, seed=4)
  assert abs(noise.mean() - 127.5) < 2 and noise.shape == images.shape


def test_build_gives_mnist_digits_for_fashion_mnist():
  sets = ood_sets.build("fashion_mnist", _images(50), count=40)
  assert list(sets) == [*ood_sets.SYNTHETIC, "mnist_digits"]
  assert all(v.shape == (40, 28, 28, 1) and v.dtype == np.uint8 for v in sets.values())
