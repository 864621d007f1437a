"""Compiled memory and forward+backward time of the fused `linear_loss` against a materialised optax cross-entropy.

For each `tokens x D x V` shape and dtype, two jitted `value_and_grad`s of the mean cross-entropy with respect to
`hidden [tokens, D]` and `weight [D, V]` are compared:

- materialised: `optax.softmax_cross_entropy_with_integer_labels` on the logits `hidden @ weight`, computed in
  float32 (`preferred_element_type`) whatever the inputs' dtype, so that both sides round the same way;
- fused: `el_jax.losses.linear_loss(hidden, weight, labels)` in `token_block x vocab_block` blocks.

Memory is XLA's compiled temporary allocation (`memory_analysis().temp_size_in_bytes`), also in units of one
`[tokens, V]` float32 array. Each executable is compiled once (the compiled object is the one timed); timings are
interleaved (one call of each per round) and the median is reported, with the ratio fused / materialised.

Usage: python benchmarks/linear_loss.py [--shapes 4096x256x32768] [--dtypes float32 bfloat16] [--rounds 3]
  [--token-block 2048] [--vocab-block 8192]. The issue's shape is 8192x1024x131072 (a 4 GiB float32 logit array).
"""

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from el_jax import losses


def _materialised(hidden, weight, labels):
  logits = jnp.dot(hidden, weight, preferred_element_type=jnp.float32)
  return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels))


def _fused(token_block, vocab_block):
  def loss(hidden, weight, labels):
    return jnp.mean(losses.linear_loss(hidden, weight, labels, token_block=token_block, vocab_block=vocab_block))

  return loss


def _compile(fn, *args):
  """The compiled forward+backward (gradients with respect to `hidden` and `weight`) and its temporary bytes."""
  compiled = jax.jit(jax.value_and_grad(fn, argnums=(0, 1))).lower(*args).compile()
  analysis = compiled.memory_analysis()
  return compiled, None if analysis is None else analysis.temp_size_in_bytes


def run(shape, dtype, rounds, token_block, vocab_block):
  tokens, width, vocab = shape
  rng = np.random.default_rng(0)
  hidden = jnp.asarray(rng.normal(size=(tokens, width)), dtype)
  weight = jnp.asarray(rng.normal(size=(width, vocab)) / np.sqrt(width), dtype)
  labels = jnp.asarray(rng.integers(0, vocab, tokens), jnp.int32)
  args = (hidden, weight, labels)
  steps = {"materialised optax CE": _materialised, "fused linear_loss": _fused(token_block, vocab_block)}
  compiled, memory = {}, {}
  for name, fn in steps.items():
    compiled[name], memory[name] = _compile(fn, *args)
  times = {name: [] for name in steps}
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
  print("| path | compiled temp memory | in [tokens, V] fp32 arrays | fwd+bwd (median) |")
  print("|---|---|---|---|")
  for name in steps:
    mem = memory[name]
    mem_text = "n/a" if mem is None else f"{mem / 2**20:.1f} MiB | {mem / logits_bytes:.3f}"
    print(f"| {name} | {mem_text} | {np.median(times[name]) * 1e3:.1f} ms |")
  ratio = np.median(np.asarray(times["fused linear_loss"]) / np.asarray(times["materialised optax CE"]))
  print(f"fused / materialised time: {ratio:.2f}x")


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--shapes", nargs="+", default=["4096x256x32768", "8192x1024x131072"], help="TOKENSxDxV")
  parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"])
  parser.add_argument("--rounds", type=int, default=3)
  parser.add_argument("--token-block", type=int, default=2048)
  parser.add_argument("--vocab-block", type=int, default=8192)
  args = parser.parse_args()
  print(f"jax {jax.__version__} on {jax.devices()[0].device_kind}")
  for shape in args.shapes:
    for dtype in args.dtypes:
      run(tuple(int(n) for n in shape.split("x")), dtype, args.rounds, args.token_block, args.vocab_block)


if __name__ == "__main__":
  main()
