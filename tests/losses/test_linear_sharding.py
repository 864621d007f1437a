"""el_jax/losses/_linear.py with sharded inputs: `linear_loss` inside `jax.shard_map` on a 2 x 2 ("data", "model")
mesh of CPU devices, tokens sharded over "data" and the vocabulary of `weight` and `bias` over "model"
(`vocab_axis="model"`), against the unsharded `linear_loss` and the materialised loss, in float64.

The CPU must be split into devices before JAX starts its backend, which the other tests of the session have
done, so the checks run in one subprocess (`python tests/losses/test_linear_sharding.py`, as `train.py
--cpu_devices=N` is run in tests/train/test_distributed.py) that prints a JSON line of each case's outcome."""

import json
import os
import subprocess
import sys
import traceback

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEVICES, MESH = 4, (2, 2)  # ("data", "model")
SHAPE, D, SHARD = (4, 5), 6, 7  # 20 tokens (10 a data shard), a vocabulary of 2 shards of 7 columns
V = SHARD * MESH[1]
BLOCKS = {"token_block": 4, "vocab_block": 3}  # divides neither a data shard's 10 tokens nor a shard's 7 columns
_RNG = np.random.default_rng(7)
CASES = {  # name: (loss, hyper-parameters)
  "cross_entropy": ("cross_entropy", {}),
  "cross_entropy_smoothed": ("cross_entropy", {"label_smoothing": 0.1}),  # the sum of the logits: one more psum row
  "encouraging_loss": ("encouraging_loss", {"log_end": 0.75}),
  # the second pass over the blocks: one more psum, of the bonus sums
  "encouraging_loss_smoothed": ("encouraging_loss", {"log_end": 0.75, "label_smoothing": 0.1}),
  "focal_loss": ("focal_loss", {"gamma": 2.0, "alpha": _RNG.uniform(0.2, 1.0, V)}),
  # a [V] shift, sliced per shard
  "logit_adjusted_loss": ("logit_adjusted_loss", {"class_counts": _RNG.integers(1, 100, V), "tau": 0.7}),
  # the label's logit from the shard that holds it; HEM+'s [V] margins sliced per shard; a second pass for HEM
  "multiclass_margin_loss": ("multiclass_margin_loss", {"margin": 0.5}),
  "hem_loss_plus": ("hem_loss", {"margin": _RNG.uniform(0.1, 1.5, V)}),
  # HEM+ on the label's class: the per-token mu_y, gathered from the whole [V] margins on every shard
  "hem_loss_plus_label": ("hem_loss", {"margin": _RNG.uniform(0.1, 1.5, V), "margin_of": "label"}),
  "logit_norm_loss": ("logit_norm_loss", {}),  # the squared norms summed over the shards before the second pass
  "squared_error": ("squared_error", {}),  # the sums of e^2z: one more psum row
  "absolute_error_sigmoid": ("absolute_error", {"activation": "sigmoid"}),  # the shards' sums and label hits
}
CHECK_VMA = (True, False)
DATA_ONLY = "data_only"  # tokens sharded over "data", weight and bias replicated, no vocab_axis


def _key(case, variant):
  return f"{case}/{variant if variant == DATA_ONLY else f'check_vma={variant}'}"


def _problem(seed=0):
  """`(hidden, weight, bias, labels, where, cotangent)`: logits of scale about 2, a quarter of the tokens masked."""
  rng = np.random.default_rng(seed)
  hidden = rng.normal(size=(*SHAPE, D))
  weight = rng.normal(size=(D, V)) * 2.0 / np.sqrt(D)
  bias = rng.normal(size=V)
  labels = rng.integers(0, V, SHAPE)
  where = rng.random(SHAPE) > 0.25
  return hidden, weight, bias, labels, where, rng.normal(size=SHAPE)


def _check(case, check_vma, data_only=False):
  """Asserts that the sharded losses and their three gradients equal the unsharded and the materialised ones."""
  import jax
  import jax.numpy as jnp
  from jax.sharding import Mesh, NamedSharding
  from jax.sharding import PartitionSpec as P

  from el_jax import losses

  hidden, weight, bias, labels, where, cotangent = _problem()
  loss, hparams = CASES[case]
  mesh = Mesh(np.array(jax.devices()[:DEVICES]).reshape(MESH), ("data", "model"))
  specs = (P("data"), P(None, None if data_only else "model"), P(None if data_only else "model"), P("data"), P("data"))
  vocab_axis = None if data_only else "model"

  def local(h, w, b, y, m):
    return losses.linear_loss(h, w, y, loss=loss, bias=b, where=m, vocab_axis=vocab_axis, **BLOCKS, **hparams)

  if check_vma:  # gradients outside shard_map: its transpose sums weight's and bias's over "data"
    sharded_loss = jax.shard_map(local, mesh=mesh, in_specs=specs, out_specs=P("data"))

    @jax.jit
    def sharded(h, w, b, y, m, g):
      out, pullback = jax.vjp(lambda h, w, b: sharded_loss(h, w, b, y, m), h, w, b)
      return out, pullback(g)

  else:  # without the checks, the data-parallel sum of weight's and bias's gradients is the caller's, as usual

    def local_vjp(h, w, b, y, m, g):
      out, pullback = jax.vjp(lambda h, w, b: local(h, w, b, y, m), h, w, b)
      d_h, d_w, d_b = pullback(g)
      return out, (d_h, jax.lax.psum(d_w, "data"), jax.lax.psum(d_b, "data"))

    sharded = jax.jit(
      jax.shard_map(
        local_vjp, mesh=mesh, in_specs=(*specs, P("data")), out_specs=(P("data"), specs[:3]), check_vma=False
      )
    )

  placed = [
    jax.device_put(jnp.asarray(a), NamedSharding(mesh, s))
    for a, s in zip((hidden, weight, bias, labels, where), specs, strict=True)
  ]
  out, grads = sharded(*placed, jax.device_put(jnp.asarray(cotangent), NamedSharding(mesh, P("data"))))
  assert out.sharding.spec == P("data"), out.sharding

  unsharded = lambda h, w, b: losses.linear_loss(h, w, labels, loss=loss, bias=b, where=where, **BLOCKS, **hparams)  # noqa: E731
  materialised = lambda h, w, b: losses.get(loss, **hparams)(h @ w + b, labels, where=where)  # noqa: E731
  for name, fn in (("unsharded", unsharded), ("materialised", materialised)):
    ref, pullback = jax.vjp(fn, jnp.asarray(hidden), jnp.asarray(weight), jnp.asarray(bias))
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-12, err_msg=f"losses against the {name} loss")
    for arg, g, ref_g in zip(("hidden", "weight", "bias"), grads, pullback(jnp.asarray(cotangent)), strict=True):
      np.testing.assert_allclose(g, ref_g, rtol=1e-10, atol=1e-12, err_msg=f"gradient of {arg} against {name}")
  assert np.all(np.asarray(out)[~where] == 0)


def _replicated_weight_is_refused():
  """ "ok" if a replicated weight with `vocab_axis` set (each device would count the whole vocabulary as its
  shard) is refused under the varying-axes checks; the outcome otherwise."""
  import jax
  import jax.numpy as jnp
  from jax.sharding import Mesh
  from jax.sharding import PartitionSpec as P

  from el_jax import losses

  hidden, weight, bias, labels, where, _ = _problem()
  mesh = Mesh(np.array(jax.devices()[:DEVICES]).reshape(MESH), ("data", "model"))

  def local(h, w, y):
    return losses.linear_loss(h, w, y, vocab_axis="model", **BLOCKS)

  sharded = jax.shard_map(local, mesh=mesh, in_specs=(P("data"), P(), P("data")), out_specs=P("data"))
  try:
    sharded(jnp.asarray(hidden), jnp.asarray(weight), jnp.asarray(labels))
  except Exception as e:  # noqa: BLE001 -- any other failure is reported to the parent test
    refused = isinstance(e, ValueError) and "weight does not vary over that mesh axis" in str(e)
    return "ok" if refused else traceback.format_exc()[-3000:]
  return "not refused"


def _main():
  import jax

  jax.config.update("jax_num_cpu_devices", DEVICES)
  jax.config.update("jax_enable_x64", True)
  assert jax.device_count() == DEVICES, jax.devices()
  outcomes = {}
  for case in CASES:
    for check_vma in CHECK_VMA:
      try:
        _check(case, check_vma)
        outcomes[_key(case, check_vma)] = "ok"
      except Exception:  # noqa: BLE001 -- reported to the parent test, case by case
        outcomes[_key(case, check_vma)] = traceback.format_exc()[-3000:]
    try:
      _check(case, True, data_only=True)
      outcomes[_key(case, DATA_ONLY)] = "ok"
    except Exception:  # noqa: BLE001
      outcomes[_key(case, DATA_ONLY)] = traceback.format_exc()[-3000:]
  outcomes["replicated_weight"] = _replicated_weight_is_refused()
  print("OUTCOMES " + json.dumps(outcomes))


@pytest.fixture(scope="module")
def outcomes():
  env = dict(os.environ, JAX_PLATFORMS="cpu")
  out = subprocess.run([sys.executable, __file__], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
  assert out.returncode == 0, out.stderr[-3000:]
  line = next(line for line in out.stdout.splitlines() if line.startswith("OUTCOMES "))
  return json.loads(line.removeprefix("OUTCOMES "))


@pytest.mark.parametrize("check_vma", CHECK_VMA)
@pytest.mark.parametrize("case", list(CASES))
def test_vocabulary_sharded_linear_loss_equals_the_unsharded_and_materialised_losses(outcomes, case, check_vma):
  assert outcomes[_key(case, check_vma)] == "ok", outcomes[_key(case, check_vma)]


@pytest.mark.parametrize("case", list(CASES))
def test_token_sharded_linear_loss_without_vocab_axis_equals_the_unsharded_loss(outcomes, case):
  assert outcomes[_key(case, DATA_ONLY)] == "ok", outcomes[_key(case, DATA_ONLY)]


def test_a_replicated_weight_with_vocab_axis_is_refused(outcomes):
  assert outcomes["replicated_weight"] == "ok", outcomes["replicated_weight"]


if __name__ == "__main__":
  sys.path.insert(0, ROOT)
  _main()
