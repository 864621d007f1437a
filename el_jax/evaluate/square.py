r"""Square Attack (Andriushchenko, Croce, Flammarion & Hein, ECCV 2020): score-based random search, L-inf and L2.

Square uses only the model's logits, never its gradients, so it is not fooled by masked gradients. It minimises the
margin loss `L(x) = z_y(x) - max_{k != y} z_k(x)` (negative once the sample is misclassified) by proposing, at
iteration `i`, a change of a random square window of side

.. math::  s_i = \mathrm{round}\big(\sqrt{p_i h w}\big), \qquad p_i = p_{init} / 2^{j(i)},

(`p_schedule`: `p` halves after 10, 50, 200, 500, 1000, 2000, 4000, 6000 and 8000 iterations), and keeping it when
the loss decreases (or the sample becomes misclassified). Each sample stops at its first misclassified point.

- L-inf (the paper's Algorithm 2): the start is vertical stripes, `x + eps * sign` with one random sign per column
  and channel; a proposal sets the window, per channel, to `x_best + 2 eps * sign` clipped to the eps box around
  `x` and to [0, 1] (so each pixel of the window jumps to a vertex `x +- eps` of the box). `s_i >= 1`.
- L2 (Algorithm 3): the start is a grid of `5 x 5` squares of side `h // 5`, each the pattern `eta` (two
  rectangles of opposite sign, each a sum of nested rectangles weighted `1 / (c + 1)^2`, normalised) with a
  random sign per channel, rescaled to norm eps. A proposal moves the mass of a second window `W_2` into the window
  `W_1`: the perturbation of `W_1` becomes, per channel, `eta + delta_{W_1} / ||delta_{W_1}||` rescaled to norm
  `sqrt(max(eps^2 - ||delta||^2, 0) / c + ||delta_{W_1 u W_2}||^2)`, `W_2` is zeroed, and the whole perturbation
  is rescaled to norm eps before clipping to [0, 1]. `s_i >= 3`, odd.

Settings follow the standard AutoAttack's Square (`fra31/auto-attack`, `square.py`, as AutoAttack calls it:
`p_init = 0.8`, 5000 queries, the schedule of `p` not rescaled to the number of queries, 1 restart). Differences
kept: each sample draws its own window positions, pattern orientation and signs (the reference draws one window
position per iteration for the whole batch, which makes a sample's attack depend on the rest of its batch); window
positions range over every position where the window fits (`0 .. h - s`; the reference's draw never reaches
`h - s`); and L2 needs images of at least 5 x 5 pixels (the start's grid), which the reference assumes.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from el_jax.evaluate import apgd

P_INIT = 0.8
# Iterations after which p halves again (the schedule for 10,000 queries, which AutoAttack applies to any count).
P_HALVINGS = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)
L2_MIN_SIDE = 3
L2_GRID = 5  # the L2 start's grid of L2_GRID x L2_GRID squares
DIVISION_EPS = 1e-12


def p_schedule(iteration, p_init: float = P_INIT):
  """The fraction `p_i` of the image the window of (0-based) `iteration` covers."""
  halvings = jnp.sum(jnp.asarray(iteration) > jnp.asarray(P_HALVINGS))
  return p_init / 2.0**halvings


def margins(logits, labels):
  """The margin loss `z_y - max_{k != y} z_k` per sample (> 0: classified correctly)."""
  z_y = jnp.take_along_axis(logits, labels[:, None], axis=-1)[:, 0]
  others = jnp.where(jax.nn.one_hot(labels, logits.shape[-1], dtype=bool), -jnp.inf, logits)
  return z_y - others.max(-1)


def _window_masks(key, batch, height, width, side):
  """`[B, H, W, 1]` masks of one random `side x side` window per sample (`side` may be traced), and its corner."""
  row_key, col_key = jax.random.split(key)
  top = jax.random.randint(row_key, (batch,), 0, height - side + 1)
  left = jax.random.randint(col_key, (batch,), 0, width - side + 1)
  rows, cols = jnp.arange(height), jnp.arange(width)
  in_rows = (rows[None] >= top[:, None]) & (rows[None] < top[:, None] + side)
  in_cols = (cols[None] >= left[:, None]) & (cols[None] < left[:, None] + side)
  return (in_rows[:, :, None] & in_cols[:, None, :])[..., None], top, left


def _nested(local_row, local_col, rows, cols, weight_sums):
  """The unnormalised rectangle of `eta_rectangles(rows, cols)` at local coordinates: the sum over the nested
  rectangles `c` containing the cell (Chebyshev distance to the centre `<= c`) of `1 / (c + 1)^2`."""
  centre_row, centre_col = rows // 2, cols // 2
  count = jnp.maximum(rows // 2 + 1, cols // 2 + 1)  # number of nested rectangles
  distance = jnp.maximum(jnp.abs(local_row - centre_row), jnp.abs(local_col - centre_col))
  inside = (local_row >= 0) & (local_row < rows) & (local_col >= 0) & (local_col < cols)
  value = weight_sums[count] - weight_sums[jnp.minimum(distance, count)]
  return jnp.where(inside, value, 0.0)


def _unit_sum_of_squares(values):
  size = jnp.sqrt(jnp.sum(jnp.square(values), axis=(1, 2), keepdims=True))
  return values / jnp.where(size > 0, size, 1.0)  # an empty rectangle (a side of 1 has no upper half) stays zero


def eta_pattern(top, left, side, height, width, transpose):
  """`[B, H, W]` Square's L2 pattern `eta(side)` placed with its corner at `(top, left)` (zero elsewhere): the
  upper `side // 2` rows a positive nested rectangle, the lower rows a negative one, each of unit L2 norm, the
  whole of unit L2 norm; transposed where `transpose`. `side` may be traced."""
  weight_sums = jnp.concatenate([jnp.zeros(1), jnp.cumsum(1.0 / jnp.arange(1, max(height, width) + 2) ** 2)])
  rows = jnp.arange(height)[None, :, None] - top[:, None, None]
  cols = jnp.arange(width)[None, None, :] - left[:, None, None]
  rows, cols = jnp.broadcast_to(rows, (len(top), height, width)), jnp.broadcast_to(cols, (len(top), height, width))
  t = transpose[:, None, None]
  rows, cols = jnp.where(t, cols, rows), jnp.where(t, rows, cols)
  half = side // 2
  upper = _unit_sum_of_squares(_nested(rows, cols, half, side, weight_sums))
  lower = _unit_sum_of_squares(_nested(rows - half, cols, side - half, side, weight_sums))
  return _unit_sum_of_squares(upper - lower)


def eta_numpy(side: int) -> np.ndarray:
  """`[side, side]` the pattern `eta(side)` (float64, unit L2 norm), built rectangle by rectangle as the paper
  describes; `eta_pattern` computes the same values in closed form at a traced position and side."""

  def nested(rows, cols):
    out = np.zeros((rows, cols))
    for c in range(max(rows // 2 + 1, cols // 2 + 1)):
      r0, c0 = rows // 2 - c, cols // 2 - c
      out[max(r0, 0) : max(r0 + 2 * c + 1, 0), max(c0, 0) : max(c0 + 2 * c + 1, 0)] += 1.0 / (c + 1) ** 2
    size = np.sqrt(np.sum(out**2))
    return out / size if size > 0 else out

  eta = np.concatenate([nested(side // 2, side), -nested(side - side // 2, side)])
  return eta / np.sqrt(np.sum(eta**2))


def _l2_start_patterns(height: int, width: int) -> np.ndarray:
  """`[P, H, W]` the L2 start's squares: `eta(h // 5)` at each position of a grid of side `h // 5` starting at
  `(h - 5 (h // 5)) // 2` (squares reaching past the image are cut)."""
  side = height // L2_GRID
  corner = (height - side * L2_GRID) // 2
  patterns = []
  for top in range(corner, corner + (height // side) * side, side):
    for left in range(corner, corner + (width // side) * side, side):
      canvas = np.zeros((height + side, width + side))
      canvas[top : top + side, left : left + side] = eta_numpy(side)
      if np.any(canvas[:height, :width]):
        patterns.append(canvas[:height, :width])
  return np.stack(patterns)


def _l2_start(key, images):
  """The L2 start's perturbation direction: the grid of `eta` squares with random signs per channel (unnormalised)."""
  patterns = _l2_start_patterns(*images.shape[1:3])
  signs = jax.random.rademacher(key, (images.shape[0], len(patterns), images.shape[3]), images.dtype)
  return jnp.einsum("phw,bpc->bhwc", jnp.asarray(patterns, images.dtype), signs)


@functools.partial(jax.jit, static_argnames=("logits_fn", "norm"))
def single_run(logits_fn, params, images, labels, active, key, eps, *, norm, n_queries, p_init=P_INIT):
  """One Square run on images `[B, H, W, C]`: `(adv, broken)`, `adv` the first misclassified point found for the
  samples that are `active` and `broken`, the clean image elsewhere."""
  batch, height, width, channels = images.shape
  eps = jnp.asarray(eps, images.dtype)
  scalar = (batch, 1, 1, 1)
  start_key, key = jax.random.split(key)

  def margin_of(x):
    return margins(logits_fn(params, x), labels)

  if norm == "linf":
    stripes = jax.random.rademacher(start_key, (batch, 1, width, channels), images.dtype)
    x_best = jnp.clip(images + eps * stripes, 0.0, 1.0)
  else:
    x_best = jnp.clip(images + apgd.unit(_l2_start(start_key, images), "l2") * eps, 0.0, 1.0)
  margin_best = margin_of(x_best)

  def proposal(i, x_best, step_key):
    p = p_schedule(i, p_init)
    window_key, second_key, sign_key, flip_key = jax.random.split(step_key, 4)
    if norm == "linf":
      side = jnp.clip(jnp.round(jnp.sqrt(p * height * width)).astype(jnp.int32), 1, min(height, width))
      mask, _, _ = _window_masks(window_key, batch, height, width, side)
      signs = jax.random.rademacher(sign_key, (batch, 1, 1, channels), images.dtype)
      x_new = x_best + mask * 2 * eps * signs
      return jnp.clip(jnp.clip(x_new, images - eps, images + eps), 0.0, 1.0)
    side = jnp.maximum(jnp.round(jnp.sqrt(p * height * width)).astype(jnp.int32), L2_MIN_SIDE)
    side = jnp.minimum(side + (side % 2 == 0), min(height, width))
    mask_1, top, left = _window_masks(window_key, batch, height, width, side)
    mask_2, _, _ = _window_masks(second_key, batch, height, width, side)
    delta = x_best - images

    def channel_norm(v):
      return jnp.sqrt(jnp.sum(jnp.square(v), axis=(1, 2), keepdims=True))  # [B, 1, 1, C]

    image_norm = apgd._l2(delta)
    union_norm = channel_norm(delta * jnp.maximum(mask_1, mask_2))
    transpose = jax.random.bernoulli(flip_key, 0.5, (batch,))
    eta = eta_pattern(top, left, side, height, width, transpose)[..., None].astype(images.dtype)
    signs = jax.random.rademacher(sign_key, (batch, 1, 1, channels), images.dtype)
    new = eta * signs + delta * mask_1 / (DIVISION_EPS + channel_norm(delta * mask_1))
    size = jnp.sqrt(jnp.maximum(eps**2 - image_norm**2, 0.0) / channels + union_norm**2)
    new = new / (DIVISION_EPS + channel_norm(new)) * size
    delta = jnp.where(mask_1, new, jnp.where(mask_2, 0.0, delta))
    return jnp.clip(images + apgd.unit(delta, "l2") * eps, 0.0, 1.0)

  def cond(state):
    i, _, margin_best, _ = state
    return (i < n_queries) & jnp.any(active & (margin_best > 0))

  def body(state):
    i, x_best, margin_best, key = state
    key, step_key = jax.random.split(key)
    x_new = proposal(i, x_best, step_key)
    margin_new = margin_of(x_new)
    # The margin is the loss: keep a proposal that lowers it; misclassified samples (margin <= 0) stop changing.
    accept = (margin_best > 0) & (margin_new < margin_best)
    x_best = jnp.where(accept.reshape(scalar), x_new, x_best)
    return i + 1, x_best, jnp.where(accept, margin_new, margin_best), key

  _, x_best, margin_best, _ = jax.lax.while_loop(cond, body, (jnp.int32(0), x_best, margin_best, key))
  broken = active & (margin_best <= 0)
  return jnp.where(broken.reshape(scalar), x_best, images), broken


def square(
  logits_fn, params, images, labels, key, *, eps: float, norm: str = "linf", n_queries: int = 5000, p_init=P_INIT
):
  """Square Attack on the correctly classified samples of images `[B, H, W, C]` in [0, 1]: `(adv, broken)`. The
  defaults are AutoAttack's standard Square (5000 queries, `p_init = 0.8`, 1 restart)."""
  images, labels = jnp.asarray(images), jnp.asarray(labels)
  if images.ndim != 4:
    raise ValueError(f"Square attacks images [B, H, W, C]; got shape {images.shape}.")
  apgd.check((labels.shape[0], 2), eps=eps, norm=norm)
  if n_queries < 1 or not 0 < p_init <= 1:
    raise ValueError(f"n_queries must be >= 1 and p_init in (0, 1], got {n_queries} and {p_init}.")
  if norm == "l2" and min(images.shape[1:3]) < L2_GRID:
    raise ValueError(f"L2 Square needs images of at least {L2_GRID}x{L2_GRID} pixels, got {images.shape[1:3]}.")
  active = jnp.argmax(apgd._clean_logits(logits_fn, params, images), -1) == labels
  return single_run(logits_fn, params, images, labels, active, key, eps, norm=norm, n_queries=n_queries, p_init=p_init)
