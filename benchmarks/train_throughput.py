"""Training throughput: the el_jax trainer against a minimal hand-written JAX loop and PyTorch, side by side.

All three train the same LeNet (HEM A.1.3) on Fashion-MNIST with cross-entropy, Adam 1e-3 and batch 128 on the CPU.
Rounds alternate between the three so that background load affects them alike; each figure is the median over
rounds of the steady-state examples/s (compilation and the first logging window excluded).

  .venv/bin/python benchmarks/train_throughput.py [--rounds 3] [--steps 400]

Targets: trainer >= 0.95x the minimal loop; >= 1.3x PyTorch (when torch is installed); input-pipeline wait < 5% of
the step time (the trainer's `train/data_wait_fraction`).

Translation (`--translation`): the trainer's jitted train step on IWSLT14 De-En's stand-in (its vocabularies, size
and sentence lengths), fed two ways in alternating rounds: the padded sentence batches of `batching=sentences`
(`--sentences` pairs, each padded to 256 tokens) and the token-count batches of `batching=tokens` (`--max_tokens`,
`el_jax.data.token_batches`). The figure is real target tokens per second (the `label_mask` tokens: target + EOS)
over `--steps` steps of prepared batches already on the device (compilation excluded: one step of every batch shape
runs first); medians over rounds, with the machine's load (`uptime`) before and after.

  .venv/bin/python benchmarks/train_throughput.py --translation [--model transformer_tiny] [--sentences 16]
      [--max_tokens 410] [--steps 20] [--rounds 3]

The defaults keep a CPU run to minutes: a tiny Transformer, 16 sentences against the 410 tokens they hold on
average (25.6 per pair with EOS); the paper's setting is `--model transformer_iwslt --sentences 160 --max_tokens
4096` (one of De-En's four 4,096-token batches) on an accelerator.
"""

import argparse
import json
import os
import subprocess
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
from el_jax.configs.encouraging_loss import iwslt  # noqa: E402
from el_jax.data import pipeline, token_batches  # noqa: E402
from el_jax.train import loop, setup, step  # noqa: E402
from el_jax.train import mesh as mesh_lib  # noqa: E402
from el_jax.train import optimizer as optimizer_lib  # noqa: E402

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


def _uptime() -> str:
  try:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
  except (OSError, subprocess.CalledProcessError):
    return "uptime unavailable"


def translation(args) -> None:
  """Real target tokens/s of the train step on padded sentence batches against token-count batches (module doc)."""
  print(f"load before: {_uptime()}", flush=True)
  config = iwslt.get_config("pair=de_en,loss=ce,batching=sentences")
  config.dataset.name = "synthetic:translation:iwslt14_de_en"
  config.model.name = args.model
  if args.model == "transformer_tiny":
    config.model.layers = 2  # the tiny size's own depth (the config's 6 are transformer_iwslt's)
  config.compute_dtype = args.compute_dtype
  inputs = setup.Inputs.from_config(config.dataset)
  spec = setup.ModelSpec.from_config(config.model, inputs)
  mesh = mesh_lib.create(config.mesh)
  sharding = mesh_lib.batch_sharding(mesh)
  tx = optimizer_lib.create(config.optimizer, steps_per_epoch=1000, num_epochs=1)
  model = spec.create(config.seed)
  state = step.init_state(model, tx, seed=config.seed)[1]
  parts, _, _ = step.split_model(model)
  state_sharding = mesh_lib.state_shardings(jax.eval_shape(lambda: state), mesh)
  steps = loop.compile_steps(
    parts,
    setup.objective(config.loss, inputs),
    tx,
    mesh=mesh,
    state_sharding=state_sharding,
    total_steps=1000,
    config=config,
  )
  state = jax.device_put(state, state_sharding)
  plan = token_batches.TokenBatches.for_source(inputs.train, max_tokens=args.max_tokens, multiple=sharding.num_devices)
  feeds = {
    "sentences": pipeline.train_dataset(inputs.train, batch_size=args.sentences, seed=0, num_epochs=1),
    "tokens": token_batches.train_dataset(inputs.train, plan, num_epochs=1),
  }
  prepared, real_tokens, padded_tokens = {}, {}, {}
  for name, dataset in feeds.items():  # read and placed before timing: the figure is the step's throughput
    host = [dataset[i] for i in range(args.steps)]
    real_tokens[name] = int(sum(b["label_mask"].sum() for b in host))
    padded_tokens[name] = int(sum(b["label"].size for b in host))
    prepared[name] = [jax.device_put(b, sharding) for b in host]
  for batches in prepared.values():  # compile every shape
    for batch in {b["label"].shape: b for b in batches}.values():
      state, _ = steps.train(state, batch)
  jax.block_until_ready(state)
  speeds = {name: [] for name in prepared}
  for r in range(args.rounds):
    for name, batches in prepared.items():
      start = time.perf_counter()
      for batch in batches:
        state, metrics = steps.train(state, batch)
      jax.block_until_ready((state, metrics))
      speeds[name].append(real_tokens[name] / (time.perf_counter() - start))
    print(
      f"round {r + 1}: padded sentence batches {speeds['sentences'][-1]:.0f}, token batches "
      f"{speeds['tokens'][-1]:.0f} real target tokens/s",
      flush=True,
    )
  med = {name: float(np.median(v)) for name, v in speeds.items()}
  shapes = sorted({tuple(b["label"].shape) for b in prepared["tokens"]})
  print(
    f"\nIWSLT14 De-En stand-in, {args.model} ({config.compute_dtype}), {jax.device_count()} "
    f"{jax.default_backend()} device(s), {args.steps} steps per round, medians of {args.rounds} rounds:"
  )
  print("| batches | real target tokens / padded | real target tokens/s | ratio |\n|---|---|---|---|")
  for name, label in (("sentences", f"{args.sentences} sentences x 256"), ("tokens", f"max_tokens {args.max_tokens}")):
    share = real_tokens[name] / padded_tokens[name]
    print(f"| {label} | {share:.3f} | {med[name]:.0f} | {med[name] / med['sentences']:.2f} |")
  print(f"\ntoken batch shapes in these steps: {len(shapes)} of the plan's {len(plan.shapes)}: {plan.shapes}")
  print(f"load after: {_uptime()}")


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--rounds", type=int, default=3)
  parser.add_argument("--steps", type=int, default=None, help="default: 400 (LeNet), 20 (--translation)")
  parser.add_argument("--translation", action="store_true", help="padded sentence vs token-count batches")
  parser.add_argument("--model", default="transformer_tiny", help="--translation: transformer_tiny or _iwslt")
  parser.add_argument("--sentences", type=int, default=16, help="--translation: pairs per padded sentence batch")
  parser.add_argument("--max_tokens", type=int, default=410, help="--translation: token batches' budget")
  parser.add_argument("--compute_dtype", default="float32", help="--translation: float32 or bfloat16")
  args = parser.parse_args()
  if args.translation:
    args.steps = args.steps or 20
    translation(args)
    return
  args.steps = args.steps or 400
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
