"""LogitNorm loss (Wei et al. 2022; HEM paper §3.3; SPEC-losses §7)."""

import functools

import jax
import jax.numpy as jnp

from el_jax.losses import _inputs
from el_jax.losses._label_probs import label_log_probs

NORM_EPS = 1e-7
SQUARED_NORM_FLOOR = 1e-30  # keeps the gradient of the square root finite at z = 0


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
  log_p_y, _ = label_log_probs(_normalise(float(tau), logits), labels)
  return _inputs.apply_where(-log_p_y, where)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _normalise(tau, logits):
  r""":math:`x = z\, r`, :math:`r = 1 / (\tau (\lVert z_f \rVert_2 + 10^{-7}))`, with :math:`z_f` the logits with
  their :math:`-\infty` entries set to 0 (so that :math:`x` is :math:`-\infty` there and finite elsewhere).

  Its gradient is :math:`g\, r - \frac{\tau r^2}{\lVert z_f \rVert} (\sum_k g_k z_k)\, z_f` (the second term is 0
  below the floor of the squared norm). Written by hand so that the :math:`-\infty` entries cost nothing when
  there are none: the squared norm is summed over `z` and summed again over :math:`z_f` only if a row's sum is
  infinite; the backward pass reads the :math:`-\infty` entries (where `g` is 0) as the largest finite number,
  not 0, which keeps its reduction a plain fused loop, and sets them to 0 only in its element-wise output.
  """
  return _normalise_fwd(tau, logits)[0]


def _normalise_fwd(tau, logits):
  squared = jnp.sum(jnp.square(logits), axis=-1)
  squared = jax.lax.cond(
    jnp.any(squared == jnp.inf),  # a -inf logit (or an overflow); false for NaN, which stays NaN
    lambda z, _: jnp.sum(jnp.square(_without_minus_inf(z)), axis=-1),
    lambda _, sq: sq,
    logits,
    squared,
  )
  root = jnp.sqrt(jnp.maximum(squared, SQUARED_NORM_FLOOR))
  r = 1.0 / (tau * (root + NORM_EPS))
  return logits * r[..., None], (logits, squared, root, r)


def _normalise_bwd(tau, residuals, g):
  logits, squared, root, r = residuals
  g_r = jnp.sum(g * jnp.maximum(logits, -jnp.finfo(logits.dtype).max), axis=-1)
  a = jnp.where(squared > SQUARED_NORM_FLOOR, -tau * r * r * g_r / root, 0.0)
  return (g * r[..., None] + a[..., None] * _without_minus_inf(logits),)


def _without_minus_inf(logits):
  return jnp.where(logits == -jnp.inf, 0.0, logits)


_normalise.defvjp(_normalise_fwd, _normalise_bwd)
