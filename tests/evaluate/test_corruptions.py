"""The on-the-fly corruptions against closed forms: intensity maps, integer translations, symmetric rotations,
Poisson noise statistics, line intensities; reproducibility and input checks."""

import math

import numpy as np
import pytest

from el_jax.evaluate import corruptions


def _images(n=8, seed=0):
  return np.random.default_rng(seed).integers(0, 256, (n, 28, 28, 1)).astype(np.uint8)


def _blob(n=2):
  """A centred Gaussian blob (sigma 4 pixels): smooth, so bilinear resampling is nearly exact."""
  rows, cols = np.mgrid[:28, :28]
  blob = 200 * np.exp(-((rows - 13.5) ** 2 + (cols - 13.5) ** 2) / (2 * 4.0**2))
  return np.repeat(np.rint(blob)[None, ..., None], n, axis=0).astype(np.uint8)


def test_every_family_is_reproducible_and_keeps_shape_and_dtype():
  images = _images()
  for name in corruptions.names():
    out = corruptions.corrupt(name, images, seed=3)
    assert out.shape == images.shape and out.dtype == np.uint8, name
    np.testing.assert_array_equal(out, corruptions.corrupt(name, images, seed=3), err_msg=name)
    assert not np.array_equal(out, images), name


def test_intensity_corruptions_closed_forms():
  images = _images()
  x = images / 255.0
  brightness = corruptions.corrupt("brightness", images, seed=0, severity=5)
  np.testing.assert_array_equal(brightness, np.rint(np.clip(x + 0.5, 0, 1) * 255))
  mean = x.mean(axis=(1, 2), keepdims=True)
  contrast = corruptions.corrupt("contrast", images, seed=0, severity=4)
  np.testing.assert_array_equal(contrast, np.rint(((x - mean) * 0.1 + mean) * 255))
  stripe = corruptions.corrupt("stripe", images, seed=0)
  np.testing.assert_array_equal(stripe[:, :, :7], 255 - images[:, :, :7])
  np.testing.assert_array_equal(stripe[:, :, 7:21], images[:, :, 7:21])
  np.testing.assert_array_equal(stripe[:, :, 21:], 255 - images[:, :, 21:])


def test_translate_shifts_by_whole_pixels_with_zero_fill():
  images = _images(16)
  out = corruptions.corrupt("translate", images, seed=1, severity=3)
  padded = np.pad(images, ((0, 0), (3, 3), (3, 3), (0, 0)))
  for image, shifted in zip(padded, out, strict=True):
    candidates = [image[3 + dr : 31 + dr, 3 + dc : 31 + dc] for dr in (-3, 3) for dc in (-3, 3)]
    assert any(np.array_equal(shifted, c) for c in candidates)


def test_rotation_keeps_a_centred_blob_and_scale_shrinks_it():
  blob = _blob()
  rotated = corruptions.corrupt("rotate", blob, seed=0, severity=5).astype(int)
  assert np.abs(rotated - blob).max() <= 6
  scaled = corruptions.corrupt("scale", blob, seed=0, severity=5)  # shrinks by 0.5: a quarter of the area
  assert scaled.astype(float).sum() == pytest.approx(blob.astype(float).sum() / 4, rel=0.05)
  assert np.unravel_index(np.argmax(scaled[0, ..., 0]), (28, 28)) in [(13, 13), (13, 14), (14, 13), (14, 14)]


def test_shot_noise_is_unbiased_poisson():
  images = np.full((200, 28, 28, 1), 51, np.uint8)  # x = 0.2; severity 1: Pois(60 x) / 60 (never clipped)
  out = corruptions.corrupt("shot_noise", images, seed=0, severity=1) / 255.0
  assert out.mean() == pytest.approx(0.2, abs=0.002)
  assert out.var() == pytest.approx(0.2 / 60, rel=0.05)


def test_impulse_noise_hits_the_severity_fraction():
  images = np.full((100, 28, 28, 1), 128, np.uint8)
  out = corruptions.corrupt("impulse_noise", images, seed=0, severity=4)
  assert np.mean(out != 128) == pytest.approx(0.17, abs=0.01)
  assert set(np.unique(out)) == {0, 128, 255}


def test_motion_blur_keeps_the_interior_of_a_constant_image_and_lines_light_up():
  flat = np.full((4, 28, 28, 1), 100, np.uint8)
  blurred = corruptions.corrupt("motion_blur", flat, seed=0, severity=1)
  np.testing.assert_array_equal(blurred[:, 12:16, 12:16], 100)
  blank = np.zeros((20, 28, 28, 1), np.uint8)
  for name in ("dotted_line", "zigzag"):
    lines = corruptions.corrupt(name, blank, seed=0)
    # Some lit pixel lies within half a row of the line: glow >= log(1 - 0.5 / 2.3) + 1 ~ 0.755 (192.5 / 255).
    assert np.all(lines.max(axis=(1, 2, 3)) >= 193), name
    assert 0.02 < np.mean(lines > 0) < 0.3, name


def test_bad_input_is_named():
  with pytest.raises(ValueError, match="Valid"):
    corruptions.corrupt("snow", _images(), seed=0)
  with pytest.raises(ValueError, match="severity"):
    corruptions.corrupt("fog", _images(), seed=0, severity=6)
  with pytest.raises(ValueError, match="uint8"):
    corruptions.corrupt("fog", _images() / 255.0, seed=0)


# ---- MNIST-C's arithmetic, re-derived pixel by pixel from its description -------------------------------------


def _small(n=3, h=7, w=9, seed=5):
  """Small [0, 1] images with bright borders, so edge handling shows."""
  x = np.random.default_rng(seed).random((n, h, w, 1))
  x[:, 0] = 1.0
  x[:, :, -1] = 0.9
  return x


@pytest.mark.parametrize("severity", [1, 5])
def test_motion_blur_is_imagemagicks_one_sided_kernel_with_edge_pixels_repeated(severity):
  # ImageMagick's MotionBlurImage(radius, sigma, angle): 2 radius + 1 taps, tap i weighs exp(-i^2 / 2 sigma^2)
  # (normalised) and reads the pixel i steps ahead along the angle, rounded half down to whole pixels; reads past
  # the border take the nearest edge pixel. One angle ~ U(-45, 45) degrees per image.
  radius, sigma = [(10, 3), (15, 5), (15, 8), (15, 12), (20, 15)][severity - 1]
  x = _small()
  n, h, w, _ = x.shape
  out = corruptions.motion_blur(x, np.random.default_rng(7), severity)
  angles = np.random.default_rng(7).uniform(-45, 45, n)
  for b in range(n):
    a = math.radians(angles[b])
    weights = [math.exp(-(i * i) / (2 * sigma * sigma)) for i in range(2 * radius + 1)]
    for r in range(h):
      for c in range(w):
        total = 0.0
        for i, weight in enumerate(weights):
          rr = min(max(r + math.ceil(i * math.sin(a) - 0.5), 0), h - 1)
          cc = min(max(c + math.ceil(i * math.cos(a) - 0.5), 0), w - 1)
          total += weight * x[b, rr, cc, 0]
        assert out[b, r, c, 0] == pytest.approx(total / sum(weights), abs=1e-12), (b, r, c)


def _glow(d):
  """MNIST-C's line intensity at vertical distance d: log(1 - d / 2.3) + 1, in [0, 1], 0 from d = 2.3 on."""
  return min(max(math.log(1 - min(d, 2.3 - 1e-10) / 2.3) + 1, 0.0), 1.0)


def _line(c0, r0, c1, r1, r, c):
  """One pixel of MNIST-C's line: vertical distance to the line, columns floor(c0) <= c < ceil(c1) only."""
  if c1 == c0 or not math.floor(c0) <= c < math.ceil(c1):
    return 0.0
  return _glow(abs(r - (r0 + (r1 - r0) / (c1 - c0) * (c - c0))))


def test_dotted_line_uses_vertical_distance_dashes_and_leaves_the_last_column_dark():
  x = _small(n=4, h=8, w=11)
  n, h, w, _ = x.shape
  out = corruptions.dotted_line(x, np.random.default_rng(3), 1)
  ends = np.random.default_rng(3).integers(0, h - 1, (n, 2))  # r0, r1 per image, in [0, h - 2]
  for b in range(n):
    r0, r1 = ends[b]
    for r in range(h):
      for c in range(w):
        dashed_off = (c // 2) % 2 == 0  # columns 0-1, 4-5, 8-9 dark; 2-3, 6-7 lit
        expected = 0.0 if dashed_off else _line(0, r0, w - 1, r1, r, c)
        assert out[b, r, c, 0] == pytest.approx(x[b, r, c, 0] + expected, abs=1e-12), (b, r, c)
  assert np.all(out[:, :, -1] == x[:, :, -1])
  # A line of slope 1 keeps its vertical profile: the pixel one row off glows log(1 - 1/2.3) + 1 ~ 0.43, as on a
  # flat line, where the perpendicular distance would be 1/sqrt(2) (glow ~ 0.63).
  line = corruptions.line_from_points([0.0], [0.0], [5.0], [5.0], 6, 6)[0]
  assert line[3, 2] == pytest.approx(math.log(1 - 1 / 2.3) + 1, abs=1e-12) and line[2, 2] == 1.0


def test_zigzag_has_two_sided_teeth_of_period_four_a_and_mnist_cs_end_point():
  x = np.zeros((3, 28, 28, 1))
  n, h, w, _ = x.shape
  out = corruptions.zigzag(x, np.random.default_rng(11), 1)
  draws = np.random.default_rng(11).integers([0, -5], [h - 1, 5], (n, 2))  # r0 in [0, 26], r1 - r0 in [-5, 4]
  for b in range(n):
    r0, r1, c0, c1 = draws[b, 0], draws[b, 0] + draws[b, 1], 2, w - 3
    theta = math.atan((r1 - r0) / (c1 - c0))
    length = (c1 - c0) / math.cos(theta)
    # Corners in the line's frame: (a, b), (3a, -b), (5a, b), ... (a = b = 2) while the corner lies on the line,
    # then (length, last offset / (2 (length - 4 floor(length / 4)))).
    frame, along, side = [(0.0, 0.0)], 2.0, 2.0
    while along <= length:
      frame.append((along, side))
      along, side = along + 4.0, -side
    rest = length - 4.0 * math.floor(length / 4.0)
    if rest:
      frame.append((length, frame[-1][1] / (2 * rest)))
    corners = [
      (c0 + u * math.cos(theta) - v * math.sin(theta), r0 + u * math.sin(theta) + v * math.cos(theta)) for u, v in frame
    ]
    assert len(corners) == 8  # 6 corners for lengths 23 .. 23.6
    np.testing.assert_allclose(corruptions.zigzag_points(r0, r1, c0, c1), corners, rtol=0, atol=1e-12)
    for r in range(h):
      for c in range(w):
        total = sum(_line(*p, *q, r, c) for p, q in zip(corners[:-1], corners[1:], strict=True))
        assert out[b, r, c, 0] == pytest.approx(total, abs=1e-12), (b, r, c)


def _vertical_gaussian(image, sigma):
  """scipy's gaussian_filter1d along rows, written out: taps k = -R..R, R = int(4 sigma + 0.5), weights
  exp(-k^2 / 2 sigma^2) normalised, rows past the border repeat the edge row. `image [H, W]`."""
  h, w = image.shape
  radius = int(4 * sigma + 0.5)
  taps = {k: math.exp(-(k * k) / (2 * sigma * sigma)) for k in range(-radius, radius + 1)}
  norm = sum(taps.values())
  out = np.zeros_like(image)
  for r in range(h):
    for c in range(w):
      out[r, c] = sum(weight * image[min(max(r + k, 0), h - 1), c] for k, weight in taps.items()) / norm
  return out


@pytest.mark.parametrize("severity", [1, 5])
def test_glass_blur_blurs_vertically_truncates_and_swaps_in_mnist_cs_order(severity):
  # MNIST-C calls scikit-image's gaussian(image, sigma, multichannel=True) on 2-D images: the last axis is taken for
  # channels, so only the rows are blurred.
  sigma, delta, iterations = [(0.7, 1, 2), (0.9, 2, 1), (1.0, 2, 3), (1.1, 3, 2), (1.5, 4, 2)][severity - 1]
  x = _small(n=2, h=12, w=11)
  n, h, w, _ = x.shape
  out = corruptions.glass_blur(x, np.random.default_rng(9), severity)
  rng = np.random.default_rng(9)
  positions = [(r, c) for r in range(h - delta, delta, -1) for c in range(w - delta, delta, -1)]
  for b in range(n):
    coins = rng.random((iterations, len(positions))) < 0.5
    offsets = rng.integers(-delta, delta, (iterations, len(positions), 2))
    y = np.floor(_vertical_gaussian(x[b, ..., 0], sigma) * 255) / 255
    for t in range(iterations):
      for p, (r, c) in enumerate(positions):
        if coins[t, p]:
          dx, dy = offsets[t, p]
          y[r, c], y[r + dy, c + dx] = y[r + dy, c + dx], y[r, c]
    np.testing.assert_allclose(out[b, ..., 0], _vertical_gaussian(y, sigma), rtol=0, atol=1e-12)


def _diamond_square(rng, size, decay):
  """MNIST-C's plasma fractal, one point at a time: squares' centres, then the diamonds' points on the rows of
  the corners, then those on the columns, each from its four neighbours (wrapping around) / 4 + wibble u,
  u ~ U(-wibble, wibble) drawn row by row; wibble 100, divided by `decay` per level; rescaled to [0, 1]."""
  m = np.zeros((size, size))
  step, wibble = size, 100.0

  def noise():
    return wibble * (-wibble + 2 * wibble * rng.random())

  while step >= 2:
    t, cells = step // 2, range(0, size, step)
    for i in cells:
      for j in cells:
        m[i + t, j + t] = (
          (m[i, j] + m[(i + step) % size, j]) + (m[i, (j + step) % size] + m[(i + step) % size, (j + step) % size])
        ) / 4 + noise()
    for i in cells:
      for j in cells:
        m[i, j + t] = ((m[i + t, j + t] + m[i - t, j + t]) + (m[i, j] + m[i, (j + step) % size])) / 4 + noise()
    for i in cells:
      for j in cells:
        m[i + t, j] = ((m[i + t, j + t] + m[i + t, j - t]) + (m[i, j] + m[(i + step) % size, j])) / 4 + noise()
    step, wibble = step // 2, wibble / decay
  return (m - m.min()) / (m - m.min()).max()


@pytest.mark.parametrize("severity", [1, 5])
def test_fog_adds_a_crop_of_mnist_cs_256_plasma_fractal(severity):
  strength, decay = [(1.5, 2.0), (2.0, 2.0), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4)][severity - 1]
  x = _small(n=2, h=6, w=5)
  out = corruptions.fog(x, np.random.default_rng(2), severity)
  rng = np.random.default_rng(2)
  for b in range(len(x)):
    fog = _diamond_square(rng, 256, decay)[:6, :5]
    peak = x[b].max()
    np.testing.assert_allclose(out[b, ..., 0], (x[b, ..., 0] + strength * fog) * peak / (peak + strength), atol=1e-12)


def test_lines_on_tiny_images():
  # A line shorter than a tooth (images under 8 columns) has no corner: a straight segment to the end point.
  np.testing.assert_allclose(corruptions.zigzag_points(1.0, 1.0, 2.0, 3.0), [[2.0, 1.0], [3.0, 1.0]])
  with pytest.raises(ValueError, match="at least 2 rows and 6 columns"):
    corruptions.zigzag(np.zeros((1, 28, 5, 1)), np.random.default_rng(0), 1)
  with pytest.raises(ValueError, match="power of two"):
    corruptions.plasma_fractal(np.random.default_rng(0), 1, 100)
