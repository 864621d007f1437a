"""A label check that works on the host and, through `jax.experimental.checkify`, inside `jit`.

JAX indexing does not raise on out-of-range indices: inside the losses a label `-1` reads as class `K - 1`
(negative indices wrap), and a label `>= K` gives, depending on the loss, NaN, a finite value that matches no class
(gathers clamp the index, scatters drop it), or a one-hot row of zeros. `check_labels` turns that into a clear error:
on concrete labels (the data layer and the trainer call it on numpy batches) it raises a ValueError at once;
on traced labels (inside `jit`, `vmap`, ...) it stages a `checkify.check`, reported by a function wrapped in
`checkify.checkify`.
"""

import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from el_jax.losses import _inputs


def check_labels(labels, num_classes: int, *, debug: bool = False) -> None:
  """Checks that `labels` are integers in `[0, num_classes)`.

  - Concrete labels (numpy, or JAX arrays outside `jit`): raises a ValueError naming how many labels are out
    of range and some of them.
  - Traced labels (inside `jit`, `vmap`, `grad`, ...): the dtype is checked at trace time (ValueError) and the
    range with `jax.experimental.checkify.check`, so the function that calls it must be wrapped in
    `checkify.checkify` (for example `err, out = jax.jit(checkify.checkify(train_step))(...)` and then
    `err.throw()`, which raises with the smallest and largest label). Without `checkify.checkify` JAX refuses to
    trace the check ("Cannot abstractly evaluate a checkify.check which was not functionalized") rather than
    skip it. Labels that are never checked are not detected (see the module's docstring for what the losses do).
  - With `debug=True`, traced labels are checked with `checkify.debug_check` instead: the same error under
    `checkify.checkify`, and no check at all without it, so that a plain `jit` still traces.

  Args:
    labels: an array of class indices, concrete or traced.
    num_classes: the number of classes K.
    debug: whether a traced check may be dropped when the caller is not wrapped in `checkify.checkify`.
  """
  if not _inputs.is_traced(labels):
    _check_concrete(np.asarray(labels), num_classes)
    return
  if not jnp.issubdtype(labels.dtype, jnp.integer):
    raise ValueError(f"labels must be integer class indices, got dtype {labels.dtype}.")
  if labels.size == 0:
    return
  low, high = jnp.min(labels), jnp.max(labels)
  check = checkify.debug_check if debug else checkify.check
  check(
    (low >= 0) & (high < num_classes),
    f"labels must lie in [0, {num_classes}) for {num_classes} classes, but their min is {{low}} and max {{high}}. "
    "Check the dataset's label encoding or the model's num_classes.",
    low=low,
    high=high,
  )


def _check_concrete(labels, num_classes):
  if not np.issubdtype(labels.dtype, np.integer):
    raise ValueError(f"labels must be integer class indices, got dtype {labels.dtype}.")
  if labels.size == 0:
    return
  low, high = int(labels.min()), int(labels.max())
  if low < 0 or high >= num_classes:
    bad = labels[(labels < 0) | (labels >= num_classes)]
    raise ValueError(
      f"labels must lie in [0, {num_classes}) for {num_classes} classes, but {bad.size} of "
      f"{labels.size} do not (min {low}, max {high}; e.g. {bad[:5].tolist()}). Check the dataset's "
      "label encoding or the model's num_classes."
    )
