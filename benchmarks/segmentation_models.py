"""Forward and backward wall time of the FPN segmentation models (HEM section 5.4) at a crop size, on this machine.

For each model: one training-mode step's gradient (pixel-wise softmax cross-entropy, dropout on, batch statistics
updated), jitted; the first call's time (tracing and compilation included) and the median of `--repeats` further
calls. The machine's load average is printed beside the figures, as other processes slow a CPU run.

  .venv/bin/python benchmarks/segmentation_models.py [--dataset camvid] [--batch 1] [--repeats 3]
      [--models fpn_resnet34,fpn_densenet201]
"""

import argparse
import os
import platform
import statistics
import sys
import time

import jax
import optax
from flax import nnx

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from el_jax import models  # noqa: E402
from el_jax.data import segmentation  # noqa: E402


def time_model(name: str, size: tuple[int, int], num_classes: int, batch: int, repeats: int) -> dict:
  model = models.create(name, num_classes=num_classes, input_shape=(*size, 3))
  model.train()
  x = jax.random.normal(jax.random.key(0), (batch, *size, 3))
  labels = jax.random.randint(jax.random.key(1), (batch, *size), 0, num_classes)

  @nnx.jit
  def gradient(model, x, labels):
    def loss(model):
      return optax.softmax_cross_entropy_with_integer_labels(model(x), labels).mean()

    return nnx.grad(loss)(model)

  start = time.perf_counter()
  jax.block_until_ready(gradient(model, x, labels))
  first = time.perf_counter() - start
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(gradient(model, x, labels))
    times.append(time.perf_counter() - start)
  return {"first": first, "median": statistics.median(times), "params": models.count_params(model)}


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--dataset", default="camvid", choices=segmentation.DATASETS)
  parser.add_argument("--batch", type=int, default=1)
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--models", default=",".join(sorted(models.DENSE_OUTPUT)))
  args = parser.parse_args()
  size = segmentation.CROP_SIZES[args.dataset]
  num_classes = segmentation.NUM_CLASSES[args.dataset]
  print(
    f"{jax.devices()[0].device_kind} ({jax.default_backend()}), {os.cpu_count()} CPUs, {platform.processor() or ''}; "
    f"{args.dataset} crop {size[0]}x{size[1]}, {num_classes} classes, batch {args.batch}"
  )
  for name in args.models.split(","):
    load_before = os.getloadavg()[0]
    r = time_model(name, size, num_classes, args.batch, args.repeats)
    print(
      f"{name:22s} {r['params']:>11,} params  forward+backward {r['median']:7.2f} s (median of {args.repeats})  "
      f"first call {r['first']:7.1f} s  load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}",
      flush=True,
    )


if __name__ == "__main__":
  main()
