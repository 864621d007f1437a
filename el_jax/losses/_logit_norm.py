"""LogitNorm loss (Wei et al. 2022; HEM paper §3.3; SPEC-losses §7)."""

import jax.numpy as jnp

from el_jax.losses import _inputs
from el_jax.losses._label_probs import label_log_probs

_NORM_EPS = 1e-7


def logit_norm_loss(logits, labels, *, tau: float = 0.04, where=None):
  r"""Cross-entropy on logits normalised to length :math:`1 / \tau`.

  .. math::  L = \mathrm{CE}\Big(\frac{z}{\tau (\lVert z \rVert_2 + 10^{-7})}, y\Big)

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
  # The floor under the squared norm keeps the gradient of the square root finite at z = 0.
  norm = jnp.sqrt(jnp.maximum(jnp.sum(jnp.square(logits), axis=-1, keepdims=True), 1e-30)) + _NORM_EPS
  log_p_y, _ = label_log_probs(logits / (tau * norm), labels)
  return _inputs.apply_where(-log_p_y, where)
