"""Attacks: budgets and pixel range respected, closed-form worst case on a linear model, PGD at least as strong."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from el_jax.evaluate import attacks


def linear_logits(params, images):
  return images.reshape(images.shape[0], -1) @ params["w"] + params["b"]


def _linear_problem(num_classes, seed=0, n=64, low=0.0, high=1.0):
  rng = np.random.default_rng(seed)
  params = {"w": jnp.asarray(rng.normal(size=(12, num_classes)), jnp.float32), "b": jnp.zeros(num_classes)}
  images = jnp.asarray(rng.uniform(low, high, (n, 3, 4, 1)), jnp.float32)
  labels = jnp.argmax(linear_logits(params, images), -1)  # the model is right on every clean image
  return params, images, labels


def _ce(params, images, labels):
  return optax.softmax_cross_entropy_with_integer_labels(linear_logits(params, images), labels)


def test_fgsm_on_a_two_class_linear_model_is_the_closed_form_worst_case():
  # CE of a 2-class linear model is softplus((w_o - w_y) . x + b_o - b_y): increasing in that direction, so over
  # the L_inf ball the worst case is x + eps * sign(w_o - w_y), with CE softplus(-m + eps * ||w_o - w_y||_1).
  params, images, labels = _linear_problem(2, low=0.3, high=0.7)  # interior: no clipping at eps = 0.1
  eps = 0.1
  w = np.asarray(params["w"])
  direction = np.where(np.asarray(labels)[:, None] == 0, w[:, 1] - w[:, 0], w[:, 0] - w[:, 1]).reshape(-1, 3, 4, 1)
  expected = np.asarray(images) + eps * np.sign(direction)
  adv = attacks.fgsm(linear_logits, params, images, labels, eps=eps)
  np.testing.assert_allclose(adv, expected, atol=1e-6)
  logits = np.asarray(linear_logits(params, images))
  margin = np.abs(logits[:, 0] - logits[:, 1])
  worst = np.logaddexp(0, -margin + eps * np.abs(w[:, 1] - w[:, 0]).sum())
  np.testing.assert_allclose(_ce(params, adv, labels), worst, rtol=1e-5)
  # PGD cannot beat the closed-form maximum, and reaches it.
  pgd = attacks.pgd_linf(linear_logits, params, images, labels, jax.random.key(0), eps=eps, alpha=eps / 4, steps=20)
  np.testing.assert_allclose(_ce(params, pgd, labels), worst, rtol=1e-5)


@pytest.mark.parametrize("name", ["fgsm", "pgd_linf", "pgd_l2"])
def test_perturbations_stay_in_the_ball_and_in_the_pixel_range(name):
  params, images, labels = _linear_problem(5, seed=1)
  eps = 0.5 if name == "pgd_l2" else 8 / 255
  adv = attacks.attack(name, linear_logits, params, images, labels, jax.random.key(1), eps=eps)
  adv, images = np.asarray(adv), np.asarray(images)
  assert adv.min() >= 0.0 and adv.max() <= 1.0
  delta = (adv - images).reshape(len(adv), -1)
  if name == "pgd_l2":
    assert np.linalg.norm(delta, axis=1).max() <= eps * (1 + 1e-5)
  else:
    assert np.abs(delta).max() <= eps + 1e-6
  assert np.abs(delta).max() > 0


def mlp_logits(params, images):
  return jnp.tanh(images.reshape(images.shape[0], -1) @ params["w1"]) @ params["w2"]


@pytest.mark.parametrize("eps", [0.02, 0.05, 0.1])
def test_pgd_succeeds_at_least_as_often_as_fgsm(eps):
  # A random tanh network labelling its own inputs: clean accuracy 1, and non-linear, so FGSM's one step is not
  # the worst case. PGD uses Madry et al.'s step alpha = 2.5 eps / steps.
  rng = np.random.default_rng(0)
  params = {"w1": jnp.asarray(0.5 * rng.normal(size=(64, 64))), "w2": jnp.asarray(rng.normal(size=(64, 10)))}
  images = jnp.asarray(rng.uniform(0, 1, (512, 8, 8, 1)), jnp.float32)
  labels = jnp.argmax(mlp_logits(params, images), -1)

  def fooled(adv):
    return float(np.mean(np.asarray(jnp.argmax(mlp_logits(params, adv), -1) != labels)))

  fgsm_rate = fooled(attacks.fgsm(mlp_logits, params, images, labels, eps=eps))
  pgd = attacks.pgd_linf(mlp_logits, params, images, labels, jax.random.key(2), eps=eps, alpha=eps / 4, steps=10)
  assert 0.0 < fgsm_rate < 1.0
  assert fooled(pgd) >= fgsm_rate


def test_fgsm_sweep_equals_fgsm_at_each_budget():
  params, images, labels = _linear_problem(4, seed=4)
  sweep = attacks.fgsm_sweep(linear_logits, params, images, labels, [0.0, 0.05, 0.3])
  for adv, eps in zip(sweep, [0.0, 0.05, 0.3], strict=True):
    np.testing.assert_allclose(adv, attacks.fgsm(linear_logits, params, images, labels, eps=eps), atol=1e-7)


def test_zero_budget_leaves_images_unchanged():
  params, images, labels = _linear_problem(3, seed=3)
  for name in attacks.ATTACKS:
    adv = attacks.attack(name, linear_logits, params, images, labels, jax.random.key(0), eps=0.0)
    np.testing.assert_allclose(adv, images, atol=1e-7, err_msg=name)


def test_unknown_attack_and_negative_budget_are_named():
  params, images, labels = _linear_problem(3)
  with pytest.raises(ValueError, match="Valid: fgsm"):
    attacks.attack("cw", linear_logits, params, images, labels, None, eps=0.1)
  with pytest.raises(ValueError, match="eps must be"):
    attacks.attack("fgsm", linear_logits, params, images, labels, None, eps=-1.0)
