"""Every registered loss with example hyper-parameters and its float64 numpy reference, for the generic tests."""

import numpy as np

from tests.losses import reference

COUNTS = np.array([50, 20, 10, 5, 2])  # class counts for K = 5

# name -> (hyper-parameters, kind, reference(z, y_or_t) or None). kind: "softmax" (integer labels, per example),
# "sigmoid" (0/1 targets per logit), "batch" (a scalar for the whole batch).
CASES = {
  "cross_entropy": ({"label_smoothing": 0.1}, "softmax", lambda z, y: reference.cross_entropy(z, y, 0.1)),
  "encouraging_loss": (
    {"log_end": 0.75, "bonus_rho": 0.8},
    "softmax",
    lambda z, y: reference.encouraging_loss(z, y, log_end=0.75, bonus_rho=0.8),
  ),
  "encouraging_loss/smoothed": (
    {"label_smoothing": 0.2, "bonus": "power", "bonus_gamma": 1.5},
    "softmax",
    lambda z, y: reference.encouraging_loss_smoothed(z, y, 0.2, shape="power", gamma=1.5),
  ),
  "sigmoid_encouraging_loss": (
    {"log_end": 0.75},
    "sigmoid",
    lambda z, t: reference.sigmoid_encouraging_loss(z, t, log_end=0.75),
  ),
  "squared_error": ({"mirror_bonus": True}, "softmax", lambda z, y: reference.squared_error(z, y, mirror_bonus=True)),
  "absolute_error": (
    {"activation": "sigmoid", "mirror_bonus": True},
    "softmax",
    lambda z, y: reference.absolute_error(z, y, "sigmoid", True),
  ),
  "absolute_and_squared_error": (
    {"activation": "sigmoid"},
    "softmax",
    lambda z, y: reference.absolute_error(z, y, "sigmoid") + reference.squared_error(z, y, "sigmoid"),
  ),
  "focal_loss": ({"gamma": 2.0}, "softmax", lambda z, y: reference.focal_loss(z, y, 2.0)),
  "halted_focal_loss": ({"gamma": 2.0}, "softmax", lambda z, y: reference.halted_focal_loss(z, y, 2.0)),
  "sigmoid_focal_loss": (
    {"gamma": 2.0, "alpha": 0.25},
    "sigmoid",
    lambda z, t: reference.sigmoid_focal_loss(z, t, 2.0, 0.25),  # and against optax in test_focal
  ),
  "sigmoid_halted_focal_loss": ({}, "sigmoid", lambda z, t: reference.sigmoid_halted_focal_loss(z, t)),
  "expectation_loss": ({}, "softmax", lambda z, y: reference.mixed_ce_expectation(z, y, 0.0, 1.0)),
  "mixed_ce_expectation": (
    {"alpha": 1.0, "beta": 2.5},
    "softmax",
    lambda z, y: reference.mixed_ce_expectation(z, y, 1.0, 2.5),
  ),
  "complement_entropy_loss": ({}, "softmax", lambda z, y: reference.complement_entropy_loss(z, y)),
  "complement_entropy_loss/classes": (
    {"normalization": "classes"},
    "softmax",
    lambda z, y: reference.complement_entropy_loss(z, y, normalizer=z.shape[-1]),
  ),
  "cot_sum_loss": (
    {"complement_weight": 0.5},
    "softmax",
    lambda z, y: reference.cross_entropy(z, y) + 0.5 * reference.complement_entropy_loss(z, y),
  ),
  "gradient_matched_cross_entropy": (
    {"alpha": 1.0, "beta": 2.0},
    "softmax",
    lambda z, y: reference.gradient_matched_cross_entropy(z, y, 1.0, 2.0),
  ),
  "multiclass_margin_loss": ({"margin": 0.5}, "softmax", lambda z, y: reference.multiclass_margin_loss(z, y, 0.5)),
  "hem_loss": ({"margin": 0.2}, "softmax", lambda z, y: reference.hem_loss(z, y, 0.2)),
  "logit_norm_loss": ({"tau": 0.5}, "softmax", lambda z, y: reference.logit_norm_loss(z, y, 0.5)),
  "logit_adjusted_loss": (
    {"class_counts": COUNTS},
    "softmax",
    lambda z, y: reference.logit_adjusted_loss(z, y, COUNTS),
  ),
  "dice_loss": ({}, "batch", lambda z, y: reference.dice_loss(z, y)),
}


def loss_name(case: str) -> str:
  return case.split("/")[0]


def inputs(kind, shape=(8, 5), scale=2.0, seed=0):
  """`(logits, labels or targets)` as numpy float32 / int arrays for a case of this kind."""
  rng = np.random.default_rng(seed)
  z = (rng.normal(size=shape) * scale).astype(np.float32)
  if kind == "sigmoid":
    return z, rng.integers(0, 2, shape).astype(np.float32)
  return z, rng.integers(0, shape[-1], shape[:-1])
