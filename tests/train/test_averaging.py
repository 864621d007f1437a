"""el_jax/train/averaging.py: the averaged model is the element-wise mean of the checkpoints, written to a new workdir
that evaluation reads and training refuses to resume from."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from el_jax.train import averaging, checkpoint, setup, step
from el_jax.train.workdir import Workdir

SPEC = setup.ModelSpec("mlp", 3, [4], {"depth": 1, "width": 5})
# Batch norm: its running mean and variance are model state, averaged as the parameters are.
BATCH_NORM_SPEC = setup.ModelSpec("lsoftmax_cnn", 3, [28, 28, 1], {})
CONFIG = {"seed": 0, "model": {"name": "mlp"}}


def _draw(tree, seed):
  """`tree` with every floating-point array drawn afresh (positive, as variances are), other arrays kept."""
  leaves, treedef = jax.tree.flatten(tree)
  keys = jax.random.split(jax.random.key(seed), max(len(leaves), 1))
  drawn = [
    jnp.exp(jax.random.normal(k, x.shape, x.dtype)) if jnp.issubdtype(x.dtype, jnp.floating) else x
    for k, x in zip(keys, leaves, strict=False)
  ]
  return jax.tree.unflatten(treedef, drawn)


def _run(path, steps, spec=SPEC):
  """A workdir with checkpoints at `steps`: each a train state whose parameters and model state are drawn afresh
  (the optimiser state and step as a run's). Returns `{step: (params, model_state) as numpy}`."""
  workdir = Workdir(path)
  workdir.start({**CONFIG, "model": {"name": spec.name}}, spec)
  model = spec.create()
  _, state = step.init_state(model, optax.adam(1e-3))
  saved = {}
  with workdir.checkpoints(max_to_keep=None) as manager:
    for s in steps:
      params, model_state = _draw(state["params"], s), _draw(state["model_state"], s + 1000)
      state = {**state, "params": params, "model_state": model_state, "step": jnp.asarray(s, jnp.int32)}
      checkpoint.save(manager, s, state, {"config": CONFIG, "data": {"seed": 0, "next_step": s}})
      saved[s] = jax.tree.map(np.asarray, (params, model_state))
    manager.wait_until_finished()
  return saved


def _mean(*trees):
  """In float64 (exact for a few float32 values of similar size), rounded once to float32."""
  return jax.tree.map(lambda *xs: (sum(x.astype(np.float64) for x in xs) / len(xs)).astype(np.float32), *trees)


@pytest.mark.parametrize("spec", [SPEC, BATCH_NORM_SPEC], ids=["mlp", "batch_norm"])
def test_the_average_is_the_mean_of_the_last_checkpoints(tmp_path, spec):
  saved = _run(tmp_path / "run", [10, 20, 30, 40], spec)
  steps = averaging.average_checkpoints(str(tmp_path / "run"), str(tmp_path / "avg"), last=3)
  assert steps == [20, 30, 40]
  model, loaded_step = Workdir(tmp_path / "avg").load_model()
  assert loaded_step == 40
  params, model_state, _ = nnx.state(model, nnx.Param, nnx.BatchStat, ...)
  got = [np.asarray(x) for x in jax.tree.leaves((params, model_state))]
  if spec is BATCH_NORM_SPEC:
    assert len(jax.tree.leaves(model_state)) == 20  # ten batch norms' running means and variances
  assert all(x.dtype == np.float32 for x in got)
  for a, b in zip(got, jax.tree.leaves(_mean(*(saved[s] for s in steps))), strict=True):
    np.testing.assert_array_equal(a, b)
  for other in (_mean(*saved.values()), saved[40]):  # not the mean of all four, nor the newest alone
    assert not any(np.allclose(a, b) for a, b in zip(got, jax.tree.leaves(other), strict=True))


def test_refuses_too_few_checkpoints_an_existing_output_and_resuming_from_the_average(tmp_path):
  _run(tmp_path / "run", [1, 2])
  with pytest.raises(ValueError, match=r"holds 2 checkpoint\(s\) \[1, 2\], fewer than the 3 to average"):
    averaging.average_checkpoints(str(tmp_path / "run"), str(tmp_path / "avg"), last=3)
  with pytest.raises(ValueError, match="last must be >= 1"):
    averaging.average_checkpoints(str(tmp_path / "run"), str(tmp_path / "avg"), last=0)
  averaging.average_checkpoints(str(tmp_path / "run"), str(tmp_path / "avg"), last=2)
  with pytest.raises(FileExistsError, match="already holds config.json, model.json, checkpoints"):
    averaging.average_checkpoints(str(tmp_path / "run"), str(tmp_path / "avg"), last=2)
  with pytest.raises(ValueError, match=r"is itself an average, of checkpoints \[1, 2\]"):
    averaging.average_checkpoints(str(tmp_path / "avg"), str(tmp_path / "avg2"), last=1)
  workdir = Workdir(tmp_path / "avg")
  with workdir.checkpoints(max_to_keep=None) as manager:
    with pytest.raises(ValueError, match=r"holds an average of checkpoints \[1, 2\]"):
      workdir.resume(manager, CONFIG, lambda step, meta: None)
  assert sorted(p.name for p in (tmp_path / "avg" / "checkpoints").iterdir()) == ["2"]  # nothing set aside
