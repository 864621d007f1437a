"""Less-forgetful learning (Jung, Ju, Jung and Kim, 2016, arXiv:1607.00122, eq. 3).

From the second episode on, the penultimate-layer features `f(x)` of the network being trained are pulled towards
those of the network as it was at the end of the previous episode, `f_old(x)`, on the current training inputs:

    L = L_task + lambda_e * (1 / (N D)) sum_n ||f(x_n) - f_old(x_n)||^2      (features of size D, N per batch),

the mean squared error Avalanche's `LFLPlugin` uses. The classifier layer is frozen after the first episode, to keep
the old decision boundaries (the paper trains only the feature extractor on new data).
"""

import jax
import jax.numpy as jnp


def feature_distance(features, previous_features):
  """Mean over the batch and feature axes of `(f - f_old)^2`; `f_old` gets no gradient."""
  return jnp.mean(jnp.square(features - jax.lax.stop_gradient(previous_features)))


def head_mask(params, *, head: str = "head"):
  """A tree like `params`, True on the parameters of the classifier layer `head` (frozen by LFL)."""
  return jax.tree_util.tree_map_with_path(lambda path, _: any(getattr(k, "key", None) == head for k in path), params)
