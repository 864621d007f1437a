"""Forward+backward time and compiled memory of every loss, relative to optax's softmax cross-entropy.

For each logits shape, every loss's jitted `value_and_grad` of the batch mean is timed side by side with
`optax.softmax_cross_entropy_with_integer_labels` on the same fp32 logits. Repetitions are interleaved (one call of
each loss per round) and the reported ratio is the median over rounds of `time(loss) / time(optax CE)` in the same
round, which cancels most of the noise from other processes. The same ratio of the process's CPU time (all its
threads) is given beside it: it counts only this process's work, so it moves less than the wall-clock ratio when other
processes compete for the cores. Memory is XLA's compiled temporary allocation
(`memory_analysis().temp_size_in_bytes`), also given in units of one `[B, K]` float32 array.

Usage: python benchmarks/losses.py [--shapes 4096x32000 256x1000] [--rounds 7] [--only NAME ...]
"""

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from el_jax import losses

# (row name, target ratio or None, objective builder taking the number of classes)
CASES = [
  ("cross_entropy", 1.10, lambda k: losses.get_objective("cross_entropy")),
  ("cross_entropy s=0.1", None, lambda k: losses.get_objective("cross_entropy", label_smoothing=0.1)),
  ("encouraging_loss", 1.10, lambda k: losses.get_objective("encouraging_loss")),
  ("encouraging_loss LE=0.75", 1.10, lambda k: losses.get_objective("encouraging_loss", log_end=0.75)),
  ("encouraging_loss bs=0.5", 1.10, lambda k: losses.get_objective("encouraging_loss", bonus_start=0.5)),
  (
    "encouraging_loss defer+ramp",
    1.10,
    lambda k: losses.get_objective("encouraging_loss", bonus_defer=0.1, bonus_ramp=0.2),
  ),
  ("encouraging_loss s=0.1", 1.50, lambda k: losses.get_objective("encouraging_loss", label_smoothing=0.1)),
  (  # the EL paper's EfficientNet-B0 ImageNet recipe
    "encouraging_loss s=0.1 LE=0.75",
    1.50,
    lambda k: losses.get_objective("encouraging_loss", label_smoothing=0.1, log_end=0.75),
  ),
  ("encouraging_loss cos", 1.10, lambda k: losses.get_objective("encouraging_loss", bonus="cos")),
  ("expectation_loss", 1.10, lambda k: losses.get_objective("expectation_loss")),
  (
    "mixed_ce_expectation F=0-0.5",
    1.10,
    lambda k: losses.get_objective("mixed_ce_expectation", focus_schedule="F=0-0.5"),
  ),
  ("focal_loss", 1.10, lambda k: losses.get_objective("focal_loss")),
  ("halted_focal_loss", 1.10, lambda k: losses.get_objective("halted_focal_loss")),
  ("multiclass_margin_loss", 1.50, lambda k: losses.get_objective("multiclass_margin_loss")),
  ("hem_loss", 1.50, lambda k: losses.get_objective("hem_loss", margin=0.2)),
  (
    "hem_loss HEM+",
    1.50,
    lambda k: losses.get_objective("hem_loss", margin=losses.hem_plus_margins(np.arange(1, k + 1))),
  ),
  ("logit_norm_loss", 1.50, lambda k: losses.get_objective("logit_norm_loss")),
  (
    "logit_adjusted_loss",
    None,
    lambda k: losses.get_objective("logit_adjusted_loss", class_counts=np.arange(1, k + 1)),
  ),
  ("squared_error mirror", 1.50, lambda k: losses.get_objective("squared_error", mirror_bonus=True)),
  ("absolute_error mirror", 1.50, lambda k: losses.get_objective("absolute_error", mirror_bonus=True)),
  ("dice_loss", 1.50, lambda k: losses.get_objective("dice_loss")),
]


def _optax_ce(logits, labels, progress):
  return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels))


def _step(objective):
  """Jitted forward+backward: the gradient of the objective at traced training progress."""
  return jax.jit(jax.value_and_grad(lambda z, y, t: objective(z, y, progress=t)))


def _temp_bytes(fn, *args):
  analysis = fn.lower(*args).compile().memory_analysis()
  return None if analysis is None else analysis.temp_size_in_bytes


def _calls_per_sample(fn, args, min_seconds=0.05):
  """How many back-to-back calls make one timing sample last at least `min_seconds` (small shapes)."""
  start = time.perf_counter()
  jax.block_until_ready(fn(*args))
  return max(1, int(np.ceil(min_seconds / (time.perf_counter() - start))))


def selected(only):
  """The rows of CASES whose name contains one of the substrings `only` (all when `only` is empty)."""
  return [c for c in CASES if not only or any(o in c[0] for o in only)]


def interleaved_times(fns: dict, args, rounds: int, reference: str = "optax CE", cpu_times: dict | None = None):
  """`(times, calls)`: `{name: [seconds per call] * rounds}` of the warmed-up `fns` on `args`, timed in interleaved
  rounds (each round times every function once, so a change in the machine's load falls on all of them alike),
  each sample `calls` back-to-back calls, as many as make the `reference` function's sample last 0.05 s. When given,
  `cpu_times` is filled the same way with the process's CPU seconds per call."""
  calls = _calls_per_sample(fns[reference], args)
  times = {name: [] for name in fns}
  for _ in range(rounds):
    for name, fn in fns.items():
      start, start_cpu = time.perf_counter(), time.process_time()
      for _ in range(calls):
        out = fn(*args)
      jax.block_until_ready(out)
      times[name].append((time.perf_counter() - start) / calls)
      if cpu_times is not None:
        cpu_times.setdefault(name, []).append((time.process_time() - start_cpu) / calls)
  return times, calls


def run(shape, rounds, only):
  b, k = shape
  rng = np.random.default_rng(0)
  logits = jnp.asarray(rng.normal(size=(b, k)).astype(np.float32) * 3)
  labels = jnp.asarray(rng.integers(0, k, b).astype(np.int32))
  progress = jnp.float32(0.7)
  cases = selected(only)
  steps = {"optax CE": jax.jit(jax.value_and_grad(_optax_ce))} | {name: _step(make(k)) for name, _, make in cases}
  args = (logits, labels, progress)
  memory = {name: _temp_bytes(fn, *args) for name, fn in steps.items()}
  for fn in steps.values():  # compile and warm up
    jax.block_until_ready(fn(*args))
  cpu_times = {}
  times, calls = interleaved_times(steps, args, rounds, cpu_times=cpu_times)
  ce, ce_cpu = np.asarray(times["optax CE"]), np.asarray(cpu_times["optax CE"])
  targets = {name: target for name, target, _ in cases}
  array_bytes = b * k * 4
  header = f"logits [{b}, {k}] float32, {rounds} interleaved rounds of {calls} call(s)"
  print(f"\n## {header}, optax CE median {np.median(ce) * 1e3:.2f} ms")
  print(
    "| loss | fwd+bwd / optax CE (median) | target | CPU time / optax CE (median) | compiled temp memory "
    "| in [B, K] fp32 arrays |"
  )
  print("|---|---|---|---|---|---|")
  for name, t in times.items():
    ratio = float(np.median(np.asarray(t) / ce))
    cpu_ratio = float(np.median(np.asarray(cpu_times[name]) / ce_cpu))
    target = targets.get(name)
    mark = "" if target is None else (f"<= {target:.2f}" + (" ok" if ratio <= target else " MISSED"))
    mem = memory[name]
    mem_text = "n/a" if mem is None else f"{mem / 2**20:.1f} MiB"
    arrays = "n/a" if mem is None else f"{mem / array_bytes:.2f}"
    print(f"| {name} | {ratio:.2f}x | {mark} | {cpu_ratio:.2f}x | {mem_text} | {arrays} |")


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--shapes", nargs="+", default=["4096x32000", "256x1000"])
  parser.add_argument("--rounds", type=int, default=7)
  parser.add_argument("--only", nargs="*", default=[], help="substrings of the loss rows to run")
  args = parser.parse_args()
  print(f"jax {jax.__version__} on {jax.devices()[0].device_kind}")
  for shape in args.shapes:
    run(tuple(int(n) for n in shape.split("x")), args.rounds, args.only)


if __name__ == "__main__":
  main()
