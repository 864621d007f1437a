"""A loss on the logits of a linear classifier (a language model's output projection), fused with the projection."""

from typing import Any, NamedTuple

import jax.numpy as jnp

from el_jax.losses import _inputs, _registry
from el_jax.losses._label_losses import FAMILY, label_loss
from el_jax.losses._labels import check_labels
from el_jax.losses._linear_blocks import TOKEN_BLOCK, VOCAB_BLOCK, check_inputs, local_columns, vocab_size
from el_jax.losses._linear_label_probs import linear_label_log_probs
from el_jax.losses._linear_logit_norm import linear_logit_norm_loss
from el_jax.losses._linear_margin import linear_hinge_sums
from el_jax.losses._linear_sigmoid import linear_sigmoid_error_sum
from el_jax.losses._margin import check_margin_of

MARGIN_LOSSES = ("hem_loss", "multiclass_margin_loss")
LINEAR_LOSSES = tuple(sorted((*FAMILY, *MARGIN_LOSSES, "logit_norm_loss")))
"""The registered losses `linear_loss` computes: every per-example loss but the mixing paper's baselines and control
(`complement_entropy_loss`, `cot_sum_loss`, `gradient_matched_cross_entropy`) and the sum
`absolute_and_squared_error`; the batch-level `dice_loss` and the element-wise sigmoid losses raise a
NotImplementedError, as do those four."""
PREDICTION_ERRORS = ("absolute_error", "squared_error")


class LinearOutputs(NamedTuple):
  """A linear classifier's input and parameters, in place of its logits `hidden @ weight + bias`.

  The objective of `get_objective` takes it instead of the logits and computes the loss with `linear_loss`, so
  that a model with a large output layer (a language model's projection onto its vocabulary) can hand its last
  hidden states and output projection to the loss without materialising the `[tokens, V]` logits.
  """

  hidden: Any  # [..., D]
  weight: Any  # [D, V]
  bias: Any = None  # [V] or None


def linear_loss(
  hidden,
  weight,
  labels,
  *,
  loss: str = "cross_entropy",
  bias=None,
  where=None,
  token_block: int = TOKEN_BLOCK,
  vocab_block: int = VOCAB_BLOCK,
  vocab_axis: str | None = None,
  **hparams,
):
  r"""Per-token losses of the logits :math:`z = h W + b`, without materialising the `[tokens, V]` logits.

  Equal to `get(loss, **hparams)(hidden @ weight + bias, labels, where=where)`, for the losses that read the logits
  only through the label's probability :math:`p_y`: each is a formula on :math:`\log p_y` and
  :math:`\log(1 - p_y)`, which `linear_label_log_probs` computes block by block:

  .. math::  \log p_y = -\mathrm{softplus}(-d), \quad \log(1 - p_y) = -\mathrm{softplus}(d), \quad
             d = z_y - \log \textstyle\sum_{k \ne y} e^{z_k}

  (EL paper Eq. 8), with an online, running-max rescaled sum over vocabulary blocks. Supported:

  - `cross_entropy` (:math:`-\log p_y`), with label smoothing `s` too (:math:`-(1 - s) \log p_y - \tfrac{s}{V}
    \sum_k \log p_k`, from one more per-token sum, :math:`\sum_k z_k`, in the same pass);
  - `encouraging_loss` (:math:`-\log p_y + \rho\, b(p_y)`, every bonus shape), with label smoothing too (its
    smoothing term :math:`\tfrac{s}{V} \sum_{k \ne y} (-\log p_k + \rho\, b(p_k))` needs :math:`p_k`, hence the
    whole log-sum-exp, before the bonus: a second forward pass over the blocks, 5 block matmuls against 4);
  - `focal_loss`, `halted_focal_loss`, `expectation_loss`, `mixed_ce_expectation`;
  - `logit_adjusted_loss`, whose per-class shift :math:`\tau \log \pi` is folded into the bias;
  - `squared_error` and `absolute_error` with the softmax and the mirror bonus (:math:`\tfrac{4}{V}(1 - p_y) - 1`),
    `absolute_error` without it (:math:`\tfrac{2}{V}(1 - p_y)`), and `squared_error` without it
    (:math:`\tfrac{1}{V}(1 - p_y)^2 (1 + \rho)`, with :math:`\rho = \sum_{k \ne y} p_k^2 / (1 - p_y)^2` from one
    more running sum, of :math:`e^{2 z_k}`, in the same pass).

  And `squared_error` and `absolute_error` with the sigmoid, with or without the mirror bonus: each class's error
  reads only its own logit, a sum over the vocabulary in one pass (`linear_sigmoid_error_sum`).

  And the margin losses of the HEM paper, from the hinge errors :math:`e_k = \max(0, z_k - z_y + \mu_k)`
  (`linear_hinge_sums`: the label's logit first, then one pass, and a second for HEM's threshold):

  - `multiclass_margin_loss` (:math:`\frac{1}{V} \sum_k e_k`) and `hem_loss` (the mean of the errors at or above
    their mean), with a scalar or a `[V]` margin (HEM+), on the competing class (`margin_of="competitor"`) or the
    label's (`"label"`: the per-token :math:`\mu_y`, a `label_margin` of `linear_hinge_sums`). HEM's batch
    reduction, the mean of the above-zero per-token losses (`hem_reduce`), applies to the output as to the
    materialised loss's;
  - MM's ablations (HEM paper Table 3): `mean_threshold` (HEM's threshold, the kept errors' sum over `V`) and
    `above_zero_mean` (the sum over the count of the positive errors), alone or together.

  And `logit_norm_loss` (cross-entropy on :math:`z / (\tau \lVert z \rVert)`), from a first pass for the norm
  and a second for the log-sum-exp (`linear_logit_norm_loss`).

  That is every per-example loss of the registry but the mixing paper's COT baselines (`complement_entropy_loss`,
  `cot_sum_loss`: they read every wrong class's probability), its control `gradient_matched_cross_entropy` and
  `absolute_and_squared_error` (the sum of two supported losses: give each to `linear_loss` and add them), which
  are for image classifiers and raise a NotImplementedError, as do the others: `dice_loss` is a
  batch-level loss (one value for the batch, from per-class sums over its examples), and the sigmoid losses
  (`sigmoid_encouraging_loss`, `sigmoid_focal_loss`, `sigmoid_halted_focal_loss`) are element-wise, with one
  loss per logit and dense `[..., V]` targets: their output is itself a `[tokens, V]` array.

  Memory: :math:`O(\text{tokens} \cdot D + D \cdot V + \text{token\_block} \cdot \text{vocab\_block})`; the
  `[tokens, V]` logits and their gradient are never held, in the forward or the backward pass. Logits and sums
  are accumulated in float32 whatever the inputs' dtype (bfloat16 `hidden` and `weight` are the common case).
  The gradients with respect to `hidden`, `weight` and `bias` are exact for any cotangent of the per-token
  losses (a custom VJP recomputes each logit block; see `linear_label_log_probs`), in the inputs' dtypes.

  Labels are checked with `check_labels` on the tokens `where` keeps (masked tokens may carry any label, such as
  an ignore index -100): concrete labels raise a ValueError at once; traced labels (inside `jit`) are checked
  when the caller is wrapped in `jax.experimental.checkify.checkify` and not otherwise, where a kept token with
  a label outside `[0, V)` gets a NaN loss and NaN gradients rather than a wrong number.

  Args:
    hidden: `[..., D]` floating hidden states (e.g. `[batch, time, D]`).
    weight: `[D, V]` floating output projection.
    labels: `[...]` integer classes in `[0, V)`.
    loss: the registered name of the loss (see `names()`).
    bias: optional `[V]` bias of the projection.
    where: optional bool `[...]` mask; masked tokens give 0 and no gradient.
    token_block: tokens per block (clipped to the number of tokens; need not divide it).
    vocab_block: vocabulary entries per block (clipped to `V`; need not divide it).
    vocab_axis: None, or the name of the mesh axis over which `weight`'s vocabulary dimension and `bias` are
      sharded, when called inside `jax.shard_map` over that axis: `weight` is this device's `[D, V_s]` shard
      (global columns `[i V_s, (i + 1) V_s)` for its index `i` on the axis), `labels` are global ids in
      `[0, V)` with `V = V_s * axis size`, and the hyper-parameters are those of the whole vocabulary (a
      `[V]` alpha or class counts). Each device streams its own shard; the row statistics are combined
      across the axis (see `linear_label_log_probs` for the collectives) and every device of the axis gets
      the same losses. Tokens may be sharded over other axes (data parallelism) with or without it.
    **hparams: the loss's hyper-parameters, as for `get(loss, **hparams)`.

  Returns:
    float32 per-token losses `[...]` (float64 for float64 inputs).

  Raises:
    ValueError: for an unknown loss or hyper-parameter, a shape mismatch, or concrete labels out of range.
    NotImplementedError: for `dice_loss`, the sigmoid losses and the four losses named above.
  """
  hidden, weight, bias, labels = check_inputs(hidden, weight, bias, labels, token_block, vocab_block)
  shard = weight.shape[1]
  vocab = vocab_size(shard, vocab_axis)
  valid = _registry.hparams(loss)  # a ValueError listing the names if `loss` is unknown
  if loss not in LINEAR_LOSSES:
    raise NotImplementedError(
      f"Loss {loss!r} is not supported by the fused path (linear_loss): it is not a per-example loss of the fused "
      "kinds (dice_loss gives one value per batch; the sigmoid losses one per logit, a [tokens, V] output; the "
      "complement-entropy losses read every wrong class's probability; absolute_and_squared_error is the sum of "
      "absolute_error and squared_error, each supported). Supported: "
      f"{', '.join(LINEAR_LOSSES)}. Materialise the logits and call the loss on them instead."
    )
  sigmoid = loss in PREDICTION_ERRORS and hparams.get("activation", valid["activation"]) == "sigmoid"
  if loss in FAMILY and not sigmoid:
    family = label_loss(loss, vocab, **hparams)
  else:  # MM, HEM, LogitNorm and the sigmoid errors: hyper-parameters checked as their materialised losses do
    _registry.check_hparams(loss, hparams, valid)
    hparams = {**valid, **hparams}
    if loss in MARGIN_LOSSES:
      _inputs.check_nonnegative("margin", hparams["margin"])
      check_margin_of(hparams["margin_of"])
    elif loss == "logit_norm_loss" and not hparams["tau"] > 0.0:
      raise ValueError(f"tau must be > 0, got {hparams['tau']}.")
  if where is not None:
    where = _inputs.as_mask(where, labels.shape)
  check_labels(labels if where is None else jnp.where(where, labels, 0), vocab, debug=True)
  blocks = {"token_block": token_block, "vocab_block": vocab_block, "vocab_axis": vocab_axis}
  if sigmoid:
    mirror_bonus = hparams["mirror_bonus"]
    errors = linear_sigmoid_error_sum(
      hidden, weight, bias, labels, where, loss=loss, mirror_bonus=mirror_bonus, **blocks
    )
    return _inputs.apply_where(errors / vocab, where)  # the mean over the V classes
  if loss == "logit_norm_loss":
    return _inputs.apply_where(linear_logit_norm_loss(hidden, weight, bias, labels, where, **hparams, **blocks), where)
  if loss in MARGIN_LOSSES:
    hem = loss == "hem_loss"
    threshold, above_zero = hem or hparams["mean_threshold"], hem or hparams["above_zero_mean"]
    margin, label_margin = hparams["margin"], None
    if hparams["margin_of"] == "label" and jnp.ndim(margin) == 1:  # mu_y on every error of the token
      margin, label_margin = 0.0, jnp.take(jnp.asarray(margin), labels, mode="wrap")
    total, count = linear_hinge_sums(
      hidden, weight, bias, labels, where, margin=margin, hem=threshold, label_margin=label_margin, **blocks
    )
    # MM (Eq. 7) averages over the V classes, HEM (Eq. 8) and MM+maz over the kept errors
    per_token = total / jnp.maximum(count, 1.0) if above_zero else total / vocab
    return _inputs.apply_where(per_token, where)
  if family.logit_shift is not None:
    shift = local_columns(jnp.asarray(family.logit_shift), shard, vocab_axis)
    bias = shift if bias is None else jnp.asarray(bias) + shift
  stats = linear_label_log_probs(
    hidden,
    weight,
    bias,
    labels,
    where,
    mean_log_p=family.mean_log_p,
    others_bonus=family.others_bonus,
    others_collision=family.others_collision,
    **blocks,
  )
  log_p_y, log_1m_p_y, *extra = stats
  return _inputs.apply_where(family.formula(log_p_y, log_1m_p_y, labels, *extra), where)
