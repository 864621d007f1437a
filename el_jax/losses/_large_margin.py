r"""Large-margin softmax (Liu et al., 2016, "Large-margin softmax loss for convolutional neural networks").

A linear classifier without bias has logits :math:`z_k = w_k^\top x = \lVert w_k \rVert \lVert x \rVert \cos\theta_k`.
L-Softmax replaces the label's logit by one with an angular margin (Liu et al. Eqs. 5-6),

.. math::  \psi(\theta) = (-1)^k \cos(m\theta) - 2k, \quad \theta \in [k\pi/m, (k+1)\pi/m], \ k = 0, \dots, m - 1,

monotonically decreasing on :math:`[0, \pi]` and at most :math:`\cos\theta`, and anneals it in from plain softmax
(their training recipe): :math:`f_y = (\lambda z_y + \lVert w_y \rVert \lVert x \rVert \psi(\theta_y)) / (1 + \lambda)`
with :math:`\lambda = \max(\lambda_{min}, \beta (1 + \gamma t)^{-p})` at iteration :math:`t`. The other logits
are unchanged, and so is the test-time classifier (the plain :math:`z`). Any loss can follow: cross-entropy gives
L-Softmax itself, encouraging loss "L-Softmax + EL" (EL paper App. C.1).
"""

import math

import jax.numpy as jnp

from el_jax.losses._labels import check_labels
from el_jax.losses._linear import LinearOutputs

# Liu et al.'s MNIST release: margin m = 4 ("QUADRUPLE"), lambda = 1000 (1 + 2.5e-5 t)^-35, down to 0.
MNIST_LARGE_MARGIN = {"margin": 4, "base": 1000.0, "gamma": 2.5e-5, "power": 35.0, "minimum": 0.0}


def cos_multiple_angle(cos, margin: int):
  r""":math:`\cos(m\theta)` from :math:`c = \cos\theta`: the Chebyshev polynomial :math:`T_m(c)`
  (:math:`T_0 = 1`, :math:`T_1 = c`, :math:`T_{n+1} = 2c T_n - T_{n-1}`), Liu et al. Eq. 7 summed."""
  previous, current = jnp.ones_like(cos), cos
  if margin == 0:
    return previous
  for _ in range(margin - 1):
    previous, current = current, 2.0 * cos * current - previous
  return current


def psi(cos, margin: int):
  r""":math:`\psi(\theta)` of the module docstring from :math:`c = \cos\theta \in [-1, 1]`; the interval index
  :math:`k` counts the thresholds :math:`\cos(j\pi/m)`, :math:`j = 1, \dots, m - 1`, that :math:`c` is at or below."""
  k = sum((cos <= math.cos(j * math.pi / margin)).astype(cos.dtype) for j in range(1, margin))
  sign = 1.0 - 2.0 * jnp.mod(k, 2.0)
  return sign * cos_multiple_angle(cos, margin) - 2.0 * k


def margin_lambda(iteration, *, base: float, gamma: float, power: float, minimum: float):
  r""":math:`\lambda = \max(\lambda_{min}, \beta (1 + \gamma t)^{-p})` at iteration :math:`t` (Liu et al.'s
  annealing: large at first, so training starts as plain softmax, then shrinking to :math:`\lambda_{min}`)."""
  t = jnp.asarray(iteration, jnp.float32)
  return jnp.maximum(minimum, base * (1.0 + gamma * t) ** (-power))


def _norm(x):
  # The square root of a sum floored away from 0, so that a zero vector gets a finite (zero) gradient.
  return jnp.sqrt(jnp.maximum(jnp.sum(jnp.square(x), axis=-1), 1e-30))


def large_margin_logits(hidden, weight, labels, *, margin: int, lam, where=None):
  r"""The logits :math:`x W` with the label's replaced by :math:`f_y` of the module docstring: `hidden [..., D]`,
  `weight [D, K]`, integer `labels [...]`, `lam` the annealing weight :math:`\lambda` (0: the full margin). Computed
  in float32 at least (float64 inputs stay float64); :math:`\cos\theta_y` is clipped to :math:`[-1, 1]` against
  rounding only. Labels are checked (`check_labels`, a debug check when traced) where `where` is True; elsewhere
  (masked positions, which may hold any label) the margin goes on class 0, for the loss's mask to drop."""
  check_margin(margin)
  dtype = jnp.promote_types(jnp.result_type(hidden, weight), jnp.float32)
  hidden, weight = jnp.asarray(hidden, dtype), jnp.asarray(weight, dtype)
  logits = hidden @ weight
  labels = jnp.asarray(labels)
  if where is not None:
    labels = jnp.where(jnp.asarray(where, bool), labels, 0)
  check_labels(labels, logits.shape[-1], debug=True)
  label_logit = jnp.take_along_axis(logits, labels[..., None], axis=-1)[..., 0]
  scale = _norm(hidden) * _norm(jnp.take(weight.T, labels, axis=0))  # |x| |w_y|
  cos = jnp.clip(label_logit / scale, -1.0, 1.0)
  target = (lam * label_logit + scale * psi(cos, margin)) / (1.0 + lam)
  one_hot = labels[..., None] == jnp.arange(logits.shape[-1])
  return jnp.where(one_hot, target[..., None], logits)


def check_margin(margin) -> None:
  if not isinstance(margin, int) or isinstance(margin, bool) or margin < 1:
    raise ValueError(
      f"large-margin softmax needs an integer angular margin m >= 1 (1 is plain softmax; Liu et al. use 2, 3, 4), "
      f"got {margin!r}."
    )


def with_large_margin(
  objective, *, total_steps: int, margin: int, base: float, gamma: float, power: float, minimum: float
):
  r"""`objective` (of `get_objective`) applied to L-Softmax logits: given a `LinearOutputs(hidden, weight, None)`,
  the objective of `large_margin_logits` at :math:`\lambda` of iteration `progress * total_steps`; given plain
  logits (evaluation), the objective of those logits, Liu et al.'s test-time classifier. The `[..., K]` logits are
  materialised: this is for classifiers, not language-model vocabularies.

  Raises:
    ValueError: for a margin that is not an integer >= 1, a negative schedule value or `total_steps` < 1; and, when
      traced, for `LinearOutputs` with a bias (L-Softmax's logits :math:`\lVert w \rVert \lVert x \rVert \cos\theta`
      have none).
  """
  check_margin(margin)
  schedule = {"base": base, "gamma": gamma, "power": power, "minimum": minimum}
  bad = {k: v for k, v in schedule.items() if not isinstance(v, int | float) or isinstance(v, bool) or v < 0}
  if bad:
    raise ValueError(f"large-margin softmax's lambda schedule needs numbers >= 0, got {bad}.")
  if not isinstance(total_steps, int) or total_steps < 1:
    raise ValueError(
      f"large-margin softmax counts iterations: total_steps must be an integer >= 1, got {total_steps!r}."
    )

  def large_margin_objective(outputs, labels, *, where=None, progress=0.0):
    if not isinstance(outputs, LinearOutputs):
      return objective(outputs, labels, where=where, progress=progress)
    hidden, weight, bias = outputs
    if bias is not None:
      raise ValueError(
        "large-margin softmax needs a classifier without bias (its label logit is |w| |x| psi(theta)); this model's "
        "output layer has one: build it without (e.g. config.model.head_bias=False for lsoftmax_cnn)."
      )
    lam = margin_lambda(jnp.asarray(progress, jnp.float32) * total_steps, **schedule)
    logits = large_margin_logits(hidden, weight, labels, margin=margin, lam=lam, where=where)
    return objective(logits, labels, where=where, progress=progress)

  return large_margin_objective
