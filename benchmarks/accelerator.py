"""One command for a GPU or TPU machine: ResNet-50 training throughput and MFU, the losses, and the output layer.

  python benchmarks/accelerator.py [--peak_tflops 989] [--batch 256] [--steps 50] [--tiny]

Sections (each printed with the device, the machine and its settings):
  1. ResNet-50 (ImageNet stem, 1,000 classes) trained by the project's own jitted train step (`el_jax.train.step`,
     jitted over the device mesh by `el_jax.train.loop.compile_steps`, state created in place as the trainer does)
     with the EL paper's ImageNet recipe (SGD, momentum 0.9, weight decay 1e-4, encouraging loss LE=0.75) in
     `--compute_dtype` (bfloat16 by default), on a synthetic 224x224x3 batch already on the device, so the input
     pipeline is not measured. Reports images/s and the model FLOPs utilisation: XLA's FLOP count of the compiled
     step (`compile().cost_analysis()`, per device) over the measured step time, divided by the device's peak
     (`--peak_tflops`, else the table below by `jax.devices()[0].device_kind`, else "n/a"). The FLOP count of the
     step before XLA's optimisations (`lower().cost_analysis()`) is printed beside it as a cross-check.
  2. Losses: `benchmarks/losses.py` (every loss's fwd+bwd time relative to optax's cross-entropy, and its compiled
     temporary memory) on `--loss_shapes`.
  3. Output layer at a language-model vocabulary: hidden states `[N, D]` (compute dtype) times a float32 kernel
     `[D, V]` cast to the compute dtype, then each loss, forward and backward to the hidden states and the kernel;
     time relative to the same layer under optax's cross-entropy, TFLOP/s and MFU from the compiled cost analysis,
     and compiled temporary memory (also in units of one `[N, V]` float32 array).

`--tiny` shrinks every part (32x32 images, batch 4, 2 timed steps, small logits and vocabulary, 3 loss rows, 2 rounds)
so that the whole script runs in well under a minute on a CPU; its numbers only show that the script works.
"""

import argparse
import importlib.util
import math
import os
import platform
import sys
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from flax import nnx

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from el_jax import losses, models  # noqa: E402
from el_jax.train import loop, optimizer, setup, step  # noqa: E402
from el_jax.train import mesh as mesh_lib  # noqa: E402


def _load_losses_benchmark():
  """`benchmarks/losses.py` as a module (the folder is not a package)."""
  path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "losses.py")
  spec = importlib.util.spec_from_file_location("losses_benchmark", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


losses_benchmark = _load_losses_benchmark()

# Approximate vendor peak dense (no sparsity) bfloat16 tensor-core / MXU throughput per JAX device, in TFLOP/s, from
# the vendors' datasheets; the clocks a chip sustains under load usually give less. Matched in order as substrings of
# `jax.devices()[0].device_kind` (so "TPU v5 lite", the v5e, comes before "TPU v5", the v5p).
PEAK_TFLOPS = (
  ("H100 PCIe", 756.0),
  ("H100", 989.0),  # SXM
  ("H200", 989.0),
  ("A100", 312.0),
  ("TPU v4", 275.0),
  ("TPU v5 lite", 197.0),  # v5e
  ("TPU v5", 459.0),  # v5p
  ("TPU v6 lite", 918.0),  # v6e (Trillium)
)

# The EL paper's ImageNet ResNet-50 recipe (the `encouraging_loss/imagenet.py` config): PyTorch's ImageNet example.
RESNET50_OPTIMIZER = {
  "name": "sgd",
  "learning_rate": 0.1,
  "momentum": 0.9,
  "weight_decay": 1e-4,
  "schedule": "multistep",
  "boundaries": (30, 60),
  "decay_factor": 0.1,
}
RESNET50_EPOCHS = 90
IMAGENET_TRAIN_IMAGES = 1_281_167
NUM_CLASSES = 1000
# Multiply-accumulates of ResNet-50's forward pass on one 224x224 image (torchvision's 4.09 GMACs): a training step
# costs about 3 forward passes, 2 FLOPs per multiply-accumulate.
RESNET50_FORWARD_GMACS_224 = 4.09


# Settings not given on the command line, at full size and with --tiny.
DEFAULTS = {
  "batch": 256,
  "image_size": 224,
  "steps": 50,
  "warmup": 5,
  "loss_shapes": ["4096x32000", "256x1000"],
  "rounds": 7,
  "only": [],
  "tokens": 8192,
  "width": 1024,
  "vocab": 32000,
}
TINY_ONLY = ["cross_entropy", "encouraging_loss LE=0.75"]
TINY = DEFAULTS | {
  "batch": 4,
  "image_size": 32,
  "steps": 2,
  "warmup": 1,
  "loss_shapes": ["64x100"],
  "rounds": 2,
  "only": TINY_ONLY,
  "tokens": 64,
  "width": 32,
  "vocab": 512,
}


def peak_tflops(device_kind: str, flag: float | None) -> tuple[float | None, str]:
  """`(peak TFLOP/s per device or None, where it comes from)`: the flag, else the first `PEAK_TFLOPS` match."""
  if flag is not None:
    return flag, "--peak_tflops"
  for key, value in PEAK_TFLOPS:
    if key.lower() in device_kind.lower():
      return value, f"approximate vendor figure for {key}"
  return None, f"unknown for {device_kind!r}: pass --peak_tflops"


def mfu_text(flops: float | None, seconds: float, peak: float | None) -> str:
  """Model FLOPs utilisation `flops / seconds / peak` as a percentage, or "n/a" without a peak or a FLOP count."""
  if peak is None or not flops:
    return "n/a"
  return f"{flops / seconds / (peak * 1e12):.1%}"


def cost_flops(cost) -> float | None:
  """The 'flops' of a `cost_analysis()` result (a dict, or a list of one dict in older JAX), or None."""
  if isinstance(cost, list | tuple):
    cost = cost[0] if cost else None
  flops = (cost or {}).get("flops")
  return None if flops is None or flops <= 0 else float(flops)


def stage_flops(stage) -> float | None:
  """XLA's FLOP count of a `Lowered` or `Compiled` step, or None where the backend does not give one."""
  try:
    return cost_flops(stage.cost_analysis())
  except Exception:  # e.g. NotImplementedError, or a runtime error from a plugin backend
    return None


def machine_line() -> str:
  device = jax.devices()[0]
  return (
    f"device: {device.device_kind} x{jax.device_count()} ({jax.default_backend()}, {jax.process_count()} process(es));"
    f" host: {platform.node()}, {os.cpu_count()} CPU cores, {platform.machine()}; jax {jax.__version__}"
  )


def _peak_line(peak, source) -> str:
  return f"peak: {'n/a' if peak is None else f'{peak:g} TFLOP/s per device'} ({source})"


# ---- 1. ResNet-50 ----------------------------------------------------------------------------------------------


def resnet50(*, batch: int, image_size: int, steps: int, warmup: int, compute_dtype: str, peak, peak_source) -> dict:
  """Trains ResNet-50 for `warmup` + `steps` steps on one synthetic batch; prints the section; returns the figures."""
  if batch % jax.device_count():
    raise SystemExit(f"--batch {batch} must be a multiple of the {jax.device_count()} devices.")
  mesh = mesh_lib.create(ml_collections.ConfigDict())  # data parallel over every device
  steps_per_epoch = math.ceil(IMAGENET_TRAIN_IMAGES / batch)
  total_steps = steps_per_epoch * RESNET50_EPOCHS
  tx = optimizer.create(
    ml_collections.ConfigDict(RESNET50_OPTIMIZER), steps_per_epoch=steps_per_epoch, num_epochs=RESNET50_EPOCHS
  )
  objective = losses.get_objective("encouraging_loss", log_end=0.75)
  input_shape = (image_size, image_size, 3)

  def make_model():
    return models.create("resnet50", num_classes=NUM_CLASSES, input_shape=input_shape, stem="imagenet")

  def init_state():
    return step.init_state(make_model(), tx, seed=0)[1]

  # As the trainer does: the structure from an abstract model, the state created in its sharded layout.
  model_parts, _, _ = step.split_model(nnx.eval_shape(make_model))
  state_sharding = mesh_lib.state_shardings(jax.eval_shape(init_state), mesh)
  state = jax.jit(init_state, out_shardings=state_sharding)()
  config = ml_collections.ConfigDict({"compute_dtype": compute_dtype})
  train_step = loop.compile_steps(
    model_parts, objective, tx, mesh=mesh, state_sharding=state_sharding, total_steps=total_steps, config=config
  ).train
  rng = np.random.default_rng(0)
  batch_arrays = {
    "image": rng.standard_normal((batch, *input_shape), dtype=np.float32),
    "label": rng.integers(0, NUM_CLASSES, batch).astype(np.int32),
  }
  data = jax.device_put(batch_arrays, mesh_lib.batch_sharding(mesh))

  start = time.perf_counter()
  lowered = train_step.lower(state, data)
  compiled = lowered.compile()
  compile_seconds = time.perf_counter() - start
  flops = stage_flops(compiled)  # the partitioned program: per device
  hlo_flops = stage_flops(lowered)  # the whole program before optimisation: all devices

  for _ in range(warmup):
    state, metrics = compiled(state, data)
  jax.block_until_ready(state)
  start = time.perf_counter()
  for _ in range(steps):
    state, metrics = compiled(state, data)
  jax.block_until_ready(state)
  seconds = (time.perf_counter() - start) / steps
  finite = bool(metrics["finite"])

  images_per_second = batch / seconds
  per_device = batch // jax.device_count()
  print("\n# 1. ResNet-50 training: images/s and MFU")
  print(machine_line())
  print(
    f"settings: global batch {batch} ({per_device} per device), synthetic {image_size}x{image_size}x3 images and "
    f"{NUM_CLASSES} classes held on the device, compute {compute_dtype} (parameters, gradients and optimiser state "
    f"float32), encouraging_loss LE=0.75, SGD momentum 0.9 + weight decay 1e-4, {warmup} warm-up + {steps} timed steps"
  )
  print(_peak_line(peak, peak_source))
  print("| metric | value |\n|---|---|")
  print(f"| images/s | {images_per_second:.1f} |")
  print(f"| step time | {seconds * 1e3:.2f} ms |")
  print(f"| compile time | {compile_seconds:.1f} s |")
  if flops:
    print(f"| XLA FLOPs per step (compiled, per device) | {flops:.4g} |")
    print(f"| achieved | {flops / seconds / 1e12:.3g} TFLOP/s per device |")
    print(f"| XLA FLOPs per image | {flops / per_device / 1e9:.4g} GFLOP |")
  else:
    print("| XLA FLOPs per step (compiled, per device) | n/a (not reported by this backend) |")
  if hlo_flops:
    print(f"| cross-check: FLOPs per image before XLA's optimisations | {hlo_flops / batch / 1e9:.4g} GFLOP |")
  if image_size == 224:
    reference = f"{6 * RESNET50_FORWARD_GMACS_224:.1f} GFLOP"
    print(f"| reference: 3 passes x 2 x {RESNET50_FORWARD_GMACS_224} GMAC per image | {reference} |")
  print(f"| MFU | {mfu_text(flops, seconds, peak)} |")
  finite_text = "finite" if finite else "NOT FINITE"
  print(f"| loss after {warmup + steps} steps | {float(metrics['loss']):.4f} ({finite_text}) |")
  return {"images_per_second": images_per_second, "step_seconds": seconds, "flops": flops, "finite": finite}


# ---- 2. Losses -------------------------------------------------------------------------------------------------


def loss_section(*, shapes, rounds: int, only) -> None:
  print("\n# 2. Losses: fwd+bwd time and memory relative to optax's cross-entropy (benchmarks/losses.py)")
  print(machine_line())
  print(f"settings: logits {', '.join(shapes)} float32, {rounds} interleaved rounds, rows: {' '.join(only) or 'all'}")
  for shape in shapes:
    losses_benchmark.run(tuple(int(n) for n in shape.split("x")), rounds, only)


# ---- 3. Output layer -------------------------------------------------------------------------------------------


def output_layer(*, tokens: int, width: int, vocab: int, rounds: int, only, compute_dtype: str, peak, peak_source):
  """Times `loss(hidden @ kernel)` forward and backward for every loss; prints the section."""
  dtype = jnp.dtype(compute_dtype)
  rng = np.random.default_rng(0)
  hidden = jnp.asarray(rng.standard_normal((tokens, width), dtype=np.float32), dtype=dtype)
  kernel = jnp.asarray(rng.standard_normal((width, vocab), dtype=np.float32) / np.sqrt(width))
  labels = jnp.asarray(rng.integers(0, vocab, tokens).astype(np.int32))
  args = (hidden, kernel, labels, jnp.float32(0.7))

  def layer_step(objective):
    def value(h, w, y, progress):
      return objective(h @ w.astype(dtype), y, progress=progress)

    return jax.jit(jax.value_and_grad(value, argnums=(0, 1)))

  def optax_ce(logits, y, *, progress):
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), y))

  cases = losses_benchmark.selected(only)
  fns = {"optax CE": layer_step(optax_ce)} | {name: layer_step(make(vocab)) for name, _, make in cases}
  compiled = {name: fn.lower(*args).compile() for name, fn in fns.items()}
  flops = {name: stage_flops(c) for name, c in compiled.items()}
  memory = {name: getattr(c.memory_analysis(), "temp_size_in_bytes", None) for name, c in compiled.items()}
  for fn in compiled.values():  # warm up
    jax.block_until_ready(fn(*args))
  times, calls = losses_benchmark.interleaved_times(compiled, args, rounds)

  ce = np.asarray(times["optax CE"])
  array_bytes = tokens * vocab * 4
  print("\n# 3. Output layer at a language-model vocabulary: loss(hidden @ kernel), forward and backward")
  print(machine_line())
  print(
    f"settings: hidden [{tokens}, {width}] {compute_dtype}, kernel [{width}, {vocab}] float32 cast to {compute_dtype}, "
    f"gradients to both; {rounds} interleaved rounds of {calls} call(s); rows: {' '.join(only) or 'all'}"
  )
  print(_peak_line(peak, peak_source))
  print("| loss | fwd+bwd ms (median) | / optax CE | TFLOP/s | MFU | compiled temp memory | in [N, V] fp32 arrays |")
  print("|---|---|---|---|---|---|---|")
  for name, t in times.items():
    seconds = float(np.median(t))
    ratio = float(np.median(np.asarray(t) / ce))
    tflops = "n/a" if not flops[name] else f"{flops[name] / seconds / 1e12:.3g}"
    mem = memory[name]
    mem_text = "n/a" if mem is None else f"{mem / 2**20:.1f} MiB"
    arrays = "n/a" if mem is None else f"{mem / array_bytes:.2f}"
    print(
      f"| {name} | {seconds * 1e3:.3f} | {ratio:.2f}x | {tflops} | {mfu_text(flops[name], seconds, peak)} | "
      f"{mem_text} | {arrays} |"
    )


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--tiny", action="store_true", help="shrink everything to run in seconds on a CPU")
  parser.add_argument("--peak_tflops", type=float, default=None, help="peak TFLOP/s per device for the MFU")
  parser.add_argument("--compute_dtype", choices=setup.COMPUTE_DTYPES, default="bfloat16")
  parser.add_argument("--batch", type=int, default=None, help="ResNet-50 global batch (default 256; tiny 4)")
  parser.add_argument("--image_size", type=int, default=None, help="default 224; tiny 32")
  parser.add_argument("--steps", type=int, default=None, help="timed ResNet-50 steps (default 50; tiny 2)")
  parser.add_argument("--warmup", type=int, default=None, help="untimed steps after compiling (default 5; tiny 1)")
  parser.add_argument("--loss_shapes", nargs="+", default=None, help="BxK logits (default 4096x32000 256x1000)")
  parser.add_argument("--rounds", type=int, default=None, help="loss and output-layer rounds (default 7; tiny 2)")
  parser.add_argument(
    "--only",
    nargs="*",
    default=None,
    help=f"substrings of the loss rows to run in sections 2 and 3 (default all; tiny {' '.join(TINY_ONLY)})",
  )
  parser.add_argument("--tokens", type=int, default=None, help="output layer: N (default 8192; tiny 64)")
  parser.add_argument("--width", type=int, default=None, help="output layer: D (default 1024; tiny 32)")
  parser.add_argument("--vocab", type=int, default=None, help="output layer: V (default 32000; tiny 512)")
  parser.add_argument(
    "--sections", nargs="+", choices=("resnet50", "losses", "output_layer"), default=None, help="default: all three"
  )
  args = parser.parse_args(argv)
  sys.stdout.reconfigure(line_buffering=True)  # each line as it comes, also into a pipe or `tee`
  for key, value in (TINY if args.tiny else DEFAULTS).items():
    if getattr(args, key) is None:
      setattr(args, key, value)
  sections = args.sections or ["resnet50", "losses", "output_layer"]
  peak, source = peak_tflops(jax.devices()[0].device_kind, args.peak_tflops)

  print(f"# Accelerator benchmark{' (--tiny: sizes shrunk, numbers meaningless)' if args.tiny else ''}")
  print(machine_line())
  if "resnet50" in sections:
    resnet50(
      batch=args.batch,
      image_size=args.image_size,
      steps=args.steps,
      warmup=args.warmup,
      compute_dtype=args.compute_dtype,
      peak=peak,
      peak_source=source,
    )
  if "losses" in sections:
    loss_section(shapes=args.loss_shapes, rounds=args.rounds, only=args.only)
  if "output_layer" in sections:
    output_layer(
      tokens=args.tokens,
      width=args.width,
      vocab=args.vocab,
      rounds=args.rounds,
      only=args.only,
      compute_dtype=args.compute_dtype,
      peak=peak,
      peak_source=source,
    )


if __name__ == "__main__":
  main()
