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
