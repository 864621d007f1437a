"""The attack ensemble: the closed-form robust accuracy of a linear model, robust accuracy monotone in eps and in the
attacks run, no sample robust after an attack broke it, determinism given the seed, and named errors."""

import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest

from el_jax.evaluate import autoattack
from tests.evaluate.linear_models import judged, linear_logits, linear_problem, perturbation

ENSEMBLE = "autoattack"
FEW_QUERIES = dataclasses.replace(autoattack.ENSEMBLES[ENSEMBLE][1], square_queries=1000)  # the rest standard


@pytest.fixture(scope="module")
def problem():
  params, images, labels, distance = linear_problem(5)
  return params, np.asarray(images), np.asarray(labels), distance


def _run(problem, eps, norm="linf", **kwargs):
  params, images, labels, _ = problem
  kwargs.setdefault("ensemble", ENSEMBLE)
  kwargs.setdefault("settings", FEW_QUERIES)
  # One chunk of 64 throughout: the shapes of the single-attack tests, whose compilations are reused.
  return autoattack.run(
    linear_logits, params, images, labels, eps=eps, norm=norm, batch_size=64, min_chunk=64, **kwargs
  )


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_the_ensemble_finds_the_closed_form_robust_accuracy_of_a_linear_model(problem, norm):
  params, images, labels, distance = problem
  eps = float(np.median(distance[norm]))
  result = _run(problem, eps, norm)
  far = judged(distance[norm], eps)
  np.testing.assert_array_equal(result.robust[far], distance[norm][far] >= eps)
  assert not (~result.robust & (distance[norm] >= eps)).any()
  assert result.robust_accuracy[result.attacks[-1]] == pytest.approx(result.robust.mean())
  assert perturbation(result.adv, images, norm).max() <= eps * (1 + 1e-5)
  predicted = np.asarray(jnp.argmax(linear_logits(params, jnp.asarray(result.adv)), -1))
  np.testing.assert_array_equal(predicted == labels, result.robust)  # adversarial where broken, clean elsewhere
  assert result.name == "autoattack (custom settings)" and result.attacks == ("apgd-ce", "apgd-t", "fab-t", "square")


def test_robust_accuracy_is_monotone_in_eps_and_along_the_attacks(problem):
  _, _, _, distance = problem
  scale = float(np.median(distance["linf"]))
  curve = []
  for eps in (0.0, 0.5 * scale, scale, 2 * scale):
    result = _run(problem, eps)
    accuracies = list(result.robust_accuracy.values())
    assert accuracies == sorted(accuracies, reverse=True)  # clean, then after each attack
    curve.append(result.robust.mean())
  assert curve == sorted(curve, reverse=True) and curve[0] == 1.0 and curve[-1] < 0.5


def test_no_sample_is_attacked_or_reported_robust_after_an_attack_broke_it(problem, monkeypatch):
  _, images, labels, distance = problem
  seen = {}

  def spy(name, attack):
    def wrapped(logits_fn, params, x, y, key, **kwargs):
      seen.setdefault(name, []).append(np.asarray(x))
      return attack(logits_fn, params, x, y, key, **kwargs)

    return wrapped

  for name, attack in list(autoattack.ATTACKS.items()):
    monkeypatch.setitem(autoattack.ATTACKS, name, spy(name, attack))
  result = _run(problem, float(np.median(distance["linf"])))
  assert (result.broken_by >= 0).any()
  for index, name in enumerate(result.attacks):
    given = np.concatenate(seen.get(name, [np.zeros((0, *images.shape[1:]))]))
    broken_before = images[(result.broken_by >= 0) & (result.broken_by < index)]
    # No image an earlier attack broke reaches this one (rows are whole images; a match would be a repeat).
    assert not any(np.all(given == image, axis=(1, 2, 3)).any() for image in broken_before), name
  assert not (result.robust & (result.broken_by >= 0)).any()
  assert (result.robust | (result.broken_by >= 0) | ~result.clean_correct).all()


def test_the_same_seed_gives_the_same_result(problem):
  _, _, _, distance = problem
  eps = float(np.median(distance["l2"]))
  first, again = _run(problem, eps, "l2", seed=3), _run(problem, eps, "l2", seed=3)
  np.testing.assert_array_equal(first.adv, again.adv)
  np.testing.assert_array_equal(first.broken_by, again.broken_by)


def test_ensembles_are_named_and_bad_requests_say_why(problem):
  standard = autoattack.Settings()
  assert (standard.n_iter, standard.apgd_restarts, standard.n_target_classes) == (100, 1, 9)
  assert (standard.square_queries, standard.square_p_init) == (5000, 0.8)
  assert autoattack.resolve("autoattack") == ("autoattack", ("apgd-ce", "apgd-t", "fab-t", "square"), standard)
  assert autoattack.resolve(["apgd-ce", "apgd-t", "fab-t", "square"])[0] == "autoattack"
  assert autoattack.resolve("apgd-ce") == ("apgd-ce", ("apgd-ce",), standard)
  assert autoattack.resolve(["apgd-t", "square"])[:2] == ("apgd-t+square", ("apgd-t", "square"))
  assert autoattack.ENSEMBLES["apgd-ce+apgd-t3"][1].n_target_classes == 3
  with pytest.raises(ValueError, match="Unknown attack ensemble 'apgd'. Valid: autoattack, apgd-ce, "):
    autoattack.resolve("apgd")
  with pytest.raises(ValueError, match="must be distinct and in the standard order apgd-ce, apgd-t, fab-t, square"):
    autoattack.resolve(["square", "apgd-ce"])
  with pytest.raises(ValueError, match="Unknown or no attacks"):
    autoattack.resolve(["fab"])
  params, images, labels, _ = problem
  with pytest.raises(ValueError, match="images must be in \\[0, 1\\] pixel space, got \\[.*\\]: divide by 255"):
    autoattack.run(linear_logits, params, images * 255, labels, eps=0.1)
  with pytest.raises(ValueError, match="Unknown norm 'l1'"):
    autoattack.run(linear_logits, params, images, labels, eps=0.1, norm="l1")
