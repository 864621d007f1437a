r"""How much a loss weights an example as a function of its target probability :math:`p_y`.

The weight is the loss's pull on the target logit, :math:`w(p_y) = -\partial L / \partial z_y`, on logits whose
softmax gives the target :math:`p_y` and spreads the rest evenly over the other :math:`K - 1` classes:
:math:`z_y = \log p_y`, :math:`z_k = \log\frac{1 - p_y}{K - 1}`. For cross-entropy :math:`w = 1 - p_y`, which fades
as an example becomes well classified; EL's normal bonus adds :math:`p_y`, giving :math:`w = 1` (EL §3); the
conservative bonus gives :math:`1` up to `log_end` and :math:`1 - p + p(1 - p)/(1 - LE)` beyond. This is the
quantity the three papers argue about: whether well-classified examples should keep a gradient.

Losses that take one 0/1 target per logit (the sigmoid losses) get the one-hot targets of the same labels; a
batch-level loss (one value per batch, e.g. DICE) is differentiated with the whole grid as its batch.
"""

import jax
import jax.numpy as jnp
import numpy as np


def logits_for(p_y, num_classes: int):
  """Logits `[..., K]` with softmax `p_y` on class 0 and `(1 - p_y) / (K - 1)` on every other class."""
  p_y = jnp.asarray(p_y, jnp.float32)
  rest = jnp.log1p(-p_y) - jnp.log(num_classes - 1.0)
  return jnp.concatenate(
    [jnp.log(p_y)[..., None], jnp.broadcast_to(rest[..., None], (*p_y.shape, num_classes - 1))], -1
  )


def _weight(loss_fn, p_y, num_classes, one_hot):
  logits = logits_for(p_y, num_classes)
  labels = jnp.zeros(logits.shape[0], jnp.int32)
  targets = jax.nn.one_hot(labels, num_classes) if one_hot else labels
  grads = jax.grad(lambda z: jnp.sum(loss_fn(z, targets)))(logits)
  return -grads[:, 0]


def adapt(loss_fn, num_classes: int) -> bool:
  """Whether `loss_fn` needs one-hot targets (False: integer labels); raises the loss's error if neither works.

  Checked by abstract evaluation (`jax.eval_shape`), which compiles nothing.
  """
  grid = jnp.array([0.5], jnp.float32)
  try:
    jax.eval_shape(lambda p: _weight(loss_fn, p, num_classes, False), grid)
    return False
  except (ValueError, TypeError) as first:
    try:
      jax.eval_shape(lambda p: _weight(loss_fn, p, num_classes, True), grid)
      return True
    except (ValueError, TypeError):
      raise first from None


def gradient_weight(loss_fn, p_y, num_classes: int = 10):
  r"""`-dL/dz_y` of `loss_fn(logits, labels_or_targets)` at each target probability in `p_y` (1-D, in (0, 1))."""
  return jax.jit(lambda p: _weight(loss_fn, p, num_classes, adapt(loss_fn, num_classes)))(jnp.asarray(p_y))


def curves(losses_by_name: dict, p_y=None, num_classes: int = 10) -> dict:
  """`{"p_y": grid, name: weights}` for each loss callable in `losses_by_name`, all in one compiled function."""
  p_y = np.linspace(0.01, 0.99, 99) if p_y is None else np.asarray(p_y)
  if np.any((p_y <= 0) | (p_y >= 1)):
    raise ValueError("p_y must lie strictly between 0 and 1.")
  one_hot = {name: adapt(fn, num_classes) for name, fn in losses_by_name.items()}

  @jax.jit
  def all_weights(p):
    return {name: _weight(fn, p, num_classes, one_hot[name]) for name, fn in losses_by_name.items()}

  weights = jax.device_get(all_weights(jnp.asarray(p_y, jnp.float32)))
  return {"p_y": p_y.tolist()} | {name: np.asarray(weights[name]).tolist() for name in losses_by_name}
