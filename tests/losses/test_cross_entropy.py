import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

from el_jax import losses
from tests.losses import reference


class CrossEntropyTest(parameterized.TestCase):
  def setUp(self):
    super().setUp()
    rng = np.random.default_rng(0)
    self.logits = rng.normal(size=(6, 7)).astype(np.float32) * 3
    self.labels = rng.integers(0, 7, 6)

  @chex.variants(with_jit=True, without_jit=True)
  def test_matches_optax(self):
    fn = self.variant(losses.cross_entropy)
    expected = optax.losses.softmax_cross_entropy_with_integer_labels(self.logits, self.labels)
    np.testing.assert_allclose(fn(self.logits, self.labels), expected, rtol=1e-6, atol=1e-6)

  @parameterized.parameters(0.0, 0.1, 0.5)
  def test_label_smoothing_matches_optax_and_reference(self, s):
    out = losses.cross_entropy(self.logits, self.labels, label_smoothing=s)
    targets = optax.smooth_labels(jax.nn.one_hot(self.labels, 7), s)
    np.testing.assert_allclose(out, optax.losses.softmax_cross_entropy(self.logits, targets), rtol=1e-5)
    np.testing.assert_allclose(out, reference.cross_entropy(self.logits, self.labels, s), rtol=1e-5)

  def test_gradient_is_p_minus_q(self):
    s = 0.2
    grad = jax.grad(lambda z: losses.cross_entropy(z, self.labels, label_smoothing=s).sum())(self.logits)
    q = (1 - s) * reference.one_hot(self.labels, 7) + s / 7
    np.testing.assert_allclose(grad, reference.softmax(self.logits) - q, atol=1e-6)

  def test_where_zeroes_values_and_gradients(self):
    where = np.array([True, False, True, True, False, True])
    fn = lambda z: losses.cross_entropy(z, self.labels, where=where)  # noqa: E731
    np.testing.assert_array_equal(fn(self.logits)[~where], 0.0)
    grad = jax.grad(lambda z: fn(z).sum())(self.logits)
    np.testing.assert_array_equal(grad[~where], 0.0)

  def test_bf16_is_computed_in_float32(self):
    out = losses.cross_entropy(jnp.asarray(self.logits, jnp.bfloat16), self.labels)
    assert out.dtype == jnp.float32
    expected = reference.cross_entropy(np.asarray(jnp.asarray(self.logits, jnp.bfloat16), np.float32), self.labels)
    np.testing.assert_allclose(out, expected, rtol=1e-5)

  def test_shape_mismatch_is_an_error(self):
    with pytest.raises(ValueError, match="labels shape"):
      losses.cross_entropy(self.logits, self.labels[:3])


@pytest.mark.parametrize("loss", ["cross_entropy", "encouraging_loss", "focal_loss", "expectation_loss"])
def test_minus_inf_logits_including_all_but_the_label(loss):
  # Masked-out classes (-inf) have probability 0; a row whose only finite logit is the label has p_y = 1.
  z = np.array([[1.0, -np.inf, 2.0, -np.inf], [0.5, -np.inf, -np.inf, -np.inf], [-np.inf, 3.0, -np.inf, -1.0]])
  y = np.array([0, 0, 3])
  kept = z != -np.inf
  p = np.zeros(z.shape)
  for n in range(3):
    p[n, kept[n]] = reference.softmax(z[n, kept[n]])
  p_y = p[np.arange(3), y]
  expected = {
    "cross_entropy": -np.log(p_y),
    "encouraging_loss": -np.log(p_y) + np.log(np.maximum(1 - p_y, 1e-5)),
    "focal_loss": -((1 - p_y) ** 2) * np.log(p_y),
    "expectation_loss": 1 - p_y,
  }[loss]
  fn = losses.get(loss)
  np.testing.assert_allclose(fn(z.astype(np.float32), y), expected, rtol=1e-5, atol=1e-6)
  grad = np.asarray(jax.grad(lambda z: fn(z, y).sum())(z.astype(np.float32)))
  assert np.isfinite(grad).all()
  np.testing.assert_array_equal(grad[~kept], 0.0)
  np.testing.assert_array_equal(grad[1], 0.0)
  if loss == "cross_entropy":
    np.testing.assert_allclose(grad, p - reference.one_hot(y, 4), atol=1e-6)
