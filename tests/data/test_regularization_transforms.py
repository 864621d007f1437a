"""The mixing paper's Table 6 augmentations, RandomErasing and ColorJitter, against their formulas."""

import numpy as np
import pytest
from scipy import stats

from el_jax.data import transforms


def _record(image):
  return {"image": image, "label": 1}


def test_random_erasing_windows_have_zhongs_area_and_aspect_and_fit():
  erase = transforms.RandomErasing()
  rng = np.random.default_rng(0)
  for _ in range(500):
    top, left, h, w = erase.window(32, 32, rng)
    assert 0 <= top and top + h <= 32 and 0 <= left and left + w <= 32
    # h, w are rounded from sqrt(S r) and sqrt(S / r): allow half a pixel either way
    assert 0.02 * 1024 <= (h + 0.5) * (w + 0.5) and (h - 0.5) * (w - 0.5) <= 0.4 * 1024
    assert 0.3 <= (h + 0.5) / (w - 0.5 if w > 1 else 0.5) and (h - 0.5) / (w + 0.5) <= 1 / 0.3


def test_random_erasing_replaces_exactly_the_window_with_uniform_noise():
  erase = transforms.RandomErasing(p=1.0)
  image = np.full((32, 32, 3), 2.0, np.float32)  # outside the noise's [0, 1): erased pixels are recognisable
  out = erase.random_map(_record(image), np.random.default_rng(3))["image"]
  rng = np.random.default_rng(3)
  rng.random()  # the draw deciding whether to erase
  top, left, h, w = erase.window(32, 32, rng)
  expected = np.zeros((32, 32), bool)
  expected[top : top + h, left : left + w] = True
  np.testing.assert_array_equal((out < 1).all(-1), expected)
  np.testing.assert_array_equal(out[~expected], 2.0)
  # uint8 noise covers the whole pixel range, uniformly (Kolmogorov-Smirnov against U{0..255})
  noisy = [transforms.RandomErasing(p=1.0, area=(0.4, 0.4)).random_map(_record(np.zeros((32, 32, 3), np.uint8)), rng)]
  values = noisy[0]["image"][noisy[0]["image"] > 0].astype(np.float64)
  assert stats.kstest(values + rng.random(values.size), stats.uniform(0, 256).cdf).pvalue > 1e-3


def test_random_erasing_probability_and_determinism():
  erase = transforms.RandomErasing()  # p = 0.5
  image = np.full((16, 16, 3), 2.0, np.float32)
  erased = [(erase.random_map(_record(image), np.random.default_rng(s))["image"] < 1).any() for s in range(400)]
  assert stats.binomtest(int(np.sum(erased)), 400, 0.5).pvalue > 1e-3
  a = erase.random_map(_record(image), np.random.default_rng(7))["image"]
  np.testing.assert_array_equal(a, erase.random_map(_record(image), np.random.default_rng(7))["image"])


def _jitter_reference(x, changes):
  """torchvision's formulas on float64 pixels: brightness f x, contrast and saturation blends with the grey level."""
  x = x.astype(np.float64)
  for name, f in changes:
    grey = (0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2])[..., None]
    other = {"brightness": 0.0, "contrast": grey.mean(), "saturation": grey}[name]
    x = np.clip(f * x + (1 - f) * other, 0, 255)
  return np.round(x)


def test_color_jitter_matches_the_blend_formulas():
  jitter = transforms.ColorJitter()
  image = np.random.default_rng(0).integers(0, 256, (8, 8, 3)).astype(np.uint8)
  for seed in range(5):
    out = jitter.random_map(_record(image), np.random.default_rng(seed))["image"]
    changes = jitter.draw(np.random.default_rng(seed))
    assert sorted(name for name, _ in changes) == ["brightness", "contrast", "saturation"]
    assert out.dtype == np.uint8
    np.testing.assert_allclose(out, _jitter_reference(image, changes), atol=1)  # float32 vs float64 rounding


def test_color_jitter_factors_are_uniform_around_one():
  jitter = transforms.ColorJitter(0.4, 0.2, 0.0)  # saturation off
  rng = np.random.default_rng(1)
  draws = [dict(jitter.draw(rng)) for _ in range(2000)]
  assert all(set(d) == {"brightness", "contrast"} for d in draws)
  brightness = np.array([d["brightness"] for d in draws])
  contrast = np.array([d["contrast"] for d in draws])
  assert brightness.min() >= 0.6 and brightness.max() <= 1.4 and contrast.min() >= 0.8 and contrast.max() <= 1.2
  # E[f] = 1 and U(1 - s, 1 + s) in distribution
  assert abs(brightness.mean() - 1) < 4 * 0.4 / np.sqrt(3 * 2000)
  assert stats.kstest(brightness, stats.uniform(0.6, 0.8).cdf).pvalue > 1e-3
  # a grey image keeps its saturation; a constant image keeps its contrast
  grey = np.full((4, 4, 3), 100, np.uint8)
  np.testing.assert_array_equal(transforms.ColorJitter.apply(grey, [("saturation", 1.4), ("contrast", 0.6)]), grey)


def test_regularization_recipes_and_errors():
  train, evaluation = transforms.augmentation("cifar_random_erasing", size=32)
  assert [type(t).__name__ for t in train] == ["RandomCropWithPadding", "RandomHorizontalFlip", "RandomErasing"]
  assert evaluation == ()
  train, _ = transforms.augmentation("cifar_color_jitter", size=32)
  assert [type(t).__name__ for t in train] == ["ColorJitter", "RandomCropWithPadding", "RandomHorizontalFlip"]
  with pytest.raises(ValueError, match="Unknown augmentation 'erasing'.*'cifar_random_erasing'"):
    transforms.augmentation("erasing", size=32)
  with pytest.raises(ValueError, match=r"area\[0\] <= area\[1\]"):
    transforms.RandomErasing(area=(0.5, 0.2))
  with pytest.raises(ValueError, match="brightness must lie in"):
    transforms.ColorJitter(brightness=1.5)
