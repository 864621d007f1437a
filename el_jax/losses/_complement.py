"""Complement entropy and complement objective training (COT; Chen et al. 2019), the baseline of the mixing paper's
Table 5 (its Eq. 6).

COT flattens the predicted distribution over the wrong classes: besides cross-entropy it maximises the entropy of
:math:`\\hat p_j = p_j / (1 - p_y)`, :math:`j \\ne y`. Chen et al. train with two forward-backward passes per batch,
one update on cross-entropy, then one on the complement entropy, each with its own optimiser. That alternation is
not a loss: the trainer makes it (`config.loss.alternate`, `el_jax.train.step.make_train_step`), with
`complement_entropy_loss` as the second objective; `cot_sum_loss` is its one-pass approximation, the sum of the two
objectives (see its docstring).
"""

import jax
import jax.numpy as jnp

from el_jax.losses import _inputs
from el_jax.losses._label_probs import label_log_probs

NORMALIZATIONS = ("complement_classes", "classes")


def _complement_log_probs(logits, labels):
  r"""`(log_q, is_label)`: :math:`\log \hat p_j = z_j - \mathrm{logsumexp}_{k \ne y} z_k` off the label, 0 at it.

  The label's logit is knocked out with :math:`-\infty` before the log-softmax, so :math:`\hat p` is computed from
  the other logits alone and stays exact when :math:`p_y \to 1` (where :math:`p_j / (1 - p_y)` is 0/0).
  """
  is_label = jax.nn.one_hot(labels, logits.shape[-1], dtype=bool)
  log_q = jax.nn.log_softmax(jnp.where(is_label, -jnp.inf, logits), axis=-1)
  # 0 at the label, so that neither q log q nor its gradient meets exp(-inf) * -inf
  return jnp.where(is_label, 0.0, log_q), is_label


def _normalizer(normalization: str, num_classes: int) -> float:
  if normalization not in NORMALIZATIONS:
    raise ValueError(f"Unknown normalization {normalization!r}. Valid: {', '.join(map(repr, NORMALIZATIONS))}.")
  return float(num_classes - 1 if normalization == "complement_classes" else num_classes)


def complement_entropy_loss(logits, labels, *, normalization: str = "complement_classes", where=None):
  r"""The negative normalised complement entropy (COT's complement objective, Chen et al. 2019; mixing paper Eq. 6).

  .. math::  L = -\frac{1}{K - 1} H(\hat p) = \frac{1}{K - 1} \sum_{j \ne y} \hat p_j \log \hat p_j,
     \quad \hat p_j = \frac{p_j}{1 - p_y}

  Minimising it maximises the entropy of the prediction over the wrong classes (COT's complement objective). It
  lies in :math:`[-\log(K - 1) / (K - 1), 0]`: 0 when one wrong class takes all of :math:`1 - p_y` (always so at
  K = 2), its minimum when the wrong classes share it equally.

  Normalisation: the mixing paper's Eq. 6 states the sum without a factor; Chen et al. normalise the complement
  entropy by the number of complement classes, K - 1 (`normalization="complement_classes"`, the default), and their
  released code divides by K instead (`normalization="classes"`). The factor only rescales the complement term's
  gradient against cross-entropy's.

  Args:
    logits: `[..., K]` unnormalised scores.
    labels: `[...]` integer classes in `[0, K)`.
    normalization: "complement_classes" (divide by K - 1) or "classes" (divide by K).
    where: optional bool `[...]` mask; masked entries give 0 and no gradient.

  Returns:
    float32 per-example losses of shape `[...]`.
  """
  logits, labels = _inputs.prepare(logits, labels)
  scale = _normalizer(normalization, logits.shape[-1])
  log_q, is_label = _complement_log_probs(logits, labels)
  loss = jnp.sum(jnp.where(is_label, 0.0, jnp.exp(log_q) * log_q), axis=-1) / scale
  # the label's logit is knocked out above: a NaN there must still give NaN
  z_y = jnp.take_along_axis(logits, labels[..., None], axis=-1)[..., 0]
  loss = jnp.where(jnp.isnan(z_y), jnp.nan, loss)
  return _inputs.apply_where(loss, where)


def cot_sum_loss(
  logits, labels, *, complement_weight: float = 1.0, normalization: str = "complement_classes", where=None
):
  r"""COT in one pass: cross-entropy plus the complement-entropy loss (an approximation of Chen et al.'s
  alternating updates; mixing paper Table 5's COT column).

  .. math::  L = -\log p_y + w \cdot \frac{1}{K - 1} \sum_{j \ne y} \hat p_j \log \hat p_j

  Chen et al. make two SGD updates per batch, :math:`\theta' = \theta - \eta \nabla L_{CE}(\theta)` then
  :math:`\theta'' = \theta' - \eta \nabla L_{COT}(\theta')`. To first order in :math:`\eta`,
  :math:`\theta'' = \theta - \eta (\nabla L_{CE} + \nabla L_{COT})(\theta)`: one update on this sum with
  :math:`w = 1`. It differs from the alternation at second order (the complement gradient is taken before, not
  after, the CE update) and costs one pass instead of two.

  Args:
    logits: `[..., K]` unnormalised scores.
    labels: `[...]` integer classes in `[0, K)`.
    complement_weight: `w` >= 0, the weight of the complement term (1: the sum of the two objectives).
    normalization: of the complement entropy (see `complement_entropy_loss`).
    where: optional bool `[...]` mask; masked entries give 0 and no gradient.

  Returns:
    float32 per-example losses of shape `[...]`.
  """
  _inputs.check_nonnegative("complement_weight", complement_weight)
  logits, labels = _inputs.prepare(logits, labels)
  log_p_y, _ = label_log_probs(logits, labels)
  complement = complement_entropy_loss(logits, labels, normalization=normalization)
  return _inputs.apply_where(-log_p_y + jnp.asarray(complement_weight, jnp.float32) * complement, where)
