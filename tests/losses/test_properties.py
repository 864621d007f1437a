"""Property tests: finite values and gradients for every loss over shapes, dtypes, extreme logits and masks."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from el_jax import losses
from tests.losses.cases import CASES, loss_name

SHAPES = [(4, 2), (2, 3, 5)]  # K = 2 and a [batch, time, K] sequence
DTYPES = [jnp.float32, jnp.bfloat16]


@functools.cache
def _value_and_grad(case, k):
  hparams = dict(CASES[case][0])
  if "class_counts" in hparams:
    hparams["class_counts"] = 10 * np.arange(1, k + 1)
  fn = losses.get(loss_name(case), **hparams)

  def run(z, y, where):
    value = fn(z, y, where=where)
    return value, jax.grad(lambda z: jnp.sum(fn(z, y, where=where)))(z)

  return jax.jit(run)


@st.composite
def _inputs(draw):
  case = draw(st.sampled_from(sorted(CASES)))
  kind = CASES[case][1]
  shape = draw(st.sampled_from(SHAPES))
  dtype = draw(st.sampled_from(DTYPES))
  extremes = st.sampled_from([-1e4, -100.0, 0.0, 100.0, 1e4])
  element = st.one_of(extremes, st.floats(-1e4, 1e4, width=32))
  z = draw(hnp.arrays(np.float32, shape, elements=element))
  if kind == "sigmoid":
    y = draw(hnp.arrays(np.float32, shape, elements=st.sampled_from([0.0, 1.0])))
    where_shape = shape
  else:
    y = draw(hnp.arrays(np.int32, shape[:-1], elements=st.integers(0, shape[-1] - 1)))
    where_shape = shape[:-1]
  where = draw(hnp.arrays(bool, where_shape))
  return case, jnp.asarray(z, dtype), y, where


@settings(max_examples=80, deadline=None)
@given(_inputs())
def test_values_and_gradients_are_finite_and_masked(data):
  case, z, y, where = data
  value, grad = _value_and_grad(case, z.shape[-1])(z, y, where)
  assert value.dtype == jnp.float32
  assert np.isfinite(value).all(), (case, z, y)
  assert np.isfinite(np.asarray(grad, np.float32)).all(), (case, z, y)
  if CASES[case][1] != "batch":
    assert (np.asarray(value)[~where] == 0).all()
    assert (np.asarray(grad, np.float32)[~where] == 0).all()
