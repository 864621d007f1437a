"""Out-of-distribution image sets: the four synthetic sets of HEM appendix A.1.2 and a real other-domain set.

Each synthetic set is made from the in-distribution test images (for their shape and, where noted, their
content) with a fixed seed, as uint8 pixels `[N, H, W, C]`, so it goes through the same pipeline as real data:

- `uniform_noise`: every pixel drawn independently and uniformly from 0..255;
- `random_blobs`: Bernoulli(0.7) pixels, Gaussian-blurred (sigma 1.5 pixels) and thresholded at 0.75 to black or
  white, the blobs of Hendrycks et al. (2019);
- `permuted_pixels`: each test image with its pixel positions shuffled by its own random permutation;
- `phase_randomised`: each test image with its Fourier amplitudes kept and its phases replaced by those of white
  noise (so the image stays real), rounded and clipped back to 0..255.

The real set is the other domain's digits or clothes: MNIST digits for a Fashion-MNIST model, Fashion-MNIST for a
digit model (EL §4.4 uses MNIST vs Fashion-MNIST). The evaluation's default sets per data set, the HEM paper's real
sets among them, are in `el_jax.evaluate.dataset_defaults`; the real sets are read by `el_jax.data.ood_sources`.
"""

import numpy as np
from scipy import ndimage

from el_jax import data
from el_jax.data import mnist_digits

BLOB_PROBABILITY = 0.7
BLOB_SIGMA = 1.5
BLOB_THRESHOLD = 0.75
SYNTHETIC = ("uniform_noise", "random_blobs", "permuted_pixels", "phase_randomised")
# The real out-of-distribution set of each in-distribution dataset: (loader, description).
_REAL = {
  "fashion_mnist": ("mnist_digits", lambda: mnist_digits.load("all")),
  "mnist_digits": ("fashion_mnist", lambda: data.load("fashion_mnist", "test")),
  "mnist": ("fashion_mnist", lambda: data.load("fashion_mnist", "test")),
}


def uniform_noise(images: np.ndarray, seed: int) -> np.ndarray:
  """Uniform noise images of the shape of `images`."""
  return np.random.default_rng(seed).integers(0, 256, images.shape, dtype=np.uint8)


def random_blobs(images: np.ndarray, seed: int) -> np.ndarray:
  """Black-and-white blob images of the shape of `images` (Hendrycks et al., 2019)."""
  noise = np.random.default_rng(seed).binomial(1, BLOB_PROBABILITY, images.shape).astype(np.float32)
  blurred = ndimage.gaussian_filter(noise, sigma=(0, BLOB_SIGMA, BLOB_SIGMA, 0))
  return np.where(blurred >= BLOB_THRESHOLD, 255, 0).astype(np.uint8)


def permuted_pixels(images: np.ndarray, seed: int) -> np.ndarray:
  """`images` with each image's pixel positions (all channels together) shuffled independently."""
  n, h, w, c = images.shape
  order = np.argsort(np.random.default_rng(seed).random((n, h * w)), axis=1)
  return np.take_along_axis(images.reshape(n, h * w, c), order[..., None], axis=1).reshape(images.shape)


def phase_randomised(images: np.ndarray, seed: int) -> np.ndarray:
  """`images` with Fourier amplitudes kept and phases taken from white noise's spectrum, clipped to 0..255."""
  spectrum = np.fft.fft2(images.astype(np.float64), axes=(1, 2))
  noise = np.fft.fft2(np.random.default_rng(seed).random(images.shape), axes=(1, 2))
  mixed = np.abs(spectrum) * np.exp(1j * np.angle(noise))
  return np.clip(np.rint(np.fft.ifft2(mixed, axes=(1, 2)).real), 0, 255).astype(np.uint8)


_MAKERS = {
  "uniform_noise": uniform_noise,
  "random_blobs": random_blobs,
  "permuted_pixels": permuted_pixels,
  "phase_randomised": phase_randomised,
}


def synthetic(name: str, images: np.ndarray, seed: int) -> np.ndarray:
  """Synthetic set `name` made from uint8 `images [N, H, W, C]`, with the seed `build` gives it (`seed` plus its
  place in `SYNTHETIC`)."""
  if name not in _MAKERS:
    raise ValueError(f"Unknown synthetic OOD set {name!r}; valid: {', '.join(SYNTHETIC)}.")
  return _MAKERS[name](images, seed + SYNTHETIC.index(name))


def real_set_name(dataset_name: str) -> str | None:
  """The name of the real OOD set used for `dataset_name`, or None if it has none."""
  return _REAL[dataset_name][0] if dataset_name in _REAL else None


def build(dataset_name: str, test_images: np.ndarray, *, seed: int = 0, count: int | None = None) -> dict:
  """The OOD sets for a model trained on `dataset_name`: `{name: uint8 images [M, H, W, C]}`.

  The synthetic sets have one image per test image (the first `count` if given); the real set (when the dataset
  has one and its image shape matches) its first `count` images. Each synthetic set uses its own fixed seed.
  """
  if test_images.dtype != np.uint8 or test_images.ndim != 4:
    raise ValueError(f"test_images must be uint8 [N, H, W, C], got {test_images.dtype} {test_images.shape}.")
  reference = test_images[:count]
  sets = {name: synthetic(name, reference, seed) for name in SYNTHETIC}
  if dataset_name in _REAL:
    name, load = _REAL[dataset_name]
    real = load().images[:count]
    if real.shape[1:] != test_images.shape[1:]:
      raise ValueError(f"{name} images are {real.shape[1:]}, the model's inputs {test_images.shape[1:]}.")
    sets[name] = real
  return sets
