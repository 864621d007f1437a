"""Square Attack: the L2 pattern by hand, the schedule of p, the closed-form minimal L-inf perturbation of a linear
model, and the budget."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from el_jax.evaluate import square
from tests.evaluate.linear_models import judged, linear_logits, linear_problem, perturbation


def test_eta_of_side_3_by_hand():
  # Upper rectangle 1x3: the centre cell is in both nested rectangles (1 + 1/4), the others in the outer (1/4).
  # Lower rectangle 2x3: its centre is row 1, column 1: (1 + 1/4) there, 1/4 elsewhere. Each has unit norm.
  upper = np.array([[0.25, 1.25, 0.25]])
  lower = np.array([[0.25, 0.25, 0.25], [0.25, 1.25, 0.25]])
  expected = np.concatenate([upper / np.linalg.norm(upper), -lower / np.linalg.norm(lower)])
  np.testing.assert_allclose(square.eta_numpy(3), expected / np.linalg.norm(expected))


@pytest.mark.parametrize("side", [1, 2, 3, 5, 6])
def test_eta_placed_in_closed_form_equals_the_pattern_built_rectangle_by_rectangle(side):
  height, width = 7, 8
  top, left = jnp.asarray([0, 7 - side]), jnp.asarray([8 - side, 1])
  place = jax.jit(square.eta_pattern, static_argnums=(3, 4))  # one compilation, not one per operation
  placed = np.asarray(place(top, left, side, height, width, jnp.asarray([False, True])))
  for i, transpose in enumerate((False, True)):
    expected = np.zeros((height, width))
    pattern = square.eta_numpy(side)
    expected[int(top[i]) : int(top[i]) + side, int(left[i]) : int(left[i]) + side] = pattern.T if transpose else pattern
    np.testing.assert_allclose(placed[i], expected, atol=1e-6)


def test_p_halves_after_the_papers_iterations():
  p = [float(square.p_schedule(i)) for i in (0, 10, 11, 50, 51, 200, 201, 4999, 8001)]
  assert p == pytest.approx([0.8, 0.8, 0.4, 0.4, 0.2, 0.2, 0.1, 0.8 / 128, 0.8 / 512])


def test_linf_square_finds_the_closed_form_minimal_perturbation_of_a_linear_model():
  # The smallest L-inf perturbation of a linear model is a vertex of the eps box, which Square's proposals reach
  # once its windows shrink to single pixels.
  params, images, labels, distance = linear_problem(5)
  eps = float(np.median(distance["linf"]))
  adv, broken = square.square(linear_logits, params, images, labels, jax.random.key(0), eps=eps, n_queries=1000)
  broken, far = np.asarray(broken), judged(distance["linf"], eps)
  np.testing.assert_array_equal(broken[far], distance["linf"][far] < eps)
  assert not broken[distance["linf"] >= eps].any()
  assert perturbation(adv, images, "linf").max() <= eps * (1 + 1e-5)
  np.testing.assert_array_equal(np.asarray(jnp.argmax(linear_logits(params, adv), -1) != labels), broken)


def test_l2_square_stays_in_the_ball_and_breaks_the_samples_well_inside_it():
  # A random search does not reach the L2 minimum exactly; it must break the samples at most half the budget from
  # the boundary, and no sample beyond the budget.
  params, images, labels, distance = linear_problem(5)
  eps = float(np.median(distance["l2"]))
  adv, broken = square.square(
    linear_logits, params, images, labels, jax.random.key(0), eps=eps, norm="l2", n_queries=1000
  )
  broken = np.asarray(broken)
  assert broken[distance["l2"] < eps / 2].all()
  assert not broken[distance["l2"] >= eps].any()
  assert perturbation(adv, images, "l2").max() <= eps * (1 + 1e-5)
  adv = np.asarray(adv)
  assert adv.min() >= 0 and adv.max() <= 1


def test_bad_inputs_are_named():
  params, images, labels, _ = linear_problem(5, n=4)
  with pytest.raises(ValueError, match=r"L2 Square needs images of at least 5x5 pixels, got \(4, 9\)"):
    square.square(linear_logits, params, images.reshape(4, 4, 9, 1), labels, None, eps=0.1, norm="l2")
  with pytest.raises(ValueError, match="Square attacks images"):
    square.square(linear_logits, params, images.reshape(4, -1), labels, None, eps=0.1)
