"""FAB-T: its projection onto a hyperplane within the pixel box by hand, and the closed-form minimal perturbation
of a linear model (where the linearised boundary is the boundary)."""

import jax.numpy as jnp
import numpy as np
import pytest

from el_jax.evaluate import fab
from tests.evaluate.linear_models import judged, linear_logits, linear_problem, perturbation


@pytest.mark.parametrize(
  "w, points, c, linf, expected",
  [
    # L-inf: d = clip(lambda sign(w)) in the box; 0.1 + 2 * 0.16 + 0.5 * 0.16 = 0.5 at lambda = 0.16.
    ([1.0, -2.0, 0.5], [0.9, 0.2, 0.5], 0.5, True, [0.1, -0.16, 0.16]),
    # L2 without the box binding: c w / ||w||^2.
    ([1.0, -2.0, 0.5], [0.5, 0.5, 0.5], 0.5, False, [0.5 / 5.25, -1 / 5.25, 0.25 / 5.25]),
    # L2 with the box binding the first coordinate (at 0.05): the second takes the rest.
    ([1.0, 1.0], [0.95, 0.5], 0.2, False, [0.05, 0.15]),
    ([1.0, 1.0], [0.95, 0.5], 0.2, True, [0.05, 0.15]),
    # A negative target value moves the other way; an unreachable one goes as far as the box allows.
    ([1.0, -1.0], [0.5, 0.5], -0.2, True, [-0.1, 0.1]),
    ([1.0, -1.0], [0.5, 0.5], -0.2, False, [-0.1, 0.1]),
    ([1.0, 0.0], [0.9, 0.5], 0.5, True, [0.1, 0.0]),
    ([1.0, 0.0], [0.9, 0.5], 0.5, False, [0.1, 0.0]),
  ],
)
def test_projection_onto_a_hyperplane_in_the_box_by_hand(w, points, c, linf, expected):
  d = fab.projection(jnp.asarray([points]), jnp.asarray([w]), jnp.asarray([c]), linf)
  np.testing.assert_allclose(d[0], expected, atol=2e-6)


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_fab_t_finds_the_closed_form_minimal_perturbation_of_a_linear_model(norm):
  params, images, labels, distance = linear_problem(5)
  eps = float(np.median(distance[norm]))
  adv, broken = fab.fab_targeted(linear_logits, params, images, labels, eps=eps, norm=norm)
  broken, far = np.asarray(broken), judged(distance[norm], eps)
  np.testing.assert_array_equal(broken[far], distance[norm][far] < eps)
  assert not broken[distance[norm] >= eps].any()
  size = perturbation(adv, images, norm)
  assert size.max() <= eps * (1 + 1e-5)
  # FAB is a minimum-norm attack: the points it returns are within 2% of the closed-form minimum.
  np.testing.assert_array_less(size[broken], 1.02 * distance[norm][broken])
  np.testing.assert_array_equal(np.asarray(jnp.argmax(linear_logits(params, adv), -1) != labels), broken)
