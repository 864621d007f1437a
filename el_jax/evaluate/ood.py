"""Out-of-distribution rejection: confidence scores, AUROC, FPR at a TPR, and the detection accuracy rate.

Every score is oriented so that a higher value means "more in-distribution": a sample is accepted when its score
is at least a threshold. In-distribution samples are the positive class throughout.
"""

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats


@jax.jit
def msp(logits):
  r"""Maximum softmax probability :math:`\max_k p_k` (Hendrycks & Gimpel, 2017)."""
  return jnp.max(jax.nn.softmax(logits, axis=-1), axis=-1)


@jax.jit
def max_logit(logits):
  r"""Maximum logit :math:`\max_k z_k` (MLS; Hendrycks et al., 2022; HEM §3)."""
  return jnp.max(logits, axis=-1)


@jax.jit
def free_energy(logits):
  r"""Negative free energy :math:`-E(x) = \operatorname{logsumexp}_k z_k` (Liu et al., 2020).

  The free energy of the classifier read as an EBM is :math:`E(x) = -\log\sum_k e^{z_k}`; low energy is in
  distribution, so the score is its negation.
  """
  return jax.nn.logsumexp(logits, axis=-1)


@jax.jit
def min_conditional_energy(logits):
  r"""The EL paper's indicator (§4.4): minus the minimum conditional energy, :math:`-\min_y E(y|x)`.

  With :math:`E(y|x) = -z_y` (EL §3), :math:`-\min_y E(y|x) = \max_y z_y`: this score is the maximum logit, so
  it ranks samples exactly as `max_logit` does and gives the same AUROC and FPR.
  """
  return -jnp.min(-logits, axis=-1)


SCORES = {
  "msp": msp,
  "max_logit": max_logit,
  "free_energy": free_energy,
  "min_conditional_energy": min_conditional_energy,
}


def _check_scores(name, scores):
  scores = np.asarray(scores, np.float64)
  if scores.ndim != 1 or len(scores) == 0:
    raise ValueError(f"{name} must be a non-empty 1-D array of scores, got shape {scores.shape}.")
  if not np.all(np.isfinite(scores)):
    raise ValueError(f"{name} holds {np.sum(~np.isfinite(scores))} non-finite scores; scores must be finite.")
  return scores


def auroc(in_scores, out_scores) -> float:
  r"""Area under the ROC curve with in-distribution as the positive class.

  Computed as the Mann-Whitney statistic :math:`P(s_{in} > s_{out}) + \tfrac12 P(s_{in} = s_{out})` from
  average ranks, which equals the trapezoidal area under the ROC curve (`sklearn.metrics.roc_auc_score`).
  """
  in_scores, out_scores = _check_scores("in_scores", in_scores), _check_scores("out_scores", out_scores)
  ranks = stats.rankdata(np.concatenate([in_scores, out_scores]))
  n_in, n_out = len(in_scores), len(out_scores)
  return float((ranks[:n_in].sum() - n_in * (n_in + 1) / 2) / (n_in * n_out))


def threshold_at_tpr(in_scores, tpr: float = 0.95) -> float:
  """The largest threshold `t` whose true positive rate `mean(in_scores >= t)` reaches `tpr`.

  Scanning the candidate thresholds (the in-distribution scores) from the highest down, this is the first one at
  which the TPR is at least `tpr` — the threshold of `sklearn.metrics.roc_curve` at the first index with
  `tpr_k >= tpr`. (Some papers instead interpolate between ROC points, or take the last threshold below `tpr`.)
  """
  in_scores = _check_scores("in_scores", in_scores)
  if not 0.0 < tpr <= 1.0:
    raise ValueError(f"tpr must lie in (0, 1], got {tpr}.")
  ordered = np.sort(in_scores)[::-1]
  # Accepting the k highest scores gives TPR k/n (more with ties): the smallest k with k/n >= tpr.
  k = int(np.argmax(np.arange(1, len(ordered) + 1) / len(ordered) >= tpr))
  return float(ordered[k])


def fpr_at_tpr(in_scores, out_scores, tpr: float = 0.95) -> float:
  """The fraction of out-of-distribution samples accepted at `threshold_at_tpr(in_scores, tpr)` (FPR95).

  A sample is accepted when its score is `>= t`.
  """
  threshold = threshold_at_tpr(in_scores, tpr)
  return float(np.mean(_check_scores("out_scores", out_scores) >= threshold))


def detection_accuracy_rate(clean_scores, clean_correct, scores, correct, accept_rate: float = 0.95) -> float:
  """The detection accuracy rate (DAR; Spratling, 2023; HEM appendix A.1.2) of a set of (e.g. adversarial) samples.

  The rejection threshold accepts `accept_rate` of the correctly classified clean samples (the first threshold,
  scanning down, that does; see `threshold_at_tpr`). A sample is processed correctly when it is accepted and
  correctly classified, or rejected and misclassified; DAR is the fraction processed correctly.

  Args:
    clean_scores: `[N]` confidence scores of the clean test samples.
    clean_correct: `[N]` whether each clean sample is correctly classified.
    scores: `[M]` scores of the samples evaluated.
    correct: `[M]` whether each of those is correctly classified.
    accept_rate: the fraction of correct clean samples to accept.
  """
  clean_correct = np.asarray(clean_correct, bool)
  if not clean_correct.any():
    raise ValueError("no clean sample is correctly classified: the DAR threshold is undefined.")
  threshold = threshold_at_tpr(np.asarray(clean_scores)[clean_correct], accept_rate)
  scores, correct = _check_scores("scores", scores), np.asarray(correct, bool)
  if correct.shape != scores.shape:
    raise ValueError(f"scores {scores.shape} and correct {correct.shape} must have the same shape.")
  accepted = scores >= threshold
  return float(np.mean(accepted == correct))
