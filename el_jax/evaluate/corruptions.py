"""A corrupted test set computed on the fly: the MNIST-C corruption families (Mu & Gilmer, 2019) that need no
external assets, applied to any grayscale or colour test set (Fashion-MNIST-C for Fashion-MNIST models).

Every corruption maps uint8 images `[N, H, W, C]` and a seed to uint8 images of the same shape, working on the
[0, 1] scale and rounding back. Each family has MNIST-C's five severities; `DEFAULT_SEVERITY` is the one
MNIST-C's published dataset uses (contrast, from MNIST-C's extended list, uses 4). Random choices (noise, angles,
directions, line positions) are drawn per image from `numpy.random.default_rng(seed)`, so a corrupted set is a
pure function of the images, the severity and the seed. Given the same random draws (each family's docstring says
in which order it takes them), `glass_blur`, `motion_blur`, `fog`, `dotted_line` and `zigzag` compute what MNIST-C's
code computes, quirks of the libraries it calls included. Families:

- noise: `shot_noise` (Poisson, `Pois(x c) / c`), `impulse_noise` (salt and pepper on a fraction `c` of pixels);
- blurs: `glass_blur` (MNIST-C's: vertical Gaussian blur, as its scikit-image call does on
  a 2-D image, 8-bit truncation, sequential random swaps of nearby pixels, the blur again), `motion_blur`
  (ImageMagick's motion blur as MNIST-C calls it: `2 radius + 1` whole-pixel taps of a one-sided Gaussian ahead of
  each pixel along a random direction in [-45, 45] degrees, edge pixels repeated past the border);
- affine (about the image centre, bilinear, zero outside): `shear`, `rotate` (random sign), `scale` (shrinks by
  a factor `1/c`), `translate` (`c` pixels along each axis, random signs);
- intensity: `brightness` (`x + c`, the HSV value shift of a gray image), `contrast` (`(x - mean) c + mean`),
  `stripe` (inverts the outer quarter columns on each side);
- weather and occlusion: `fog` (MNIST-C's: a crop of a 256 x 256 diamond-square plasma fractal added),
  `spatter` (mud blobs);
- lines: `dotted_line` and `zigzag` (MNIST-C's anti-aliased lines of intensity `log(1 - d / 2.3) + 1` at
  vertical distance `d`).

MNIST-C's `canny_edges` (needs scikit-image), `frost` (photographs) and `pessimal_noise` (a stored matrix) are
left out.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
from scipy import ndimage

# Parameters per severity 1..5 (MNIST-C's tables).
_SHOT = (60, 25, 12, 5, 3)
_IMPULSE = (0.03, 0.06, 0.09, 0.17, 0.27)
_GLASS = ((0.7, 1, 2), (0.9, 2, 1), (1.0, 2, 3), (1.1, 3, 2), (1.5, 4, 2))  # sigma, max_delta, iterations
_MOTION = ((10, 3), (15, 5), (15, 8), (15, 12), (20, 15))  # radius, sigma (pixels)
_AFFINE = (0.2, 0.4, 0.6, 0.8, 1.0)  # shear and rotation (radians)
_SCALE = (1 / 0.9, 1 / 0.8, 1 / 0.7, 1 / 0.6, 1 / 0.5)
_TRANSLATE = (1, 2, 3, 4, 5)
_BRIGHTNESS = (0.1, 0.2, 0.3, 0.4, 0.5)
_CONTRAST = (0.4, 0.3, 0.2, 0.1, 0.05)
_FOG = ((1.5, 2.0), (2.0, 2.0), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4))  # strength, wibble decay
_SPATTER = (
  (0.65, 0.3, 4, 0.69, 0.6),
  (0.65, 0.3, 3, 0.68, 0.6),
  (0.65, 0.3, 2, 0.68, 0.5),
  (0.65, 0.3, 1, 0.65, 1.5),
  (0.67, 0.4, 1, 0.65, 1.5),
)  # loc, scale, sigma, threshold, mask sigma
_MUD = 63 / 255
_LINE_WIDTH = 2.3


def _param(table, severity):
  return table[severity - 1]


# ---- Noise -----------------------------------------------------------------------------------------------------


def shot_noise(x, rng, severity):
  c = _param(_SHOT, severity)
  return rng.poisson(x * c) / c


def impulse_noise(x, rng, severity):
  amount = _param(_IMPULSE, severity)
  hit = rng.random(x.shape) < amount
  salt = rng.random(x.shape) < 0.5
  return np.where(hit, salt.astype(x.dtype), x)


# ---- Blurs -----------------------------------------------------------------------------------------------------


def _blur(x, sigma):
  return ndimage.gaussian_filter(x, sigma=(0, sigma, sigma, 0), mode="nearest", truncate=4.0)


def _blur_rows(x, sigma):
  """Gaussian blur along the rows axis only (`[N, H, W, C]`, axis 1): MNIST-C's `gaussian(image, sigma,
  multichannel=True)` on a 2-D `[H, W]` image.

  scikit-image's `filters.gaussian` (`multichannel=True` up to 0.18; the same as `channel_axis=-1` in 0.19-0.20)
  takes the last axis of a 2-D image for colour channels and blurs only the first, through
  `scipy.ndimage.gaussian_filter(sigma=(sigma, 0), mode="nearest", truncate=4.0)`. MNIST-C's glass blur is thus a
  vertical blur; this keeps it, for every channel count.
  """
  return ndimage.gaussian_filter1d(x, sigma, axis=1, mode="nearest", truncate=4.0)


def glass_blur(x, rng, severity):
  """MNIST-C's glass blur: a vertical Gaussian blur (`_blur_rows`), 8-bit truncation, local pixel swaps, the blur
  again.

  `y = floor(255 blur(x)) / 255`; then, `iterations` times, for rows `h = H - delta .. delta + 1` (descending) and
  within each row columns `w = W - delta .. delta + 1` (descending), one after the other: with probability 1/2 the
  pixel at `(h, w)` swaps with the one at `(h + dy, w + dx)`, `dx, dy ~ U{-delta..delta-1}`; out = `blur(y)`.
  For each image the coins (`rng.random() < 0.5`) of all iterations and positions are drawn first, in that order,
  then the offsets `(dx, dy)` for every iteration and position (used where the coin says swap).
  """
  sigma, delta, iterations = _param(_GLASS, severity)
  n, h, w, _ = x.shape
  y = np.floor(_blur_rows(x, sigma) * 255) / 255
  positions = [(r, c) for r in range(h - delta, delta, -1) for c in range(w - delta, delta, -1)]
  swaps = np.empty((n, iterations, len(positions)), bool)
  offsets = np.empty((n, iterations, len(positions), 2), np.int64)
  for b in range(n):
    swaps[b] = rng.random((iterations, len(positions))) < 0.5
    offsets[b] = rng.integers(-delta, delta, (iterations, len(positions), 2))  # (dx, dy)
  batch = np.arange(n)
  for t in range(iterations):
    for p, (r, c) in enumerate(positions):
      swap = swaps[:, t, p, None]
      r2, c2 = r + offsets[:, t, p, 1], c + offsets[:, t, p, 0]
      here, there = y[batch, r, c], y[batch, r2, c2]
      y[batch, r, c] = np.where(swap, there, here)
      y[batch, r2, c2] = np.where(swap, here, there)
  return _blur_rows(y, sigma)


@functools.partial(jax.jit, static_argnames="order")
def _sample(images, coords, order=1):
  """Bilinear samples of `images [N, H, W, C]` at `coords [N, 2, H, W]` (row, col), zero outside."""

  def one(image, coord):
    return jax.vmap(
      lambda channel: jax.scipy.ndimage.map_coordinates(channel, [coord[0], coord[1]], order=order, mode="constant"),
      in_axes=-1,
      out_axes=-1,
    )(image)

  return jax.vmap(one)(images, coords)


def motion_blur_kernel(radius: int, sigma: float, angle_deg: float) -> tuple[np.ndarray, np.ndarray]:
  """ImageMagick's motion-blur taps (`MotionBlurImage`, ImageMagick 6.9 and 7): weights and (row, col) offsets.

  The kernel has `2 ceil(radius) + 1` taps (ImageMagick's `GetOptimalKernelWidth1D`), tap `i` weighing
  `exp(-i^2 / (2 sigma^2))` normalised to sum 1, i.e. the positive half of a Gaussian with its centre tap first.
  Tap `i` reads the pixel at the whole-pixel offset `(ceil(i sin(a) - 0.5), ceil(i cos(a) - 0.5))` (row, col)
  from the output pixel, `a` the angle: each pixel averages the pixels *ahead* of it along the direction `a`.
  Returns `weights [T]` and `offsets [T, 2]` (int).
  """
  if radius < 0 or sigma <= 0:
    raise ValueError(f"motion blur needs radius >= 0 and sigma > 0, got radius={radius}, sigma={sigma}.")
  taps = 2 * int(np.ceil(radius)) + 1
  i = np.arange(taps, dtype=np.float64)
  weights = np.exp(-(i**2) / (2.0 * sigma**2))
  a = np.deg2rad(angle_deg)
  point_col, point_row = taps * np.cos(a), taps * np.sin(a)  # ImageMagick's point.y, point.x
  norm = np.hypot(point_row, point_col)
  offsets = np.stack([np.ceil(i * point_row / norm - 0.5), np.ceil(i * point_col / norm - 0.5)], -1)
  return weights / weights.sum(), offsets.astype(np.int64)


def motion_blur(x, rng, severity):
  """MNIST-C's motion blur: ImageMagick's `MotionBlurImage(radius, sigma, angle)`, angle ~ U(-45, 45) degrees.

  `out[r, c] = sum_i w_i x[clip(r + dr_i), clip(c + dc_i)]` with `motion_blur_kernel`'s weights and offsets; reads
  outside the image repeat the nearest edge pixel (ImageMagick's default `edge` virtual-pixel method). MNIST-C passes
  the image through an 8-bit PNG and ImageMagick's 16-bit quantum; `corrupt`'s single rounding to 8 bits can differ
  from that double rounding by one level where the blurred value lies within 1/257 of a level's midpoint.
  One angle is drawn per image, in image order.
  """
  radius, sigma = _param(_MOTION, severity)
  n, h, w, _ = x.shape
  angles = rng.uniform(-45, 45, n)
  rows, cols = np.arange(h)[:, None], np.arange(w)[None, :]
  out = np.empty_like(x)
  for b, angle in enumerate(angles):
    weights, offsets = motion_blur_kernel(radius, sigma, angle)
    src_r = np.clip(rows[None] + offsets[:, 0, None, None], 0, h - 1)  # [T, H, 1]
    src_c = np.clip(cols[None] + offsets[:, 1, None, None], 0, w - 1)  # [T, 1, W]
    out[b] = np.einsum("t,thwc->hwc", weights, x[b][src_r, src_c])
  return out


# ---- Affine transforms -------------------------------------------------------------------------------------------


def _affine(x, matrices, shifts):
  """Output pixel p samples the input at `A (p - centre) + centre + t` ((col, row) coordinates, as scikit-image)."""
  n, h, w, _ = x.shape
  centre = np.array([(w - 1) / 2, (h - 1) / 2])
  rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
  points = np.stack([cols, rows], axis=0).reshape(2, -1) - centre[:, None]  # [2, H*W]
  src = np.einsum("nij,jp->nip", matrices, points) + centre[None, :, None] + shifts[:, :, None]
  coords = np.stack([src[:, 1], src[:, 0]], axis=1).reshape(n, 2, h, w)  # (row, col)
  return np.asarray(_sample(jnp.asarray(x, jnp.float32), jnp.asarray(coords, jnp.float32)))


def _signs(rng, shape):
  return rng.choice(np.array([-1.0, 1.0]), shape)


def shear(x, rng, severity):
  s = _param(_AFFINE, severity) * _signs(rng, len(x))
  matrices = np.stack([np.stack([np.ones_like(s), -np.sin(s)], -1), np.stack([np.zeros_like(s), np.cos(s)], -1)], 1)
  return _affine(x, matrices, np.zeros((len(x), 2)))


def rotate(x, rng, severity):
  a = _param(_AFFINE, severity) * _signs(rng, len(x))
  matrices = np.stack([np.stack([np.cos(a), -np.sin(a)], -1), np.stack([np.sin(a), np.cos(a)], -1)], 1)
  return _affine(x, matrices, np.zeros((len(x), 2)))


def scale(x, rng, severity):
  del rng
  s = _param(_SCALE, severity)
  return _affine(x, np.broadcast_to(np.eye(2) * s, (len(x), 2, 2)), np.zeros((len(x), 2)))


def translate(x, rng, severity):
  shifts = _param(_TRANSLATE, severity) * _signs(rng, (len(x), 2))
  return _affine(x, np.broadcast_to(np.eye(2), (len(x), 2, 2)), shifts)


# ---- Intensity -------------------------------------------------------------------------------------------------


def brightness(x, rng, severity):
  del rng
  return x + _param(_BRIGHTNESS, severity)


def contrast(x, rng, severity):
  del rng
  mean = x.mean(axis=(1, 2), keepdims=True)
  return (x - mean) * _param(_CONTRAST, severity) + mean


def stripe(x, rng, severity):
  del rng, severity
  w = x.shape[2]
  quarter = w // 4
  out = x.copy()
  out[:, :, :quarter] = 1 - x[:, :, :quarter]
  out[:, :, w - quarter :] = 1 - x[:, :, w - quarter :]
  return out


# ---- Weather and occlusion ---------------------------------------------------------------------------------------


def plasma_fractal(rng, count: int, size: int = 256, decay: float = 3.0) -> np.ndarray:
  """`count` diamond-square height maps `[count, size, size]` in [0, 1], MNIST-C's (periodic; `size` a power of 2).

  From `map[0, 0] = 0`, with `wibble = 100` divided by `decay` after each level, for steps `s = size, size / 2,
  .., 2` (`t = s / 2`, indices modulo `size`):
  squares: `map[i + t, j + t] = (map[i, j] + map[i + s, j] + map[i, j + s] + map[i + s, j + s]) / 4 + wibble u`;
  diamonds: `map[i, j + t] = (map[i + t, j + t] + map[i - t, j + t] + map[i, j] + map[i, j + s]) / 4 + wibble u`,
  then `map[i + t, j] = (map[i + t, j + t] + map[i + t, j - t] + map[i, j] + map[i + s, j]) / 4 + wibble u`
  (`i, j` multiples of `s`), `u ~ U(-wibble, wibble)`; finally `(map - min) / (max - min)`. Each image's
  `size^2 - 1` uniforms are drawn in that order (levels, then the three grids, each row-major), one image after
  the other, as `low + (high - low) * rng.random()`, numpy's formula for `uniform`.
  """
  if size < 2 or size & (size - 1):
    raise ValueError(f"plasma_fractal's size must be a power of two >= 2, got {size}.")
  draws = rng.random((count, size * size - 1))
  maps = np.zeros((count, size, size))
  step, wibble, used = size, 100.0, 0

  def wibbled(total):
    nonlocal used
    cells = total.shape[1] * total.shape[2]
    u = draws[:, used : used + cells].reshape(total.shape)
    used += cells
    return total / 4 + wibble * (-wibble + 2 * wibble * u)  # numpy: uniform(low, high) = low + (high - low) u

  while step >= 2:
    half = step // 2
    corners = maps[:, ::step, ::step]
    square = corners + np.roll(corners, -1, axis=1)
    square = square + np.roll(square, -1, axis=2)
    maps[:, half::step, half::step] = wibbled(square)
    centres, corners = maps[:, half::step, half::step], maps[:, ::step, ::step]
    maps[:, ::step, half::step] = wibbled(
      (centres + np.roll(centres, 1, axis=1)) + (corners + np.roll(corners, -1, axis=2))
    )
    maps[:, half::step, ::step] = wibbled(
      (centres + np.roll(centres, 1, axis=2)) + (corners + np.roll(corners, -1, axis=1))
    )
    step //= 2
    wibble /= decay
  maps -= maps.min(axis=(1, 2), keepdims=True)
  return maps / maps.max(axis=(1, 2), keepdims=True)


FOG_MAP_SIZE = 256  # MNIST-C's fractal size, cropped to the image
_FOG_CHUNK = 32  # images per fractal batch (8 MiB of maps each at 256)


def fog(x, rng, severity):
  """MNIST-C's fog: `(x + c m) max(x) / (max(x) + c)`, `m` the top-left `H x W` crop of a `plasma_fractal` of size
  `FOG_MAP_SIZE` (256, or the next power of two above larger images) with the severity's wibble decay, one per
  image; `max(x)` is the image's maximum. The crop of a 256 map keeps MNIST-C's scale of fog patches.
  """
  strength, decay = _param(_FOG, severity)
  n, h, w, _ = x.shape
  size = max(FOG_MAP_SIZE, 1 << (max(h, w) - 1).bit_length())
  layer = np.empty((n, h, w, 1))
  for start in range(0, n, _FOG_CHUNK):
    count = min(_FOG_CHUNK, n - start)
    layer[start : start + count, ..., 0] = plasma_fractal(rng, count, size, decay)[:, :h, :w]
  peak = x.max(axis=(1, 2, 3), keepdims=True)
  return (x + strength * layer) * peak / (peak + strength)


def spatter(x, rng, severity):
  loc, spread, sigma, threshold, mask_sigma = _param(_SPATTER, severity)
  liquid = _blur(rng.normal(loc, spread, x.shape[:3] + (1,)), sigma)
  mask = _blur((liquid > threshold).astype(np.float64), mask_sigma)
  mask = np.where(mask < 0.8, 0.0, mask)
  return x * (1 - mask) + _MUD * mask


# ---- Lines -------------------------------------------------------------------------------------------------------


def line_from_points(c0, r0, c1, r1, h: int, w: int) -> np.ndarray:
  """MNIST-C's anti-aliased line through `(c0, r0)` and `(c1, r1)` ((col, row); arrays `[S]`): `[S, H, W]`.

  Pixel `(r, c)` gets `clip(log(1 - d / 2.3) + 1, 0, 1)` with `d = |r - (r0 + m (c - c0))|`, `m = (r1 - r0) /
  (c1 - c0)`: the *vertical* distance to the infinite line (1 / cos of the slope times the perpendicular one, so a
  line of slope 1 is 1.4x thicker than a flat one), lit where `d < 2.3 (1 - 1/e) ~ 1.45`. Only columns
  `floor(c0) <= c < ceil(c1)` are drawn (so a segment ending at the last column leaves it dark), and a vertical
  segment (`c1 == c0`) draws nothing, as in MNIST-C.
  """
  c0, r0, c1, r1 = (np.asarray(v, np.float64)[:, None, None] for v in (c0, r0, c1, r1))
  rows, cols = np.arange(h, dtype=np.float64)[:, None], np.arange(w, dtype=np.float64)[None, :]
  vertical = c1 == c0
  slope = (r1 - r0) / np.where(vertical, 1.0, c1 - c0)
  d = np.minimum(np.abs(rows - (slope * (cols - c0) + r0)), _LINE_WIDTH - 1e-10)
  value = np.clip(np.log(1 - d / _LINE_WIDTH) + 1, 0, 1)
  drawn = (cols >= np.maximum(np.floor(c0), 0)) & (cols < np.ceil(c1)) & ~vertical
  return np.where(drawn, value, 0.0)


def _check_line_size(name, h, w, min_w):
  if h < 2 or w < min_w:
    raise ValueError(f"{name} needs images of at least 2 rows and {min_w} columns, got {h}x{w}.")


def dotted_line(x, rng, severity):
  """MNIST-C's dotted line: `line_from_points` from `(0, r0)` to `(w - 1, r1)`, dashed.

  `r0, r1 ~ U{0..h-2}` (drawn per image, in that order). The dashes keep columns `c` with `c // 2` odd (2-3, 6-7,
  ...); the last column stays dark (the line's columns stop before `ceil(w - 1)`). Adds the line: `x + line`.
  One intensity for every severity, as in MNIST-C.
  """
  del severity
  n, h, w, _ = x.shape
  _check_line_size("dotted_line", h, w, 2)
  ends = rng.integers(0, h - 1, (n, 2))
  line = line_from_points(np.zeros(n), ends[:, 0], np.full(n, w - 1.0), ends[:, 1], h, w)
  line[:, :, (np.arange(w) // 2) % 2 == 0] = 0.0
  return x + line[..., None]


def zigzag_points(r0: float, r1: float, c0: float, c1: float, a: float = 2.0, b: float = 2.0) -> np.ndarray:
  """MNIST-C's zigzag corners `[P, 2]` ((col, row)) along the line `(c0, r0)` to `(c1, r1)`.

  In the frame of that line (length `d`, angle `theta = arctan((r1 - r0) / (c1 - c0))`): the start `(0, 0)`, then
  corners at `((2 i + 1) a, (-1)^i b)` for `i = 0 .. floor((d - a) / (2 a))` (teeth on both sides, one period per
  `4 a`), then, unless `d` is a multiple of `2 a`, an end point `(d, r_last / (2 (d - m)))` with `r_last` the last
  corner's offset and `m = 2 a floor(d / 2 a)` (MNIST-C's formula, kept as it is); rotated by `theta` and shifted
  to `(c0, r0)`. A line shorter than `a` (images under 8 columns; MNIST-C's code fails there) has no corner and
  ends at `(d, 0)`.
  """
  theta = np.arctan((r1 - r0) / (c1 - c0))
  d = (c1 - c0) / np.cos(theta)
  i = np.arange(max(int((d - a) // (2 * a)) + 1, 0))
  points = [np.zeros((1, 2)), np.stack([(2 * i + 1) * a, np.where(i % 2 == 0, b, -b)], -1)]
  last_full = 2 * a * (d // (2 * a))
  if d != last_full:
    last_offset = points[1][-1, 1] if len(i) else 0.0  # no corner (d < a): a straight line, where MNIST-C fails
    points.append(np.array([[d, last_offset / (2 * (d - last_full))]]))
  along, across = np.concatenate(points).T
  cos, sin = np.cos(theta), np.sin(theta)
  return np.stack([along * cos - across * sin + c0, along * sin + across * cos + r0], -1)


def zigzag(x, rng, severity):
  """MNIST-C's zigzag: `line_from_points` segments between `zigzag_points` of the line from `(2, r0)` to
  `(w - 3, r1)`, `r0 ~ U{0..h-2}`, `r1 = r0 + U{-5..4}` (drawn per image, in that order).

  The segments are added (`x + sum of segments`; where they meet, their glows add up), as in MNIST-C. One
  intensity for every severity.
  """
  del severity
  n, h, w, _ = x.shape
  _check_line_size("zigzag", h, w, 6)
  draws = rng.integers([0, -5], [h - 1, 5], (n, 2))
  out = np.empty_like(x)
  for k, (r0, dr) in enumerate(draws):
    points = zigzag_points(float(r0), float(r0 + dr), 2.0, w - 3.0)
    segments = line_from_points(points[:-1, 0], points[:-1, 1], points[1:, 0], points[1:, 1], h, w)
    out[k] = x[k] + segments.sum(0)[..., None]
  return out


CORRUPTIONS = {
  "shot_noise": shot_noise,
  "impulse_noise": impulse_noise,
  "glass_blur": glass_blur,
  "motion_blur": motion_blur,
  "shear": shear,
  "scale": scale,
  "rotate": rotate,
  "brightness": brightness,
  "contrast": contrast,
  "translate": translate,
  "stripe": stripe,
  "fog": fog,
  "spatter": spatter,
  "dotted_line": dotted_line,
  "zigzag": zigzag,
}
# MNIST-C's severity for each family (its functions' defaults).
DEFAULT_SEVERITY = {
  "shot_noise": 5,
  "impulse_noise": 4,
  "glass_blur": 1,
  "motion_blur": 1,
  "shear": 2,
  "scale": 3,
  "rotate": 2,
  "brightness": 5,
  "contrast": 4,
  "translate": 3,
  "stripe": 1,
  "fog": 5,
  "spatter": 4,
  "dotted_line": 1,
  "zigzag": 1,
}


def names() -> list[str]:
  """The corruption families, in a fixed order."""
  return list(CORRUPTIONS)


def corrupt(name: str, images: np.ndarray, *, seed: int, severity: int | None = None) -> np.ndarray:
  """Corruption `name` of uint8 `images [N, H, W, C]` at `severity` (1..5; MNIST-C's default if None), as uint8."""
  if name not in CORRUPTIONS:
    raise ValueError(f"Unknown corruption {name!r}. Valid: {', '.join(names())}.")
  severity = DEFAULT_SEVERITY[name] if severity is None else severity
  if severity not in range(1, 6):
    raise ValueError(f"severity must be 1..5, got {severity}.")
  if images.dtype != np.uint8 or images.ndim != 4:
    raise ValueError(f"images must be uint8 [N, H, W, C], got {images.dtype} {images.shape}.")
  x = images.astype(np.float64) / 255.0
  out = CORRUPTIONS[name](x, np.random.default_rng(seed), severity)
  return np.rint(np.clip(out, 0.0, 1.0) * 255.0).astype(np.uint8)
