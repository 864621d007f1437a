"""el_jax/losses/_labels.py: check_labels on concrete labels and, through checkify, inside jit."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

from el_jax import losses

MESSAGE = r"labels must lie in \[0, 3\) for 3 classes, but their min is {} and max {}"


def _loss_with_check(logits, labels):
  losses.check_labels(labels, num_classes=3)
  return losses.cross_entropy(logits, labels).mean()


def test_concrete_jax_labels_are_checked_on_the_host():
  with pytest.raises(ValueError, match=r"\[0, 3\).*1 of 2 do not \(min 0, max 3; e\.g\. \[3\]\)"):
    losses.check_labels(jnp.array([0, 3]), 3)
  losses.check_labels(jnp.array([0, 2]), 3)
  losses.check_labels(np.zeros(0, int), 3)


@pytest.mark.parametrize("wrap", ["jit_of_checkify", "checkify_of_jit"])
def test_traced_labels_are_checked_with_checkify(wrap):
  checked = checkify.checkify(_loss_with_check)
  checked = jax.jit(checked) if wrap == "jit_of_checkify" else checkify.checkify(jax.jit(_loss_with_check))
  z = np.zeros((3, 3), np.float32)
  err, value = checked(z, np.array([0, 1, 2]))
  assert err.get() is None
  np.testing.assert_allclose(value, np.log(3.0), rtol=1e-6)
  for labels, low, high in [([0, 5, 1], 0, 5), ([-1, 2, 2], -1, 2)]:
    err, _ = checked(z, np.array(labels))
    assert err.get() is not None
    with pytest.raises(Exception, match=MESSAGE.format(low, high)):  # JaxRuntimeError
      err.throw()


def test_checkify_reports_bad_labels_under_grad_and_vmap():
  grad = jax.jit(checkify.checkify(jax.grad(_loss_with_check)))
  err, _ = grad(np.zeros((2, 3), np.float32), np.array([0, 3]))
  with pytest.raises(Exception, match=MESSAGE.format(0, 3)):
    err.throw()
  per_row = jax.jit(checkify.checkify(jax.vmap(lambda y: losses.check_labels(y, 3))))
  err, _ = per_row(np.array([[0, 1], [4, 0]]))
  assert err.get() is not None and "max 4" in err.get()


def test_traced_labels_without_checkify_fail_loudly_not_silently():
  with pytest.raises(ValueError, match="checkify"):
    jax.jit(_loss_with_check)(np.zeros((2, 3), np.float32), np.array([0, 1]))
  with pytest.raises(ValueError, match="integer class indices"):
    jax.jit(lambda y: losses.check_labels(y, 3))(np.array([0.0, 1.0]))
