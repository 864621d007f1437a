"""Classification losses that value well-classified examples, as pure JAX functions.

Every loss maps `(logits [..., K], labels [...])` to float32 per-example losses `[...]` with no reduction, takes
an optional `where` mask, and works under `jit`, `vmap` and `grad` (the sigmoid losses take 0/1 `targets` of the
logits' shape instead of labels; `dice_loss` is batch-level). `get(name, **hparams)` looks a loss up by name;
`get_objective(name, **hparams)` gives the reduced, scheduled batch objective a train step minimises.
`linear_loss(hidden, weight, labels, loss=name, ...)` gives the losses of the logits `hidden @ weight + bias` of a
large-vocabulary classifier without materialising them; an objective takes a `LinearOutputs(hidden, weight, bias)`
in place of the logits to do the same. `with_large_margin(objective, ...)` trains through large-margin softmax
(Liu et al., 2016) from such linear outputs.
This package imports only jax and numpy.
"""

from el_jax.losses._bonus import Bonus
from el_jax.losses._complement import complement_entropy_loss, cot_sum_loss
from el_jax.losses._cross_entropy import cross_entropy
from el_jax.losses._data_hparams import resolve_data_hparams
from el_jax.losses._dice import dice_loss
from el_jax.losses._encouraging import encouraging_loss, sigmoid_encouraging_loss
from el_jax.losses._expectation import expectation_loss, mixed_ce_expectation
from el_jax.losses._focal import focal_loss, halted_focal_loss, sigmoid_focal_loss, sigmoid_halted_focal_loss
from el_jax.losses._gradient_matched import gradient_matched_cross_entropy
from el_jax.losses._label_probs import label_log_probs
from el_jax.losses._labels import check_labels
from el_jax.losses._large_margin import MNIST_LARGE_MARGIN, large_margin_logits, with_large_margin
from el_jax.losses._linear import LINEAR_LOSSES, LinearOutputs, linear_loss
from el_jax.losses._linear_label_probs import linear_label_log_probs
from el_jax.losses._logit_adjusted import logit_adjusted_loss
from el_jax.losses._logit_norm import logit_norm_loss
from el_jax.losses._margin import hem_loss, hem_margin, hem_plus_margins, hem_reduce, multiclass_margin_loss
from el_jax.losses._objective import get_objective, objective_hparams
from el_jax.losses._prediction_error import absolute_and_squared_error, absolute_error, squared_error
from el_jax.losses._registry import get, hparams, names
from el_jax.losses._schedules import (
  FOCUS_SCHEDULES,
  bonus_weight,
  focus,
  focus_weights,
  training_progress,
)

__all__ = [
  "FOCUS_SCHEDULES",
  "LINEAR_LOSSES",
  "MNIST_LARGE_MARGIN",
  "Bonus",
  "LinearOutputs",
  "absolute_and_squared_error",
  "absolute_error",
  "bonus_weight",
  "check_labels",
  "complement_entropy_loss",
  "cot_sum_loss",
  "cross_entropy",
  "dice_loss",
  "encouraging_loss",
  "expectation_loss",
  "focal_loss",
  "focus",
  "focus_weights",
  "get",
  "get_objective",
  "gradient_matched_cross_entropy",
  "halted_focal_loss",
  "hem_loss",
  "hem_margin",
  "hem_plus_margins",
  "hem_reduce",
  "hparams",
  "label_log_probs",
  "large_margin_logits",
  "linear_label_log_probs",
  "linear_loss",
  "logit_adjusted_loss",
  "logit_norm_loss",
  "mixed_ce_expectation",
  "multiclass_margin_loss",
  "names",
  "objective_hparams",
  "resolve_data_hparams",
  "sigmoid_encouraging_loss",
  "sigmoid_focal_loss",
  "sigmoid_halted_focal_loss",
  "squared_error",
  "training_progress",
  "with_large_margin",
]
