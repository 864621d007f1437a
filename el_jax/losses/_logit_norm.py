"""LogitNorm loss (Wei et al. 2022; HEM paper §3.3; SPEC-losses §7)."""

import functools

import jax
import jax.numpy as jnp

from el_jax.losses import _fused, _inputs
from el_jax.losses._label_probs import set_at_label

NORM_EPS = 1e-7
SQUARED_NORM_FLOOR = 1e-30  # keeps the gradient of the square root finite at z = 0

# The largest 1 / tau for which the normalised logits need no shift: |x_k| < 1 / tau, so that e^(+-x_k), the sum of
# e^(x_k) over K classes, and e^(x_k) (z_k - z_y) for any logits whose squared norm is finite stay within the dtype's
# range. Beyond it a pass finds the row's largest logit.
_UNSHIFTED_RANGE = {jnp.dtype(jnp.float32): 32.0, jnp.dtype(jnp.float64): 256.0}


def logit_norm_loss(logits, labels, *, tau: float = 0.04, where=None):
  r"""Cross-entropy on logits normalised to length :math:`1 / \tau`.

  .. math::  L = \mathrm{CE}\Big(\frac{z}{\tau (\lVert z \rVert_2 + 10^{-7})}, y\Big)

  A :math:`-\infty` logit (a class masked out, as language models do) is left out of the norm and keeps
  probability 0: the loss and its gradient are those of the other classes alone, finite as long as the label's
  logit is finite. A NaN logit gives a NaN loss.

  Args:
    logits: `[..., K]` unnormalised scores.
    labels: `[...]` integer classes in `[0, K)`.
    tau: the temperature :math:`\tau > 0`.
    where: optional bool `[...]` mask; masked entries give 0 and no gradient.

  Returns:
    float32 per-example losses of shape `[...]`.
  """
  if tau <= 0.0:
    raise ValueError(f"tau must be > 0, got {tau}.")
  logits, labels = _inputs.prepare(logits, labels)
  return _inputs.apply_where(_normalised_cross_entropy(float(tau), logits, labels), where)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _normalised_cross_entropy(tau, logits, labels):
  r"""Cross-entropy of :math:`x = z\, r`, :math:`r = 1 / (\tau (\lVert z_f \rVert_2 + 10^{-7}))`, with :math:`z_f`
  the logits with their :math:`-\infty` entries set to 0 (so that :math:`x` is :math:`-\infty` there).

  As in `label_log_probs`, :math:`-\log p_y = \mathrm{softplus}(-d)` with
  :math:`d = x_y - \mathrm{logsumexp}_{k \ne y} x_k`: exact for :math:`p_y` near 1, and 0 when every other logit
  is :math:`-\infty`. Since :math:`|x_k| \le \lVert x \rVert_2 < 1 / \tau`, the exponentials need no shift for
  the usual temperatures: the forward pass then reads the logits twice, for the squared norm and for
  :math:`\sum_{k \ne y} e^{x_k}`, as cross-entropy reads them for its max and its sum. Smaller temperatures shift
  the exponents by the largest normalised logit, found by one more pass (a loss below the dtype's smallest number,
  :math:`K e^{-103}` in float32, then reads 0).

  The gradient is :math:`r (p - e_y) + a\, z_f` with :math:`p = \mathrm{softmax}(x)` and
  :math:`a = -\frac{\tau r^2}{\lVert z_f \rVert} \sum_k p_k (z_k - z_y)` (0 below the floor of the squared
  norm): the backward pass sums :math:`p_k (z_k - z_y)`, whose label term is exactly 0, and then writes the
  gradient, one `[..., K]` array, with :math:`p_y - 1 = -\sigma(-d)` at the label.

  The squared norm is summed over `z`, and summed again over :math:`z_f` only if a row's sum is infinite, so that
  the :math:`-\infty` entries cost nothing when there are none.
  """
  return _fwd(tau, logits, labels)[0]


def _squared_norm(logits):
  """`(squared norms, whether a row's sum of squares is infinite)`; the rows' :math:`\\lVert z_f \\rVert^2`."""
  squared = jnp.sum(jnp.square(logits), axis=-1)
  infinite = jnp.any(squared == jnp.inf)  # a -inf logit (or an overflow); false for NaN, which stays NaN
  squared = jax.lax.cond(
    infinite,
    lambda z, _: jnp.sum(jnp.square(_without_minus_inf(z)), axis=-1),
    lambda _, sq: sq,
    logits,
    squared,
  )
  return squared, infinite


def _fwd(tau, logits, labels):
  squared, infinite = _squared_norm(logits)
  root = jnp.sqrt(jnp.maximum(squared, SQUARED_NORM_FLOOR))
  r = 1.0 / (tau * (root + NORM_EPS))
  if 1.0 / tau <= _UNSHIFTED_RANGE[logits.dtype]:
    shift = jnp.zeros_like(r)
  else:  # r > 0: the largest normalised logit is r times the largest logit
    shift = jax.lax.stop_gradient(r * jnp.max(logits, axis=-1))
  x = logits * _fused.row_values(r)[..., None] - _fused.row_values(shift)[..., None]
  others = jnp.sum(jnp.exp(_fused.without_label(x, labels)), axis=-1)
  z_y = jnp.take_along_axis(logits, labels[..., None], axis=-1)[..., 0]
  x_y = r * z_y - shift
  d = x_y - jnp.log(others)
  inv_z = 1.0 / (jnp.exp(x_y) + others)  # p_k = e^(x_k) / Z, Z in [1, K] after a shift, in [e^-32, K e^32] without
  return jax.nn.softplus(-d), (logits, labels, squared, infinite, root, r, shift, z_y, d, inv_z)


def _bwd(tau, residuals, g):
  logits, labels, squared, infinite, root, r, shift, z_y, d, inv_z = residuals
  # sum_k p_k (z_k - z_y), with the -inf logits (where p_k = 0) read as the largest finite number, not 0, which
  # keeps the reduction a plain fused loop.
  finite = jnp.maximum(logits, -jnp.finfo(logits.dtype).max)
  x = logits * _fused.row_values(r, after=inv_z)[..., None] - _fused.row_values(shift, after=inv_z)[..., None]
  spread = jnp.sum(jnp.exp(x) * (finite - z_y[..., None]), axis=-1) * inv_z
  a = jnp.where(squared > SQUARED_NORM_FLOOR, -tau * r * r * spread / root, 0.0)
  # The gradient written with arithmetic only (a select or comparison in it costs as much as the rest on XLA:CPU):
  # its label entries, p_y - 1 = -sigma(-d) exactly, are set afterwards, and the -inf logits' entries (0) only in
  # a batch that has some.
  x = logits * _fused.row_values(r, after=spread)[..., None] - _fused.row_values(shift, after=spread)[..., None]
  g_rp, g_a = _fused.row_values(g * r * inv_z, after=spread), _fused.row_values(g * a, after=spread)
  grad = g_rp[..., None] * jnp.exp(x) + g_a[..., None] * logits
  grad = jax.lax.cond(infinite, lambda gr, z: jnp.where(z == -jnp.inf, 0.0, gr), lambda gr, _: gr, grad, logits)
  at_label = -g * r * jax.nn.sigmoid(-d) + g * a * _without_minus_inf(z_y)
  return set_at_label(grad, labels, at_label), None


def _without_minus_inf(logits):
  return jnp.where(logits == -jnp.inf, 0.0, logits)


_normalised_cross_entropy.defvjp(_fwd, _bwd)
