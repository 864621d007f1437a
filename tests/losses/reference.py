"""float64 numpy references written from the formulas of SPEC-losses §1-2, independent of the JAX code."""

import numpy as np


def softmax(z):
  z = np.asarray(z, np.float64)
  e = np.exp(z - z.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


def one_hot(y, k):
  return np.eye(k)[np.asarray(y)]


def cross_entropy(z, y, label_smoothing=0.0):
  p = softmax(z)
  k = p.shape[-1]
  q = (1 - label_smoothing) * one_hot(y, k) + label_smoothing / k
  return -(q * np.log(p)).sum(-1)


def el_bonus(p, log_end=1.0, bonus_start=0.0, eps=1e-5):
  """b(p) of SPEC §2 (normal / conservative / aggressive), elementwise on float64 p."""

  def b_le(p):
    p = np.asarray(p, np.float64)
    log_branch = np.log(np.maximum(1 - p, eps)) if eps > 0 else np.log(1 - p)
    if log_end >= 1:
      return log_branch
    return np.where(p <= log_end, log_branch, np.log(1 - log_end) - (p - log_end) / (1 - log_end))

  b = b_le(p)
  if bonus_start > 0:
    b = np.where(p >= bonus_start, b - b_le(bonus_start), 0.0)
  return b


def el_bonus_slope(p, log_end=1.0, bonus_start=0.0, eps=1e-5):
  """b'(p), from the same piecewise definition."""
  p = np.asarray(p, np.float64)
  slope = np.where(1 - p > eps, -1 / (1 - p), 0.0) if eps > 0 else -1 / (1 - p)
  if log_end < 1:
    slope = np.where(p <= log_end, slope, -1 / (1 - log_end))
  if bonus_start > 0:
    slope = np.where(p >= bonus_start, slope, 0.0)
  return slope


def encouraging_loss(z, y, log_end=1.0, bonus_start=0.0, bonus_rho=1.0, eps=1e-5):
  p = softmax(z)
  p_y = np.take_along_axis(p, np.asarray(y)[..., None], -1)[..., 0]
  return -np.log(p_y) + bonus_rho * el_bonus(p_y, log_end, bonus_start, eps)


def encouraging_loss_grad(z, y, log_end=1.0, bonus_start=0.0, bonus_rho=1.0, eps=1e-5):
  """SPEC §2: grad_z L = (1 - rho p_y b'(p_y)) (p - e_y)."""
  p = softmax(z)
  p_y = np.take_along_axis(p, np.asarray(y)[..., None], -1)[..., 0]
  scale = 1 - bonus_rho * p_y * el_bonus_slope(p_y, log_end, bonus_start, eps)
  return scale[..., None] * (p - one_hot(y, p.shape[-1]))


def _p_y(z, y):
  return np.take_along_axis(softmax(z), np.asarray(y)[..., None], -1)[..., 0]


def shaped_bonus(p, shape="log", log_end=1.0, bonus_start=0.0, eps=1e-5, gamma=2.0):
  """b(p) for the 'log', 'power' (-p^gamma) and 'cos' (cos(pi p) - 1) shapes, shifted by bonus_start."""
  p = np.asarray(p, np.float64)
  if shape == "log":
    return el_bonus(p, log_end, bonus_start, eps)
  raw = (lambda q: -(q**gamma)) if shape == "power" else (lambda q: np.cos(np.pi * q) - 1)
  b = raw(p)
  if bonus_start > 0:
    b = np.where(p >= bonus_start, b - raw(bonus_start), 0.0)
  return b


def encouraging_loss_smoothed(z, y, s, rho=1.0, **bonus):
  """SPEC §2 with label smoothing: sum_k q_k (-log p_k + rho b(p_k)) on the whole probability matrix."""
  p = softmax(z)
  q = (1 - s) * one_hot(y, p.shape[-1]) + s / p.shape[-1]
  return (q * (-np.log(p) + rho * shaped_bonus(p, **bonus))).sum(-1)


def sigmoid_encouraging_loss(z, t, rho=1.0, **bonus):
  sig = 1 / (1 + np.exp(-np.asarray(z, np.float64)))
  p_t = np.where(np.asarray(t) == 1, sig, 1 - sig)
  return -np.log(p_t) + rho * shaped_bonus(p_t, **bonus)


def focal_loss(z, y, gamma=2.0, alpha=None):
  p_y = _p_y(z, y)
  w = 1.0 if alpha is None else (np.asarray(alpha)[np.asarray(y)] if np.ndim(alpha) else alpha)
  return -w * (1 - p_y) ** gamma * np.log(p_y)


def halted_focal_loss(z, y, gamma=2.0, threshold=0.5):
  p_y = _p_y(z, y)
  focal = -((1 - p_y) ** gamma) * np.log(p_y)
  halted = -np.log(p_y) + (1 - (1 - threshold) ** gamma) * np.log(threshold)
  return np.where(p_y <= threshold, focal, halted)


def sigmoid_focal_loss(z, t, gamma=2.0, alpha=None):
  """Lin et al. 2017: -alpha_t (1 - p_t)^gamma log p_t, alpha_t = alpha t + (1 - alpha)(1 - t)."""
  sig = 1 / (1 + np.exp(-np.asarray(z, np.float64)))
  t = np.asarray(t, np.float64)
  p_t = np.where(t == 1, sig, 1 - sig)
  weight = 1.0 if alpha is None else alpha * t + (1 - alpha) * (1 - t)
  return -weight * (1 - p_t) ** gamma * np.log(p_t)


def sigmoid_halted_focal_loss(z, t, gamma=2.0, threshold=0.5):
  sig = 1 / (1 + np.exp(-np.asarray(z, np.float64)))
  p_t = np.where(np.asarray(t) == 1, sig, 1 - sig)
  focal = -((1 - p_t) ** gamma) * np.log(p_t)
  halted = -np.log(p_t) + (1 - (1 - threshold) ** gamma) * np.log(threshold)
  return np.where(p_t <= threshold, focal, halted)


def mixed_ce_expectation(z, y, alpha=1.0, beta=1.0):
  p_y = _p_y(z, y)
  return -alpha * np.log(p_y) + beta * (1 - p_y)


def hinge_errors(z, y, margin=1.0, margin_of="competitor"):
  """e_i = max(0, z_i - z_y + mu_i) for i != y, e_y = 0 (HEM Eq. 6), by explicit loops over examples; with
  margin_of="label", the label's mu_y in every error of the example."""
  z = np.asarray(z, np.float64)
  mu = np.broadcast_to(np.asarray(margin, np.float64), z.shape[-1:])
  e = np.zeros_like(z)
  for n in range(z.shape[0]):
    for i in range(z.shape[1]):
      if i != y[n]:
        m = mu[y[n]] if margin_of == "label" else mu[i]
        e[n, i] = max(0.0, z[n, i] - z[n, y[n]] + m)
  return e


def multiclass_margin_loss(z, y, margin=1.0, margin_of="competitor", mean_threshold=False, above_zero_mean=False):
  """MM (Eq. 7), and HEM appendix B.2's ablations: errors below the row's mean dropped ("thres"), the mean over the
  above-zero errors only ("maz")."""
  e = hinge_errors(z, y, margin, margin_of)
  out = np.zeros(len(e))
  for n, row in enumerate(e):
    kept = row[row >= row.mean()] if mean_threshold else row
    if above_zero_mean:
      kept = kept[kept > 0]
      out[n] = kept.mean() if kept.size else 0.0
    else:
      out[n] = kept.sum() / row.size
  return out


def hem_loss(z, y, margin, margin_of="competitor"):
  e = hinge_errors(z, y, margin, margin_of)
  out = np.zeros(len(e))
  for n, row in enumerate(e):
    kept = row[(row >= row.mean()) & (row > 0)]
    out[n] = kept.mean() if kept.size else 0.0
  return out


def hem_reduce(values):
  values = np.asarray(values, np.float64)
  positive = values[values > 0]
  return positive.mean() if positive.size else 0.0


def logit_norm_loss(z, y, tau=0.04):
  """CE on the normalised logits x, as log(1 + sum_{k != y} e^(x_k - x_y)): exact for p_y near 1 too."""
  z = np.asarray(z, np.float64)
  x = z / (tau * (np.linalg.norm(z, axis=-1, keepdims=True) + 1e-7))
  x_y = np.take_along_axis(x, np.asarray(y)[..., None], -1)
  others = np.where(one_hot(y, x.shape[-1]) == 1, -np.inf, x)
  return np.log1p(np.exp(others - x_y).sum(-1))


def logit_norm_loss_without_masked(z, y, tau=0.04):
  """LogitNorm of each row with its -inf classes dropped (the label's logit finite), by a loop over rows."""
  out = np.zeros(len(z))
  for n, (row, label) in enumerate(zip(np.asarray(z, np.float64), y, strict=True)):
    kept = row != -np.inf
    assert kept[label], "the label's logit must be finite"
    out[n] = logit_norm_loss(row[kept][None], [np.sum(kept[:label])], tau)[0]
  return out


def logit_adjusted_loss(z, y, class_counts, tau=1.0):
  prior = np.asarray(class_counts, np.float64) / np.sum(class_counts)
  return cross_entropy(np.asarray(z, np.float64) + tau * np.log(prior), y)


def dice_loss(z, y, smooth=1.0):
  """HEM Eq. 5 per class over the batch, then the mean over classes, by a loop over classes."""
  p = softmax(z).reshape(-1, np.shape(z)[-1])
  t = one_hot(np.asarray(y).reshape(-1), p.shape[-1])
  per_class = [
    1 - (2 * (t[:, c] * p[:, c]).sum() + smooth) / ((t[:, c] + p[:, c]).sum() + smooth) for c in range(p.shape[1])
  ]
  return np.mean(per_class)


def squared_error(z, y, activation="softmax", mirror_bonus=False):
  z = np.asarray(z, np.float64)
  a = softmax(z) if activation == "softmax" else 1 / (1 + np.exp(-z))
  t = one_hot(y, z.shape[-1])
  loss = ((t - a) ** 2).mean(-1)
  if mirror_bonus:
    loss -= (t * a**2 + (1 - t) * (1 - a) ** 2).mean(-1)
  return loss


def absolute_error(z, y, activation="softmax", mirror_bonus=False):
  z = np.asarray(z, np.float64)
  a = softmax(z) if activation == "softmax" else 1 / (1 + np.exp(-z))
  t = one_hot(y, z.shape[-1])
  loss = np.abs(t - a).mean(-1)
  if mirror_bonus:
    loss -= (t * a + (1 - t) * (1 - a)).mean(-1)
  return loss


def complement_entropy_loss(z, y, normalizer=None):
  """(1 / (K - 1)) sum_{j != y} q_j log q_j with q_j = p_j / (1 - p_y) (COT, mixing paper Eq. 6), by explicit loops
  over examples and classes; `normalizer` replaces K - 1 (K for COT's released code)."""
  z = np.asarray(z, np.float64)
  k = z.shape[-1]
  flat_z, flat_y = z.reshape(-1, k), np.asarray(y).reshape(-1)
  out = np.zeros(len(flat_y))
  for n, (row, label) in enumerate(zip(flat_z, flat_y, strict=True)):
    p = softmax(row)
    rest = 1.0 - p[label]
    total = 0.0
    for j in range(k):
      if j != label:
        q = p[j] / rest
        total += q * np.log(q) if q > 0 else 0.0
    out[n] = total / (normalizer or k - 1)
  return out.reshape(np.shape(y))


def gradient_matched_cross_entropy(z, y, alpha=1.0, beta=1.0):
  """(alpha + beta / 3) CE: the value of the mixing paper's gradient-norm control (Eq. 20-21)."""
  return -(alpha + beta / 3.0) * np.log(_p_y(z, y))
