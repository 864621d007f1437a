"""Compiled memory and forward+backward time of the fused `linear_loss` against materialised logits.

For each `tokens x D x V` shape and dtype, jitted `value_and_grad`s of a mean per-token loss with respect to
`hidden [tokens, D]` and `weight [D, V]` are compared:

- materialised optax CE: `optax.softmax_cross_entropy_with_integer_labels` on the logits `hidden @ weight`,
  computed in float32 (`preferred_element_type`) whatever the inputs' dtype, so that every path rounds the same
  way; the reference of every ratio;
- materialised el_jax EL: `el_jax.losses.encouraging_loss` (LE = 0.75) on the same float32 logits;
- fused: `el_jax.losses.linear_loss(hidden, weight, labels, loss=...)` in `token_block x vocab_block` blocks, for
  cross-entropy, EL (LE = 0.75), focal (gamma 2), EL with label smoothing 0.1 and LE = 0.75 (the EL paper's
  ImageNet recipe; a second pass over the blocks), HEM (margin 0.2, CIFAR-10's; two passes) and LogitNorm
  (tau 0.04; two passes). HEM's per-token loss is averaged here as the others are (its batch reduction,
  `hem_reduce`, costs nothing beside it).

Memory is XLA's compiled temporary allocation (`memory_analysis().temp_size_in_bytes`), also in units of one
`[tokens, V]` float32 array and as a fraction of the materialised CE path's. Each executable is compiled once (the
compiled object is the one timed); timings are interleaved (one call of each per round) and the median is
reported, with the ratio to the materialised optax CE path.

bfloat16 on the CPU: XLA:CPU has no bfloat16 slicing. Before fusion it rewrites each (dynamic) slice of a bfloat16
array as a slice of a float32 copy of the whole array, and the copy of `weight`, the same at every step, is hoisted
out of the loops; the slices of the weight's gradient are written the same way, not in place. So on the CPU the
fused paths also hold a float32 copy of `weight` (4 D V bytes) and a bfloat16 copy of its gradient (2 D V bytes,
shared with the blocks when they are not live); the table's footnote gives the first. A backend that slices bfloat16
natively makes neither copy.

Usage: python benchmarks/linear_loss.py [--shapes 4096x256x32768] [--dtypes float32 bfloat16] [--rounds 3]
  [--token-block 2048] [--vocab-block 8192] [--paths "fused CE" ...]. The issue's shape is 8192x1024x131072 (a
  4 GiB float32 logit array); at that shape each path takes minutes on a 2-core CPU.
"""

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from el_jax import losses


def _materialised(loss_fn):
  def loss(hidden, weight, labels):
    logits = jnp.dot(hidden, weight, preferred_element_type=jnp.float32)
    return jnp.mean(loss_fn(logits, labels))

  return loss


def _fused(name, **hparams):
  def make(token_block, vocab_block):
    def loss(hidden, weight, labels):
      per_token = losses.linear_loss(
        hidden, weight, labels, loss=name, token_block=token_block, vocab_block=vocab_block, **hparams
      )
      return jnp.mean(per_token)

    return loss

  return make


REFERENCE = "materialised optax CE"
PATHS = {  # name: a function of (token_block, vocab_block) giving the mean loss of (hidden, weight, labels)
  REFERENCE: lambda *blocks: _materialised(optax.softmax_cross_entropy_with_integer_labels),
  "materialised el_jax EL (LE 0.75)": lambda *blocks: _materialised(losses.get("encouraging_loss", log_end=0.75)),
  "fused CE": _fused("cross_entropy"),
  "fused EL (LE 0.75)": _fused("encouraging_loss", log_end=0.75),
  "fused focal (gamma 2)": _fused("focal_loss", gamma=2.0),
  "fused EL, smoothing 0.1 (LE 0.75)": _fused("encouraging_loss", log_end=0.75, label_smoothing=0.1),
  "fused HEM (margin 0.2)": _fused("hem_loss", margin=0.2),
  "fused LogitNorm (tau 0.04)": _fused("logit_norm_loss", tau=0.04),
}


def _compile(fn, *args):
  """The compiled forward+backward (gradients with respect to `hidden` and `weight`) and its temporary bytes."""
  compiled = jax.jit(jax.value_and_grad(fn, argnums=(0, 1))).lower(*args).compile()
  analysis = compiled.memory_analysis()
  return compiled, None if analysis is None else analysis.temp_size_in_bytes


def run(shape, dtype, rounds, token_block, vocab_block, paths):
  tokens, width, vocab = shape
  rng = np.random.default_rng(0)
  hidden = jnp.asarray(rng.normal(size=(tokens, width)), dtype)
  weight = jnp.asarray(rng.normal(size=(width, vocab)) / np.sqrt(width), dtype)
  labels = jnp.asarray(rng.integers(0, vocab, tokens), jnp.int32)
  args = (hidden, weight, labels)
  compiled, memory = {}, {}
  for name in dict.fromkeys([REFERENCE, *paths]):
    compiled[name], memory[name] = _compile(PATHS[name](token_block, vocab_block), *args)
  times = {name: [] for name in compiled}
  for _ in range(rounds):
    for name, fn in compiled.items():
      start = time.perf_counter()
      jax.block_until_ready(fn(*args))
      times[name].append(time.perf_counter() - start)
  logits_bytes = tokens * vocab * 4
  print(
    f"\n## tokens={tokens} D={width} V={vocab} {jnp.dtype(dtype).name}, blocks {token_block}x{vocab_block}, "
    f"{rounds} round(s); one [tokens, V] float32 array = {logits_bytes / 2**20:.0f} MiB"
  )
  print("| path | compiled temp memory | in [tokens, V] fp32 arrays | / optax CE's | fwd+bwd (median) | / optax CE's |")
  print("|---|---|---|---|---|---|")
  reference_memory, reference_times = memory[REFERENCE], np.asarray(times[REFERENCE])
  for name in compiled:
    mem = memory[name]
    if mem is None:
      mem_text = "n/a | n/a | n/a"
    else:
      mem_text = f"{mem / 2**20:.1f} MiB | {mem / logits_bytes:.3f} | {mem / reference_memory:.3f}"
    ratio = np.median(np.asarray(times[name]) / reference_times)  # per round, then the median
    print(f"| {name} | {mem_text} | {np.median(times[name]) * 1e3:.1f} ms | {ratio:.2f}x |")
  if jnp.dtype(dtype) == jnp.bfloat16 and jax.default_backend() == "cpu":
    copy = width * vocab * 4
    print(
      f"\nOf each fused path's memory, XLA:CPU's float32 copy of the bfloat16 weight (see the docstring) is "
      f"{copy / 2**20:.0f} MiB, {copy / reference_memory:.3f} of optax CE's."
    )


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--shapes", nargs="+", default=["4096x256x32768", "8192x1024x131072"], help="TOKENSxDxV")
  parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"])
  parser.add_argument("--rounds", type=int, default=3)
  parser.add_argument("--token-block", type=int, default=2048)
  parser.add_argument("--vocab-block", type=int, default=8192)
  parser.add_argument("--paths", nargs="+", default=list(PATHS), choices=list(PATHS), help="(the reference always)")
  args = parser.parse_args()
  print(f"jax {jax.__version__} on {jax.devices()[0].device_kind}")
  for text in args.shapes:
    for dtype in args.dtypes:
      shape = tuple(int(n) for n in text.split("x"))
      run(shape, dtype, args.rounds, args.token_block, args.vocab_block, args.paths)


if __name__ == "__main__":
  main()
