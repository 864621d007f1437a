"""Cross-entropy rescaled to the gradient size of the CE + expectation-loss mixture: the mixing paper's control for
"is the gain only a larger gradient?" (section "Recognition in CIFAR100 and CINIC10", Eq. 20-22).

The mixture's logit gradient (Eq. 13) is :math:`(\\alpha + \\beta p_y)(p - e_y)`, parallel to cross-entropy's
:math:`p - e_y` in every example. Rescaling each example's CE gradient to the mixture's norm would therefore give the
mixture's gradient itself (it is the gradient of the mixture's value), so a control must match the size on average,
not per example. The paper's control (used here) multiplies cross-entropy by the constant
:math:`M = V_{\\alpha\\beta} / V_{ce}`, the ratio of the areas under the two gradient curves at the label over
:math:`p_y \\in [0, 1]` (Eq. 20-21): :math:`V_{ce} = \\int_0^1 (1 - p)\\,dp = 1/2` and
:math:`V_{\\alpha\\beta} = \\int_0^1 (\\alpha + \\beta p)(1 - p)\\,dp = \\alpha / 2 + \\beta / 6`, so
:math:`M = \\alpha + \\beta / 3` (4/3 at F = 0, 1/3 at F = 0.5). Choices where the paper is not explicit:

- Eq. 22 (the off-label entries, integrated over :math:`p_y` and :math:`p_j`) would give :math:`\\alpha + \\beta / 2`;
  the paper names a single factor, read here as the label entry's (Eq. 21 over Eq. 20).
- The paper multiplies CE's learning rate by M; multiplying the loss scales the data gradient alike (also under
  momentum) but leaves the weight-decay step unscaled.
- M follows the mixture's focus schedule (`focus_schedule` of `get_objective`), the "same schedule point".
"""

import jax.numpy as jnp

from el_jax.losses import _inputs
from el_jax.losses._cross_entropy import cross_entropy_of_logs
from el_jax.losses._label_probs import label_log_probs


def area_factor(alpha, beta):
  r"""The paper's factor :math:`M = V_{\alpha\beta} / V_{ce} = \alpha + \beta / 3` (Eq. 20-21)."""
  return alpha + beta / 3.0


def gradient_matched_cross_entropy(logits, labels, *, alpha=1.0, beta=1.0, where=None):
  r"""Cross-entropy scaled to the mixture's gradient size: the mixing paper's gradient-norm control (Eq. 20-22).

  .. math::  L = M \cdot (-\log p_y), \quad M = \frac{V_{\alpha\beta}}{V_{ce}} = \alpha + \frac{\beta}{3}

  Its logit gradient is :math:`M (p - e_y)`: CE's direction and focus, with the mixture's area under the gradient
  curve. See the module docstring for the derivation and the choices made. With `focus_schedule` (see
  `get_objective`), `alpha` and `beta`, hence M, follow the mixture's schedule.

  Args:
    logits: `[..., K]` unnormalised scores.
    labels: `[...]` integer classes in `[0, K)`.
    alpha, beta: the mixture's weights of cross-entropy and the expectation loss (Eq. 12); may be traced scalars.
    where: optional bool `[...]` mask; masked entries give 0 and no gradient.

  Returns:
    float32 per-example losses of shape `[...]`.
  """
  logits, labels = _inputs.prepare(logits, labels)
  log_p_y, log_1m_p_y = label_log_probs(logits, labels)
  factor = area_factor(jnp.asarray(alpha, jnp.float32), jnp.asarray(beta, jnp.float32))
  return _inputs.apply_where(factor * cross_entropy_of_logs(log_p_y, log_1m_p_y), where)
