"""Training throughput: the el_jax trainer against a minimal hand-written JAX loop and PyTorch, side by side.

All three train the same LeNet (HEM A.1.3) on Fashion-MNIST with cross-entropy, Adam 1e-3 and batch 128 on the CPU.
Rounds alternate between the three so that background load affects them alike; each figure is the median over
rounds of the steady-state examples/s (compilation and the first logging window excluded).

  .venv/bin/python benchmarks/train_throughput.py [--rounds 3] [--steps 400]

Targets: trainer >= 0.95x the minimal loop; >= 1.3x PyTorch (when torch is installed); input-pipeline wait < 5% of
the step time (the trainer's `train/data_wait_fraction`).
"""

import argparse
import json
import os
import sys
import tempfile
import time

import jax
import numpy as np
import optax
from flax import nnx

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from el_jax import data, losses, models, train  # noqa: E402
from el_jax.configs import quickstart  # noqa: E402

BATCH = 128


def normalised_train_set():
  train_data = data.load("fashion_mnist", "train")
  mean, std = data.normalization("fashion_mnist")
  images = (train_data.images.astype(np.float32) / 255.0 - mean[0]) / std[0]
  return images, train_data.labels


def trainer(steps: int) -> tuple[float, float]:
  """(examples/s, data-wait fraction) of `train.py`'s loop, from its metrics log."""
  config = quickstart.get_config()
  config.loss = {"name": "cross_entropy"}
  config.dataset.train_subset = BATCH * (steps + 50)
  config.dataset.eval_subset = 1000
  config.num_epochs = 1
  config.log_every_steps = 50
  with tempfile.TemporaryDirectory() as workdir:
    train.train_and_evaluate(config, workdir)
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
      records = [json.loads(line) for line in f]
  windows = [r for r in records if "train/examples_per_second" in r][1:-1]  # drop compile and the eval window
  return (
    float(np.median([r["train/examples_per_second"] for r in windows])),
    float(np.median([r["train/data_wait_fraction"] for r in windows])),
  )


def minimal_jax(images, labels, steps: int) -> float:
  """examples/s of a bare jitted Adam step over pre-normalised in-memory batches."""
  model = models.create("lenet", num_classes=10, input_shape=(28, 28, 1))
  graphdef, params = nnx.split(model)
  tx = optax.adam(1e-3)
  opt_state = tx.init(params)

  def step(params, opt_state, x, y):
    def loss(params):
      return losses.cross_entropy(nnx.merge(graphdef, params)(x), y).mean()

    grads = jax.grad(loss)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state

  step = jax.jit(step, donate_argnums=(0, 1))
  order = np.random.default_rng(0).permutation(len(labels))

  def batch(i):
    idx = order[(i * BATCH) % (len(order) - BATCH) :][:BATCH]
    return images[idx], labels[idx]

  for i in range(20):  # compile and warm up
    params, opt_state = step(params, opt_state, *batch(i))
  jax.block_until_ready(params)
  start = time.perf_counter()
  for i in range(steps):
    params, opt_state = step(params, opt_state, *batch(i))
  jax.block_until_ready(params)
  return steps * BATCH / (time.perf_counter() - start)


def pytorch(images, labels, steps: int) -> float | None:
  """examples/s of the same LeNet, loss and optimiser in PyTorch (None if torch is not installed)."""
  try:
    import torch
  except ImportError:
    return None
  torch.manual_seed(0)
  net = torch.nn.Sequential(
    torch.nn.Conv2d(1, 16, 5),
    torch.nn.ReLU(),
    torch.nn.MaxPool2d(2),
    torch.nn.Conv2d(16, 16, 5),
    torch.nn.ReLU(),
    torch.nn.MaxPool2d(2),
    torch.nn.Flatten(),
    torch.nn.Linear(256, 50),
    torch.nn.ReLU(),
    torch.nn.Linear(50, 10),
  )
  opt = torch.optim.Adam(net.parameters(), lr=1e-3)
  x_all = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
  y_all = torch.from_numpy(labels.astype(np.int64))
  order = torch.from_numpy(np.random.default_rng(0).permutation(len(labels)))

  def run(n, offset=0):
    for i in range(n):
      idx = order[((i + offset) * BATCH) % (len(order) - BATCH) :][:BATCH]
      opt.zero_grad(set_to_none=True)
      torch.nn.functional.cross_entropy(net(x_all[idx]), y_all[idx]).backward()
      opt.step()

  run(20)
  start = time.perf_counter()
  run(steps, offset=20)
  return steps * BATCH / (time.perf_counter() - start)


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--rounds", type=int, default=3)
  parser.add_argument("--steps", type=int, default=400)
  args = parser.parse_args()
  images, labels = normalised_train_set()
  results = {"trainer": [], "wait": [], "minimal": [], "torch": []}
  for r in range(args.rounds):
    speed, wait = trainer(args.steps)
    results["trainer"].append(speed)
    results["wait"].append(wait)
    results["minimal"].append(minimal_jax(images, labels, args.steps))
    results["torch"].append(pytorch(images, labels, args.steps))
    print(
      f"round {r + 1}: trainer {speed:.0f}, minimal JAX {results['minimal'][-1]:.0f}, "
      f"PyTorch {results['torch'][-1] or float('nan'):.0f} examples/s; data wait {wait:.1%}",
      flush=True,
    )
  med = {k: float(np.median(v)) for k, v in results.items() if None not in v}
  print(
    f"\nLeNet / Fashion-MNIST, batch {BATCH}, {jax.device_count()} {jax.default_backend()} device(s), "
    f"medians of {args.rounds} rounds:"
  )
  print("| loop | examples/s | trainer / this |\n|---|---|---|")
  print(f"| el_jax trainer | {med['trainer']:.0f} | 1.00 |")
  print(f"| minimal JAX loop | {med['minimal']:.0f} | {med['trainer'] / med['minimal']:.2f} (target >= 0.95) |")
  if "torch" in med:
    import torch

    print(
      f"| PyTorch {torch.__version__} ({torch.get_num_threads()} threads) | {med['torch']:.0f} | "
      f"{med['trainer'] / med['torch']:.2f} (target >= 1.3) |"
    )
  else:
    print("| PyTorch | not installed | - |")
  print(f"\ninput-pipeline wait: {med['wait']:.1%} of the trainer's step time (target < 5%)")


if __name__ == "__main__":
  main()
