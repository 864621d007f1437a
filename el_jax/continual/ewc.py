"""Elastic weight consolidation (Kirkpatrick et al., 2017, PNAS 114(13), eq. 3).

After episode `e` the parameters `theta_e*` and the diagonal Fisher information `F_e` are stored; training on later
episodes adds

    penalty(theta) = lambda * sum_{e < t} sum_i F_{e,i} (theta_i - theta_{e,i}*)^2

(one quadratic term per past episode, Avalanche's `mode="separate"`; the baselines' `ewc_lambda` is this `lambda`,
without the paper's 1/2). `F` is the empirical Fisher as Avalanche computes it: the square of the gradient of the
training objective on each mini-batch of the episode's training data, averaged over the mini-batches,

    F_i = (1 / B) sum_b (d L_b / d theta_i)^2.
"""

import jax
import jax.numpy as jnp


def fisher_diagonal(loss_grad, params, batches):
  """Mean over `batches` of the squared gradient `loss_grad(params, batch)` (a tree like `params`)."""
  total, count = None, 0
  for batch in batches:
    squared = jax.tree.map(jnp.square, loss_grad(params, batch))
    total = squared if total is None else jax.tree.map(jnp.add, total, squared)
    count += 1
  if not count:
    raise ValueError("The Fisher information needs at least one batch of the episode's data.")
  return jax.tree.map(lambda x: x / count, total)


def penalty(params, anchors: dict, strength):
  """`strength * sum_e sum_i F_e (theta - theta_e*)^2` over `anchors = {name: {"fisher": F_e, "params": theta_e*}}`."""
  total = jnp.zeros((), jnp.float32)
  for anchor in anchors.values():
    terms = jax.tree.map(lambda f, p, a: jnp.sum(f * jnp.square(p - a)), anchor["fisher"], params, anchor["params"])
    total = total + sum(jax.tree.leaves(terms))
  return strength * total
