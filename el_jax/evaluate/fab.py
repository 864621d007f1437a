r"""FAB-T, the targeted Fast Adaptive Boundary attack (Croce & Hein, ICML 2020), L-inf and L2, jitted and batched.

FAB looks for the smallest perturbation that moves a sample across the decision boundary between its label `y` and a
target class `t`. At the current point `x^{(i)}` it linearises that boundary,

.. math::  \pi(x^{(i)}) = \{z : f(x^{(i)}) + \nabla f(x^{(i)})^\top (z - x^{(i)}) = 0\},
           \quad f = z_t - z_y,

and projects onto it (intersected with the pixel box [0, 1]) both the current point and the clean image
`x_0`, `d^{(i)} = proj_p(x^{(i)}, \pi) - x^{(i)}` and `d_0^{(i)} = proj_p(x_0, \pi) - x_0` (`projection`: the
minimal L-inf or L2 step onto the hyperplane within the box). The next point is the biased, extrapolated
combination (the paper's Eq. (8))

.. math::  x^{(i+1)} = \mathrm{clip}_{[0,1]}\big((1 - \alpha)(x^{(i)} + \eta d^{(i)})
           + \alpha (x_0 + \eta d_0^{(i)})\big), \qquad
           \alpha = \min\Big(\frac{\|d^{(i)}\|}{\|d^{(i)}\| + \|d_0^{(i)}\|}, \alpha_{max}\Big),

with `eta = 1.05` (overshooting) and `alpha_max = 0.1`. Whenever the point is misclassified it is recorded if it is
the closest adversarial point so far, and the point moves back towards the clean image,
`x^{(i+1)} <- x_0 + beta (x^{(i+1)} - x_0)` with `beta = 0.9`. A sample counts as broken when the closest
adversarial point found lies in the eps ball; FAB's eps plays no other role (it would set the random restarts'
radius, which the standard version does not use).

The targets are those of APGD-T (`apgd.target_classes`: the classes ranked 2nd to 10th by the clean logits), one
run of 100 iterations each from the clean image, as the standard AutoAttack runs FAB-T (`fra31/auto-attack`,
`fab_base.py`, `fab_projections.py`: 1 restart, so no random start). Difference kept: the projection onto the
hyperplane within the box is found by bisection on its one-dimensional Lagrange multiplier (`BISECTION_STEPS`
halvings, exact up to float32), where the reference sorts the coordinates' breakpoints; both give the minimal step
(for L-inf one of several minimal steps).
"""

import functools

import jax
import jax.numpy as jnp

from el_jax.evaluate import apgd

ETA = 1.05  # overshooting of the projections
BETA = 0.9  # backward step after an adversarial point
ALPHA_MAX = 0.1  # largest weight of the step from the clean image
BISECTION_STEPS = 40
L2_MULTIPLIER_RANGE = 1e8  # the L2 multiplier is searched in [m, 1e8 m], m the unconstrained projection's
DIVISION_EPS = 1e-12


def _flat(x):
  return x.reshape(x.shape[0], -1)


def projection(points, w, c, linf):
  """The smallest step `d` (L-inf when `linf`, else L2) with `w . d = c` and `0 <= points + d <= 1`, per row of
  `points, w [B, D]`, `c [B]`; the step reaching farthest towards it where the box does not allow reaching it.

  With `s = sign(c)`, the solution is `d(lambda) = clip(lambda s sign(w), -points, 1 - points)` (L-inf) or
  `clip(lambda s w, -points, 1 - points)` (L2) at the smallest `lambda >= 0` with `s w . d(lambda) >= |c|`
  (KKT conditions; `w . d(lambda)` is monotone in `lambda`), found by bisection.
  """
  sign = jnp.where(c >= 0, 1.0, -1.0)[:, None]
  w = w * sign
  target = jnp.abs(c)[:, None]
  low_box, high_box = -points, 1.0 - points
  direction = jnp.where(linf, jnp.sign(w), w)

  def step(multiplier):
    return jnp.clip(multiplier * direction, low_box, high_box)

  def reach(multiplier):
    return jnp.sum(w * step(multiplier), axis=1, keepdims=True)

  # L-inf: lambda is the step's size, at most 1 in the box. L2: bisection on log(lambda) from the multiplier of the
  # projection without the box, c / ||w||^2, which the box can only increase.
  unconstrained = target / (jnp.sum(jnp.square(w), axis=1, keepdims=True) + DIVISION_EPS)
  low = jnp.where(linf, 0.0, jnp.log(unconstrained + DIVISION_EPS))
  high = jnp.where(linf, 1.0, low + jnp.log(L2_MULTIPLIER_RANGE))

  def multiplier_of(u):
    return jnp.where(linf, u, jnp.exp(u))

  def halve(_, bounds):
    low, high = bounds
    middle = (low + high) / 2
    enough = reach(multiplier_of(middle)) >= target
    return jnp.where(enough, low, middle), jnp.where(enough, middle, high)

  low, high = jax.lax.fori_loop(0, BISECTION_STEPS, halve, (low, high))
  d = step(multiplier_of(high))  # high always reaches the target when the box allows it
  return jnp.where(target > 0, d, 0.0)


@functools.partial(jax.jit, static_argnames=("logits_fn", "n_iter"))
def _single_run(logits_fn, params, images, labels, targets, active, eps, linf, *, n_iter):
  shape = images.shape
  x0 = _flat(images)

  def boundary(x):  # f = z_t - z_y and its gradient, at flat points x
    def f(flat):
      logits = logits_fn(params, flat.reshape(shape))
      return jnp.sum(apgd._label_logit(logits, targets) - apgd._label_logit(logits, labels)), logits

    grad, logits = jax.grad(f, has_aux=True)(x)
    return apgd._label_logit(logits, targets) - apgd._label_logit(logits, labels), grad

  def norm(d):
    return jnp.where(linf, jnp.max(jnp.abs(d), axis=1), jnp.sqrt(jnp.sum(jnp.square(d), axis=1)))

  def wrong(x):
    return jnp.argmax(logits_fn(params, x.reshape(shape)), -1) != labels

  def step(_, state):
    x, best, best_norm = state
    value, grad = boundary(x)
    # The hyperplane grad . z = grad . x - value: the steps onto it from x and from x0.
    d = projection(x, grad, -value, linf)
    d0 = projection(x0, grad, jnp.sum(grad * (x - x0), axis=1) - value, linf)
    size, size0 = jnp.maximum(norm(d), 1e-8), jnp.maximum(norm(d0), 1e-8)
    alpha = jnp.clip(size / (size + size0), 0.0, ALPHA_MAX)[:, None]
    x = jnp.clip((1 - alpha) * (x + ETA * d) + alpha * (x0 + ETA * d0), 0.0, 1.0)
    is_adv = wrong(x)
    distance = norm(x - x0)
    closer = is_adv & (distance < best_norm)
    best = jnp.where(closer[:, None], x, best)
    best_norm = jnp.where(closer, distance, best_norm)
    x = jnp.where(is_adv[:, None], x0 + BETA * (x - x0), x)
    return x, best, best_norm

  _, best, best_norm = jax.lax.fori_loop(0, n_iter, step, (x0, x0, jnp.full(labels.shape, jnp.inf, images.dtype)))
  broken = active & (best_norm <= eps)
  return jnp.where(broken[:, None], best, x0).reshape(shape), broken


def fab_targeted(
  logits_fn, params, images, labels, key=None, *, eps: float, norm: str = "linf", n_iter=100, n_target_classes=9
):
  """FAB-T on the correctly classified samples of `images [B, ...]` in [0, 1]: `(adv, broken)`, a sample broken when
  the closest misclassified point found for one of its targets lies within `eps`. The defaults are the standard
  AutoAttack's FAB-T (100 iterations, 9 target classes, 1 restart: no random start, so `key` is unused)."""
  del key
  images, labels = jnp.asarray(images), jnp.asarray(labels)
  clean = apgd._clean_logits(logits_fn, params, images)
  apgd.check(clean.shape, eps=eps, norm=norm, n_iter=n_iter)
  if n_target_classes < 1:
    raise ValueError(f"n_target_classes must be >= 1, got {n_target_classes}.")
  active = jnp.argmax(clean, -1) == labels
  adv, broken = images, jnp.zeros(labels.shape, bool)
  for targets in apgd.target_classes(clean, n_target_classes):
    if not jnp.any(active & ~broken):
      break
    run_adv, run_broken = _single_run(
      logits_fn, params, images, labels, targets, active & ~broken, eps, norm == "linf", n_iter=n_iter
    )
    adv = jnp.where(apgd._expand(run_broken, images), run_adv, adv)
    broken = broken | run_broken
  return adv, broken
