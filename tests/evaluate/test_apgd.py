"""APGD: the paper's checkpoints and losses, the closed-form minimal perturbation of linear models, the budget, and
at least PGD's strength on a briefly trained network."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from el_jax.evaluate import apgd, attacks
from tests.evaluate.linear_models import judged, linear_logits, linear_problem, perturbation


def test_checkpoints_follow_the_papers_recurrence():
  # p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06); the check follows iteration w_j = p_j N.
  p = [0.0, 0.22]
  while p[-1] + max(p[-1] - p[-2] - 0.03, 0.06) <= 1:
    p.append(p[-1] + max(p[-1] - p[-2] - 0.03, 0.06))
  expected = [round(q * 100) - 1 for q in p[1:]]
  assert [i for i, _ in apgd.checkpoints(100)] == expected == [21, 40, 56, 69, 79, 86, 92, 98]
  assert [w for _, w in apgd.checkpoints(100)] == [22, 19, 16, 13, 10, 7, 6, 6]
  assert apgd.checkpoints(3) == ((0, 1), (1, 1), (2, 1))  # the windows never shrink below one iteration


def test_dlr_losses_match_hand_computed_values_and_ignore_shift_and_scale():
  logits = jnp.asarray([[4.0, 1.0, 3.0, 0.0, -1.0], [1.0, 5.0, 2.0, 2.0, 0.0]])
  labels, targets = jnp.asarray([0, 0]), jnp.asarray([3, 2])
  # Row 0 (correct): -(4 - 3) / (4 - 1); row 1 (wrong): -(1 - 5) / (5 - 2).
  np.testing.assert_allclose(apgd.loss_values("dlr", logits, labels), [-1 / 3, 4 / 3], rtol=1e-6)
  # Targeted: -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2): row 0 -(4 - 0) / (4 - 0.5), row 1 -(1 - 2) / (5 - 1.5).
  np.testing.assert_allclose(apgd.loss_values("dlr_targeted", logits, labels, targets), [-4 / 3.5, 1 / 3.5], rtol=1e-6)
  for name in ("dlr", "dlr_targeted"):
    np.testing.assert_allclose(
      apgd.loss_values(name, 3.0 * logits + 7.0, labels, targets), apgd.loss_values(name, logits, labels, targets)
    )
  ce = apgd.loss_values("ce", logits, labels)
  np.testing.assert_allclose(ce, jax.nn.logsumexp(logits, -1) - logits[:, 0], rtol=1e-6)


@pytest.mark.parametrize("norm", ["linf", "l2"])
@pytest.mark.parametrize("attack", ["apgd-ce", "apgd-t"])
def test_apgd_finds_the_closed_form_minimal_perturbation_of_a_linear_model(attack, norm):
  # Two classes for APGD-CE (the cross-entropy then rises exactly along the shortest direction to the boundary),
  # five for APGD-T (one target is the nearest class). The budget is the median distance: a sample is broken
  # exactly when its distance is below it (samples within 2% of the budget are not judged).
  params, images, labels, distance = linear_problem(2 if attack == "apgd-ce" else 5)
  eps = float(np.median(distance[norm]))
  if attack == "apgd-ce":
    adv, broken = apgd.apgd(linear_logits, params, images, labels, jax.random.key(0), eps=eps, norm=norm)
  else:
    adv, broken = apgd.apgd_targeted(linear_logits, params, images, labels, jax.random.key(0), eps=eps, norm=norm)
  broken = np.asarray(broken)
  far = judged(distance[norm], eps)
  assert far.sum() >= 50
  np.testing.assert_array_equal(broken[far], distance[norm][far] < eps)
  assert not broken[distance[norm] >= eps].any()  # nothing beyond the budget, judged or not
  np.testing.assert_array_equal(np.asarray(jnp.argmax(linear_logits(params, adv), -1) != labels), broken)
  assert perturbation(adv, images, norm).max() <= eps * (1 + 1e-5)
  np.testing.assert_array_equal(np.asarray(adv)[~broken], np.asarray(images)[~broken])


def test_apgd_stays_in_the_pixel_box_and_the_ball():
  # Pixels at and near 0 and 1 and large budgets: the projection must clip to both the eps ball and [0, 1].
  params, _, _, _ = linear_problem(2)
  images = jnp.asarray(np.random.default_rng(2).choice([0.0, 0.02, 0.98, 1.0], (64, 6, 6, 1)), jnp.float32)
  labels = jnp.argmax(linear_logits(params, images), -1)
  for norm, eps in (("linf", 0.3), ("l2", 2.0)):
    adv, broken = apgd.apgd(linear_logits, params, images, labels, jax.random.key(1), eps=eps, norm=norm)
    adv = np.asarray(adv)
    assert adv.min() >= 0.0 and adv.max() <= 1.0 and np.asarray(broken).any()
    assert perturbation(adv, images, norm).max() <= eps * (1 + 1e-5)


def test_apgd_is_deterministic_given_its_key():
  params, images, labels, distance = linear_problem(2)
  eps = float(np.median(distance["l2"]))
  first = apgd.apgd(linear_logits, params, images, labels, jax.random.key(4), eps=eps, norm="l2")
  again = apgd.apgd(linear_logits, params, images, labels, jax.random.key(4), eps=eps, norm="l2")
  other = apgd.apgd(linear_logits, params, images, labels, jax.random.key(5), eps=eps, norm="l2")
  np.testing.assert_array_equal(first[0], again[0])
  assert np.any(np.asarray(first[0]) != np.asarray(other[0]))  # the key matters (another random start)


def test_bad_settings_are_named():
  params, images, labels, _ = linear_problem(3, n=4)
  with pytest.raises(ValueError, match="Unknown norm 'l1'. Valid: linf, l2"):
    apgd.apgd(linear_logits, params, images, labels, jax.random.key(0), eps=0.1, norm="l1")
  with pytest.raises(ValueError, match="eps must be >= 0"):
    apgd.apgd(linear_logits, params, images, labels, jax.random.key(0), eps=-0.1)
  with pytest.raises(ValueError, match="dlr_targeted loss needs at least 4 classes, the model has 3: use the ce"):
    apgd.apgd_targeted(linear_logits, params, images, labels, jax.random.key(0), eps=0.1)
  with pytest.raises(ValueError, match="Unknown APGD loss 'hinge'"):
    apgd.apgd(linear_logits, params, images, labels, jax.random.key(0), eps=0.1, loss="hinge")


def _digits_mlp():
  """An MLP trained for 30 full-batch Adam steps on scikit-learn's 8x8 digits (offline), and 100 held-out digits."""
  from sklearn import datasets

  digits = datasets.load_digits()
  images = (digits.images / 16.0).astype(np.float32)[..., None]
  labels = digits.target.astype(np.int32)
  rng = np.random.default_rng(0)
  params = {
    "w1": jnp.asarray(rng.normal(size=(64, 32)) / 8, jnp.float32),
    "w2": jnp.asarray(rng.normal(size=(32, 10)) / 6, jnp.float32),
  }

  def loss(p, x, y):
    return optax.softmax_cross_entropy_with_integer_labels(mlp_logits(p, x), y).mean()

  optimizer = optax.adam(0.03)
  state = optimizer.init(params)
  train_x, train_y = jnp.asarray(images[100:]), jnp.asarray(labels[100:])

  @jax.jit
  def step(params, state):
    updates, state = optimizer.update(jax.grad(loss)(params, train_x, train_y), state)
    return optax.apply_updates(params, updates), state

  for _ in range(30):
    params, state = step(params, state)
  return params, jnp.asarray(images[:100]), jnp.asarray(labels[:100])


def mlp_logits(params, images):
  return jax.nn.relu(images.reshape(images.shape[0], -1) @ params["w1"]) @ params["w2"]


def test_apgd_ce_is_at_least_as_strong_as_pgd_with_the_same_budget():
  # Same eps and the same 20 gradient steps; PGD with Madry et al.'s step 2.5 eps / steps and a random start.
  params, images, labels = _digits_mlp()
  clean = float(np.mean(np.asarray(jnp.argmax(mlp_logits(params, images), -1) == labels)))
  assert clean > 0.85
  eps, steps = 0.05, 20
  pgd = attacks.pgd_linf(
    mlp_logits, params, images, labels, jax.random.key(0), eps=eps, alpha=2.5 * eps / steps, steps=steps
  )
  pgd_accuracy = float(np.mean(np.asarray(jnp.argmax(mlp_logits(params, pgd), -1) == labels)))
  adv, broken = apgd.apgd(mlp_logits, params, images, labels, jax.random.key(0), eps=eps, n_iter=steps)
  apgd_accuracy = float(np.mean(np.asarray(jnp.argmax(mlp_logits(params, adv), -1) == labels)))
  assert apgd_accuracy == pytest.approx(clean - float(np.mean(np.asarray(broken))))
  assert 0.0 < apgd_accuracy <= pgd_accuracy < clean
