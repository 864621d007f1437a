"""Class-balanced re-weighting of the per-example losses, deferred to the end of training (DRW).

Deferred re-weighting (Cao et al. 2019, "Learning imbalanced datasets with label-distribution-aware margin loss",
§3.3) trains with the plain loss first and, from a given point on, weights each example's loss by a weight of its
class that grows as the class gets rarer. The weights are those of the class-balanced loss (Cui et al. 2019, Eq. 3):
the inverse "effective number" of examples of each class,

.. math::  w_k = \\frac{1 - \\beta}{1 - \\beta^{n_k}}, \\qquad \\text{normalised to } \\sum_k w_k = K,

with :math:`n_k` the training examples of class k and :math:`\\beta = 0.9999` (Cao et al.'s DRW setting).
:math:`\\beta = 0` weights every class equally; :math:`\\beta \\to 1` gives weights proportional to :math:`1 / n_k`.

The weighted batch loss is :math:`\\sum_i w_{y_i} \\ell_i / \\sum_i w_{y_i}` over the unmasked examples: the weighted
mean of PyTorch's `cross_entropy(weight=w)`, which Cao et al.'s DRW uses, so that the loss's scale does not depend
on the batch's class mix. The EL paper (appendix B.3, Table 3) defers the re-weighting to epoch 180 of 200.
"""

import jax.numpy as jnp
import numpy as np

DEFAULT_BETA = 0.9999


def effective_number_weights(class_counts, beta: float = DEFAULT_BETA) -> np.ndarray:
  """`[K]` class-balanced weights :math:`w_k \\propto (1 - \\beta) / (1 - \\beta^{n_k})`, summing to the number of
  classes with training examples.

  A class without training examples never labels a training example, so its weight is never used; it is 0 here
  (its effective number is 0: the formula would divide by zero). The weighted mean of `reweighted_mean` does not
  depend on the weights' common scale.

  Raises:
    ValueError: for `beta` outside `[0, 1)`, negative counts, or no training example at all.
  """
  counts = np.asarray(class_counts, np.float64)
  if isinstance(beta, bool) or not isinstance(beta, int | float) or not 0 <= beta < 1:
    raise ValueError(f"reweight_beta must be a number in [0, 1), got {beta!r}.")
  if counts.ndim != 1 or np.any(counts < 0) or not np.any(counts > 0):
    raise ValueError(
      f"Class-balanced weights need [K] counts >= 0 with at least one training example, got shape {counts.shape} "
      f"and {int(np.sum(counts > 0)) if counts.ndim == 1 else 0} classes with examples."
    )
  present = counts > 0
  weights = np.zeros_like(counts)
  weights[present] = (1.0 - beta) / (1.0 - np.power(beta, counts[present])) if beta > 0 else 1.0
  return weights * (np.sum(present) / weights.sum())


def check_class_weights(class_weights, reweight_from) -> None:
  """A ValueError unless `class_weights` is None or a list of numbers >= 0 (not all 0) and `reweight_from` is in
  `[0, 1]`."""
  if isinstance(reweight_from, bool) or not isinstance(reweight_from, int | float) or not 0 <= reweight_from <= 1:
    raise ValueError(f"reweight_from must be a fraction of training in [0, 1], got {reweight_from!r}.")
  if class_weights is None:
    return
  weights = np.asarray(class_weights, np.float64) if isinstance(class_weights, list | tuple | np.ndarray) else None
  if weights is None or weights.ndim != 1 or not np.all(np.isfinite(weights)) or np.any(weights < 0):
    raise ValueError(
      f"class_weights must be a list of K numbers >= 0 (or the marker 'effective_number'), got {class_weights!r}."
    )
  if not np.any(weights > 0):
    raise ValueError("class_weights are all 0: no example would count. Give at least one positive weight.")


def reweighted_mean(values, labels, where, class_weights, active):
  """:math:`\\sum_i w_{y_i} \\ell_i / \\sum_i w_{y_i}` over the unmasked examples when `active` (a traced bool), the
  plain mean otherwise; 0 with a zero gradient when no unmasked example has a positive weight."""
  weights = jnp.asarray(class_weights, values.dtype)[labels]
  weights = jnp.where(active, weights, jnp.ones_like(weights))
  if where is not None:
    weights = jnp.where(jnp.asarray(where, bool), weights, 0.0)
  total = jnp.sum(weights)
  return jnp.sum(jnp.where(weights > 0, weights * values, 0.0)) / jnp.where(total > 0, total, 1.0)
