"""Classification losses that value well-classified examples, as pure JAX functions.

Every loss maps `(logits [..., K], labels [...])` to float32 per-example losses `[...]` with no reduction, takes
an optional `where` mask, and works under `jit`, `vmap` and `grad`. This package imports only jax and numpy.
"""

from el_jax.losses._cross_entropy import cross_entropy
from el_jax.losses._encouraging import encouraging_loss
from el_jax.losses._labels import check_labels
from el_jax.losses._registry import get, hparams, names

__all__ = [
  "check_labels",
  "cross_entropy",
  "encouraging_loss",
  "get",
  "hparams",
  "names",
]
