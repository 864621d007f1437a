"""Training objectives: a loss by name, reduced over the batch, with its scheduled hyper-parameters.

`get_objective(name, **hparams)` returns `objective(logits, labels, *, where=None, progress=0.0) -> scalar`,
the quantity a train step differentiates. `progress` is training progress in `[0, 1]` (`step / total_steps`,
see `training_progress`) and may be a traced scalar: schedules are evaluated with JAX ops only.
"""

import jax.numpy as jnp

from el_jax.losses import _registry, _reweighting, _schedules
from el_jax.losses._linear import LinearOutputs, linear_loss
from el_jax.losses._margin import hem_reduce

_BONUS_SCHEDULE = {"bonus_defer": 0.0, "bonus_ramp": 0.0}
_SCHEDULE_HPARAMS = {
  "encouraging_loss": _BONUS_SCHEDULE,
  "sigmoid_encouraging_loss": _BONUS_SCHEDULE,
  "mixed_ce_expectation": {"focus_schedule": None},
  "gradient_matched_cross_entropy": {"focus_schedule": None},  # the mixture's schedule, for its control
}


# Deferred class re-weighting of the mean of per-example losses (`_reweighting`); off by default.
_REWEIGHT_HPARAMS = {"class_weights": None, "reweight_from": 0.0}


def objective_hparams(name: str) -> dict:
  """The hyper-parameters `get_objective(name, ...)` accepts: the loss's own, its schedule's and the class
  re-weighting's, with defaults."""
  return {**_registry.hparams(name), **_SCHEDULE_HPARAMS.get(name, {}), **_REWEIGHT_HPARAMS}


def _masked_mean(values, where):
  """The mean over unmasked entries; 0 (with a zero gradient) for an empty or fully masked batch."""
  if where is None:
    return jnp.sum(values) / max(values.size, 1)
  count = jnp.sum(jnp.asarray(where, bool))
  return jnp.sum(values) / jnp.maximum(count, 1).astype(values.dtype)


def get_objective(name: str, *, linear_blocks: tuple[int, int] | None = None, **kwargs):
  r"""The batch objective of loss `name`: `objective(logits, labels, *, where=None, progress=0.0) -> float32 scalar`.

  `logits` may also be a `LinearOutputs(hidden, weight, bias)`: the objective is then that of the logits
  `hidden @ weight + bias`, computed by `linear_loss` without materialising them (for the losses of
  `LINEAR_LOSSES`; the others raise a NotImplementedError naming them when the objective is traced), in blocks of
  `linear_blocks = (token_block, vocab_block)` (default `linear_loss`'s).

  Reductions: the mean over unmasked examples for per-example losses; for `hem_loss`, and for
  `multiclass_margin_loss` with `above_zero_mean=True` (HEM paper Table 3's "MM+maz"), the mean of the above-zero
  per-example losses (`hem_reduce`); `dice_loss` is batch-level already. Every objective is 0, with a zero
  gradient, for an empty or fully masked batch, and NaN when an unmasked example has a NaN logit.

  Schedules (besides every hyper-parameter of the loss itself, see `hparams`):

  - `encouraging_loss`, `sigmoid_encouraging_loss`: `bonus_defer` (fraction of training before the bonus turns
    on; training is cross-entropy until then) and `bonus_ramp` (fraction of training over which `bonus_rho`
    then rises linearly from 0); see `bonus_weight`. Both default to 0: the bonus is on from the start.
  - `mixed_ce_expectation` and its control `gradient_matched_cross_entropy`: `focus_schedule`, one of `"F=0"`,
    `"F=0,0.5"`, `"F=0-0.5"` (mixing paper), which sets `alpha` and `beta` from the focus `F` at each step
    (`focus`, `focus_weights`); it excludes `alpha`/`beta`.
  - every loss reduced by the mean: `class_weights` (`[K]` numbers; default None, no re-weighting) and
    `reweight_from` (default 0): from that fraction of training on, the mean becomes the class-weighted mean
    :math:`\sum_i w_{y_i} \ell_i / \sum_i w_{y_i}` (deferred re-weighting, DRW; see `_reweighting`). Configs
    name the class-balanced weights by the marker `class_weights="effective_number"` (`resolve_data_hparams`).

  Raises:
    ValueError: for an unknown loss, or a hyper-parameter that is unknown, missing or out of range, listing the
      valid ones.
  """
  valid = objective_hparams(name)
  _registry.check_hparams(name, kwargs, valid)
  blocks = (
    {} if linear_blocks is None else dict(zip(("token_block", "vocab_block"), _blocks(linear_blocks), strict=True))
  )
  schedule = {k: kwargs.pop(k) for k in list(kwargs) if k in _SCHEDULE_HPARAMS.get(name, {})}
  class_weights, reweight_from = (kwargs.pop(k, default) for k, default in _REWEIGHT_HPARAMS.items())
  _reweighting.check_class_weights(class_weights, reweight_from)
  loss_fn = _registry.get(name, **kwargs)

  def loss_of(outputs, labels, **call_kwargs):
    if isinstance(outputs, LinearOutputs):
      hidden, weight, bias = outputs
      return linear_loss(hidden, weight, labels, loss=name, bias=bias, **blocks, **{**kwargs, **call_kwargs})
    return loss_fn(outputs, labels, **call_kwargs)

  per_example = _scheduled(name, loss_of, kwargs, schedule)

  if name == "dice_loss":
    reduce = lambda values, where: values  # noqa: E731
  elif name == "hem_loss" or (name == "multiclass_margin_loss" and kwargs.get("above_zero_mean", False)):
    reduce = hem_reduce
  else:
    reduce = _masked_mean
  if class_weights is not None and reduce is not _masked_mean:
    raise ValueError(
      f"class_weights re-weights the mean of per-example losses, but {name!r} is reduced over the batch in its own "
      "way (DICE, or HEM's mean of the above-zero losses). Leave class_weights unset for this loss."
    )

  def objective(logits, labels, *, where=None, progress=0.0):
    values = per_example(logits, labels, where, progress)
    if class_weights is None:
      return reduce(values, where)
    return _reweighting.reweighted_mean(values, labels, where, class_weights, jnp.asarray(progress) >= reweight_from)

  return objective


def _blocks(linear_blocks) -> tuple[int, int]:
  """`linear_blocks` checked: two integers >= 1."""
  blocks = tuple(linear_blocks)
  if len(blocks) != 2 or not all(isinstance(b, int) and not isinstance(b, bool) and b >= 1 for b in blocks):
    raise ValueError(f"linear_blocks must be (token_block, vocab_block), two integers >= 1, got {linear_blocks!r}.")
  return blocks


def _scheduled(name, loss_fn, loss_kwargs, schedule):
  """`fn(logits, labels, where, progress)`: the loss with its scheduled hyper-parameters set at `progress`."""
  if name in ("encouraging_loss", "sigmoid_encouraging_loss"):
    defer, ramp = schedule.get("bonus_defer", 0.0), schedule.get("bonus_ramp", 0.0)
    _schedules.bonus_weight(0.0, defer=defer, ramp=ramp)  # validates
    rho = loss_kwargs.get("bonus_rho", 1.0)

    def el(logits, labels, where, progress):
      weight = _schedules.bonus_weight(progress, defer=defer, ramp=ramp)
      return loss_fn(logits, labels, bonus_rho=rho * weight, where=where)

    return el
  if schedule.get("focus_schedule") is not None:  # mixed_ce_expectation, gradient_matched_cross_entropy
    focus_schedule = _schedules.check_focus_schedule(schedule["focus_schedule"])
    if "alpha" in loss_kwargs or "beta" in loss_kwargs:
      raise ValueError("focus_schedule sets alpha and beta at every step; give either focus_schedule or alpha/beta.")

    def mixed(logits, labels, where, progress):
      alpha, beta = _schedules.focus_weights(_schedules.focus(focus_schedule, progress))
      return loss_fn(logits, labels, alpha=alpha, beta=beta, where=where)

    return mixed
  return lambda logits, labels, where, progress: loss_fn(logits, labels, where=where)
