"""Nothing silent, for every registered loss: NaN in gives NaN out, an empty or fully masked batch gives an objective
of 0 with a zero gradient, and bad sigmoid targets raise. Values are checked against the float64 references."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from el_jax import losses
from tests.losses import reference
from tests.losses.cases import CASES, inputs, loss_name

B, K = 6, 5
ROW = 2  # the example that gets a NaN logit
SIGMOID_CASES = [c for c in CASES if CASES[c][1] == "sigmoid"]


def _per_example_and_objective(case):
  hparams, kind, ref = CASES[case]
  return losses.get(loss_name(case), **hparams), losses.get_objective(loss_name(case), **hparams), kind, ref


def _row_mask(kind, keep_row):
  """A `where` mask of the case's kind that is `keep_row[n]` on every entry of example `n`."""
  keep_row = np.asarray(keep_row, bool)
  return np.repeat(keep_row[:, None], K, 1) if kind == "sigmoid" else keep_row


def _expected_objective(case, kind, ref, z, y, keep_row):
  """The objective from the float64 reference on the unmasked examples alone."""
  if kind == "batch":
    return reference.dice_loss(z[keep_row], y[keep_row])
  values = ref(z, y)[keep_row]
  return reference.hem_reduce(values) if loss_name(case) == "hem_loss" else values.mean()


def test_every_registered_loss_is_covered():
  assert sorted({loss_name(c) for c in CASES}) == losses.names()
  assert all(ref is not None for _, _, ref in CASES.values())


@pytest.mark.parametrize("at_label", [True, False], ids=["nan_at_label", "nan_elsewhere"])
@pytest.mark.parametrize("case", list(CASES))
def test_nan_logit_gives_nan_loss_and_objective(case, at_label):
  fn, objective, kind, ref = _per_example_and_objective(case)
  z, y = inputs(kind, shape=(B, K))
  label = int(y[ROW]) if kind != "sigmoid" else 0
  column = label if at_label else (label + 2) % K
  z_nan = z.copy()
  z_nan[ROW, column] = np.nan
  expected = ref(z, y)  # NaN-free: what every other example (element, for sigmoid losses) must still give
  hit = np.zeros(np.shape(expected), bool)
  if kind == "sigmoid":
    hit[ROW, column] = True
  elif kind == "softmax":
    hit[ROW] = True

  out = np.asarray(fn(z_nan, y))
  if kind == "batch":
    assert np.isnan(out)
  else:
    assert np.isnan(out[hit]).all()
    np.testing.assert_allclose(out[~hit], expected[~hit], rtol=2e-5, atol=2e-6)
  assert np.isnan(jax.jit(lambda z: objective(z, y))(z_nan))

  # Masking the example out (where=False) gives it 0, as for any masked example, and a finite objective.
  keep_row = np.arange(B) != ROW
  where = _row_mask(kind, keep_row)
  out = np.asarray(fn(z_nan, y, where=where))
  if kind == "batch":
    np.testing.assert_allclose(out, reference.dice_loss(z[keep_row], y[keep_row]), rtol=1e-5)
  else:
    np.testing.assert_array_equal(out[~where], 0.0)
    np.testing.assert_allclose(out[where], expected[where], rtol=2e-5, atol=2e-6)
  value = jax.jit(lambda z: objective(z, y, where=where))(z_nan)
  np.testing.assert_allclose(value, _expected_objective(case, kind, ref, z, y, keep_row), rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("case", list(CASES))
def test_empty_batch_objective_is_zero_with_zero_gradient(case):
  _, objective, kind, _ = _per_example_and_objective(case)
  z, y = inputs(kind, shape=(0, K))
  for fn in (jax.value_and_grad(lambda z: objective(z, y)), jax.jit(jax.value_and_grad(lambda z: objective(z, y)))):
    value, grad = fn(z)
    assert value.shape == () and value == 0.0
    assert grad.shape == (0, K)


@pytest.mark.parametrize("case", list(CASES))
def test_fully_masked_batch_objective_is_zero_with_zero_gradient(case):
  _, objective, kind, _ = _per_example_and_objective(case)
  z, y = inputs(kind, shape=(B, K))
  where = _row_mask(kind, np.zeros(B, bool))
  value, grad = jax.jit(jax.value_and_grad(lambda z: objective(z, y, where=where)))(z)
  assert value == 0.0
  np.testing.assert_array_equal(grad, np.zeros((B, K)))


@pytest.mark.parametrize("smooth", [0.0, 1.0])
def test_dice_of_an_empty_or_fully_masked_batch_is_zero_even_without_smoothing(smooth):
  # smooth = 0 is where 0/0 would appear; the batch-level loss is its own objective.
  z, y = inputs("softmax", shape=(B, K))
  for zz, yy, where in [(z, y, np.zeros(B, bool)), (z[:0], y[:0], None)]:
    value, grad = jax.value_and_grad(lambda z, yy=yy, where=where: losses.dice_loss(z, yy, smooth=smooth, where=where))(
      zz
    )
    assert value == 0.0
    np.testing.assert_array_equal(grad, np.zeros(zz.shape))
  # and nothing changes with a batch that has examples
  np.testing.assert_allclose(losses.dice_loss(z, y, smooth=smooth), reference.dice_loss(z, y, smooth), rtol=1e-5)


def test_hem_reduce_of_empty_and_fully_masked_values_is_zero_with_zero_gradient():
  assert losses.hem_reduce(np.zeros(0)) == 0.0
  values = np.array([0.5, 1.0, 2.0])
  where = np.zeros(3, bool)
  value, grad = jax.value_and_grad(lambda v: losses.hem_reduce(v, where=where))(values)
  assert value == 0.0
  np.testing.assert_array_equal(grad, 0.0)


@pytest.mark.parametrize("bad", [0.5, 2.0, -1.0, np.nan])
@pytest.mark.parametrize("case", SIGMOID_CASES)
def test_sigmoid_targets_outside_0_1_raise_where_concrete(case, bad):
  fn, objective, kind, _ = _per_example_and_objective(case)
  z, t = inputs(kind, shape=(B, K))
  t[1, 3] = bad
  message = rf"targets must be 0 or 1.*1 of {B * K} are not \(e\.g\. \[{bad}\]\).*targets > 0\.5"
  for call in (lambda: fn(z, t), lambda: objective(z, t), lambda: jax.jit(lambda z: fn(z, t))(z)):
    with pytest.raises(ValueError, match=message):
      call()  # numpy targets, also when closed over by a jitted function: concrete, so checked
  fn(z, jnp.asarray(t == 1))  # bool targets are 0/1


@pytest.mark.parametrize("case", SIGMOID_CASES)
def test_sigmoid_targets_are_not_checked_when_traced(case):
  # Documented: inside jit the targets have no value to check; 0/1 targets give the reference values.
  fn, _, kind, ref = _per_example_and_objective(case)
  z, t = inputs(kind, shape=(B, K))
  np.testing.assert_allclose(jax.jit(fn)(z, t), ref(z, t), rtol=2e-5, atol=2e-6)
  t[0, 0] = 0.5
  assert jax.jit(fn)(z, t).shape == (B, K)  # no error: unchecked
