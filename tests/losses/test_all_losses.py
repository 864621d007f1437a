"""Generic checks run on every registered loss: references, gradients, masks, shapes, dtypes, jit."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from absl.testing import parameterized
from jax.test_util import check_grads

from el_jax import losses
from tests.losses import reference
from tests.losses.cases import CASES, inputs, loss_name

NAMED = [(case, case) for case in CASES]


def _fn(case):
  hparams, kind, _ = CASES[case]
  return losses.get(loss_name(case), **hparams), kind


def test_every_registered_loss_has_a_case_and_a_formula_docstring():
  assert sorted({loss_name(c) for c in CASES}) == losses.names()
  for name in losses.names():
    doc = getattr(losses, name).__doc__
    assert ".. math::" in doc or "math:`" in doc, name


class ReferenceTest(parameterized.TestCase):
  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.named_parameters(*[(c, c) for c, v in CASES.items() if v[2] is not None])
  def test_matches_float64_reference(self, case):
    fn, kind = _fn(case)
    z, y = inputs(kind)
    expected = CASES[case][2](z, y)
    out = self.variant(fn)(z, y)
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(out, expected, rtol=2e-5, atol=2e-6)


def _away_from_kinks(case, z, y):
  """Rows of (z, y) at least 0.05 away from every kink of the loss, so finite differences are valid."""
  p = reference.softmax(z)
  if CASES[case][1] != "softmax":
    return np.ones(len(z), bool)
  p_y = p[np.arange(len(y)), y]
  name, hparams = loss_name(case), CASES[case][0]
  if name in ("multiclass_margin_loss", "hem_loss"):
    x = z - z[np.arange(len(y)), y][:, None] + hparams["margin"]
    e = reference.hinge_errors(z, y, hparams["margin"])
    keep = (np.abs(x) > 0.05).all(1) & (np.abs(e - e.mean(1, keepdims=True)) > 0.05).all(1)
    return keep
  if name == "halted_focal_loss":
    return np.abs(p_y - 0.5) > 0.05
  if name == "encouraging_loss":
    return np.abs(p_y - hparams.get("log_end", 1.0)) > 0.05
  return np.ones(len(z), bool)


@pytest.mark.parametrize("case", list(CASES))
def test_check_grads(case):
  fn, kind = _fn(case)
  z, y = inputs(kind, shape=(12, 5), scale=1.5, seed=3)
  keep = _away_from_kinks(case, z, y)
  assert keep.sum() >= 3, "too few rows away from the kinks; pick another seed"
  z, y = z[keep], y[keep]
  with jax.enable_x64(True):
    z64 = jnp.asarray(z, jnp.float64)
    check_grads(lambda z: fn(z, y), (z64,), order=2, modes=["rev"], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("case", [c for c in CASES if CASES[c][1] != "batch"])
def test_where_masks_values_and_gradients(case):
  fn, kind = _fn(case)
  z, y = inputs(kind, shape=(6, 5))
  where = np.array([True, False, True, True, False, True])
  if kind == "sigmoid":
    where = np.repeat(where[:, None], 5, 1)
  out = fn(z, y, where=where)
  np.testing.assert_array_equal(np.asarray(out)[~where], 0.0)
  np.testing.assert_allclose(np.asarray(out)[where], np.asarray(fn(z, y))[where], rtol=1e-6)
  grad = np.asarray(jax.grad(lambda z: fn(z, y, where=where).sum())(z))
  np.testing.assert_array_equal(grad[~where], 0.0)


def test_dice_where_leaves_masked_examples_out():
  z, y = inputs("softmax", shape=(6, 5))
  where = np.array([True, False, True, True, False, True])
  np.testing.assert_allclose(losses.dice_loss(z, y, where=where), reference.dice_loss(z[where], y[where]), rtol=1e-5)
  grad = np.asarray(jax.grad(lambda z: losses.dice_loss(z, y, where=where))(z))
  np.testing.assert_array_equal(grad[~where], 0.0)


@pytest.mark.parametrize("case", list(CASES))
def test_sequence_shaped_inputs(case):
  # [batch, time, K] (token-level losses) equals the flattened [batch * time, K] computation.
  fn, kind = _fn(case)
  z, y = inputs(kind, shape=(3, 4, 5))
  flat = fn(z.reshape(12, 5), y.reshape((12, 5) if kind == "sigmoid" else (12,)))
  out = fn(z, y)
  expected_shape = () if kind == "batch" else (3, 4, 5) if kind == "sigmoid" else (3, 4)
  assert out.shape == expected_shape
  np.testing.assert_allclose(np.asarray(out).reshape(-1), np.asarray(flat).reshape(-1), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("case", list(CASES))
def test_bf16_inputs_compute_in_float32(case):
  fn, kind = _fn(case)
  z, y = inputs(kind)
  z16 = jnp.asarray(z, jnp.bfloat16)
  out = fn(z16, y)
  assert out.dtype == jnp.float32
  np.testing.assert_allclose(out, fn(np.asarray(z16, np.float32), y), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("case", [c for c in CASES if CASES[c][1] != "batch"])  # dice is batch-level
def test_vmap_matches_batch(case):
  fn, kind = _fn(case)
  z, y = inputs(kind)
  np.testing.assert_allclose(jax.vmap(fn)(z, y), fn(z, y), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("case", list(CASES))
def test_no_retrace_for_new_values(case):
  fn, kind = _fn(case)
  chex.clear_trace_counter()
  jitted = jax.jit(chex.assert_max_traces(lambda z, y: fn(z, y), n=1))
  for seed in range(3):
    jitted(*inputs(kind, seed=seed))
