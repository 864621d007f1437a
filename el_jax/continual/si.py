"""Synaptic intelligence (Zenke, Poole and Ganguli, 2017, ICML, eqs. 3-5).

During an episode each parameter accumulates its contribution to the decrease of the loss along the training path,

    omega_k = - sum_steps g_k(t) * (theta_k(t+1) - theta_k(t)),

with `g` the gradient of the task objective alone (without the penalty), as in the paper. At the end of episode `mu`
the importance grows by the path integral over the damped squared total displacement of the episode,

    Omega_k <- Omega_k + omega_k / (Delta_k^2 + xi),   Delta_k = theta_k(end of mu) - theta_k(start of mu),

and training on the next episodes adds the surrogate loss

    penalty(theta) = c * sum_k Omega_k (theta_k - theta~_k)^2,   theta~ = the parameters at the end of episode mu.

The baselines' (Avalanche's) `si_lambda` is `2 c`, and Avalanche clips `Omega` from above at 0.001 before the
penalty (`max_importance`).
"""

import jax
import jax.numpy as jnp


def zeros_like(params):
  return jax.tree.map(jnp.zeros_like, params)


def accumulate_path(path, grads, old_params, new_params):
  """`omega - g * (theta_new - theta_old)` for one update."""
  return jax.tree.map(lambda w, g, new, old: w - g * (new - old), path, grads, new_params, old_params)


def consolidate(importance, path, start_params, end_params, damping: float):
  """`Omega + omega / ((theta_end - theta_start)^2 + xi)` at the end of an episode."""
  if damping <= 0:
    raise ValueError(f"SI's damping xi must be positive, got {damping}.")
  return jax.tree.map(
    lambda big, w, start, end: big + w / (jnp.square(end - start) + damping), importance, path, start_params, end_params
  )


def penalty(params, importance, anchor, strength, *, max_importance: float | None = None):
  """`c * sum_k min(Omega_k, max_importance) (theta_k - theta~_k)^2` (no clipping when `max_importance` is None)."""
  if max_importance is not None:
    importance = jax.tree.map(lambda x: jnp.minimum(x, max_importance), importance)
  terms = jax.tree.map(lambda big, p, a: jnp.sum(big * jnp.square(p - a)), importance, params, anchor)
  return strength * sum(jax.tree.leaves(terms))
