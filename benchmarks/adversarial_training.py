"""PGD adversarial training against standard training: LeNet on Fashion-MNIST, clean and PGD robust accuracy.

  python benchmarks/adversarial_training.py [--epochs 2] [--eps 0.1] [--train_steps 3] [--test_subset 1000]
  python benchmarks/adversarial_training.py --workdir_root runs/adv_bench   # keep the two runs' workdirs

Trains LeNet (`lenet`) on the real Fashion-MNIST training set with the trainer (`el_jax.train.loop`), Adam 1e-3,
batch 128, cross-entropy (`--loss`), for `--epochs` epochs, twice: without `config.adversarial`, and with Madry et
al.'s PGD-AT (`el_jax.train.adversarial`: Linf, eps `--eps` in [0, 1] pixels, `--train_steps` steps of
`2.5 eps / steps`, random start, the whole batch adversarial). Then both are evaluated on the first
`--test_subset` test images by the evaluation suite (`el_jax.evaluate.evaluators`): clean top-1 accuracy and the
robust accuracy under its PGD-Linf at eps `--eps` (the suite's Fashion-MNIST budget, 0.1; 10 steps of
`2.5 eps / 10`, random start). Prints both and the seconds each run took.

XLA runs on one CPU thread by default (`--threads`). `--runs standard` or `--runs pgd_at` trains only one of them.

Measured (XLA on one thread, a 2-core machine shared with other jobs, load 13-20; first 1,000 test images):

  training                      clean acc   PGD-Linf 0.1 acc   train s
  standard                      0.857       0.061              140
  PGD-AT, 3 steps of 0.0833     0.739       0.567              923
  PGD-AT, 7 steps of 0.0357     0.095       0.095              968   (--train_steps 7)

With 7 training steps this 20k-parameter LeNet collapses to a constant prediction (training loss ln 10 from about
step 150 to the end): the capacity failure Madry et al. (2018) report for small networks trained against a strong
attack. 3 steps (the default) learn from the start.
"""

import argparse
import json
import os
import sys
import tempfile
import time


def _parse():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--epochs", type=int, default=2)
  parser.add_argument("--eps", type=float, default=0.1, help="Linf budget of training and test attacks, [0, 1] pixels")
  parser.add_argument("--train_steps", type=int, default=3, help="PGD steps of the training attack")
  parser.add_argument("--test_steps", type=int, default=10, help="PGD steps of the test attack (the suite's 10)")
  parser.add_argument("--test_subset", type=int, default=1000, help="first N test images evaluated and attacked")
  parser.add_argument("--train_subset", type=int, default=None, help="first N training images (None: all 60,000)")
  parser.add_argument("--loss", default="cross_entropy", help="a registered loss name, at its defaults")
  parser.add_argument("--threads", type=int, default=1, help="XLA CPU threads (0: XLA's default)")
  parser.add_argument("--runs", default="standard,pgd_at", help="which trainings to run: standard, pgd_at or both")
  parser.add_argument("--workdir_root", default=None, help="where the two workdirs go (default: a temporary folder)")
  return parser.parse_args()


ARGS = _parse()
if ARGS.threads:
  os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + f" --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads={ARGS.threads}"
  )

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import logging  # noqa: E402

from el_jax.configs import common  # noqa: E402
from el_jax.evaluate import evaluators  # noqa: E402
from el_jax.evaluate.subject import Subject  # noqa: E402
from el_jax.train import loop, setup  # noqa: E402
from el_jax.train.workdir import Workdir  # noqa: E402


def config(adversarial: bool):
  c = common.base_config()
  c.model.name = "lenet"
  c.loss.name = ARGS.loss
  c.optimizer.name = "adam"
  c.optimizer.learning_rate = 1e-3
  c.batch_size = 128
  c.num_epochs = ARGS.epochs
  c.dataset.train_subset = ARGS.train_subset
  c.dataset.eval_subset = 1000  # the per-epoch check only; the figures below use --test_subset
  c.writers = ("jsonl",)
  if adversarial:
    c.adversarial.attack = "pgd"
    c.adversarial.norm = "linf"
    c.adversarial.eps = ARGS.eps
    c.adversarial.steps = ARGS.train_steps
    c.adversarial.step_size = 2.5 * ARGS.eps / ARGS.train_steps  # Madry et al.'s rule, as the suite's PGD
  return c


def measure(workdir: str) -> dict:
  run_dir = Workdir(workdir)
  run_config = run_dir.read_config()
  model, _ = run_dir.load_model()
  inputs = setup.Inputs.from_config(dict(run_config["dataset"], eval_subset=None))
  subject = Subject(model, inputs, run_config["loss"], test_subset=ARGS.test_subset)
  clean, _, _ = evaluators.run("accuracy", subject)
  options = {"fgsm_eps": (), "pgd_linf_eps": (ARGS.eps,), "pgd_l2_eps": (), "pgd_steps": ARGS.test_steps}
  robust, _, _ = evaluators.run("adversarial", subject, options)
  curve = robust["adversarial"]["pgd_linf"]
  return {"clean_accuracy": clean["accuracy"]["top1"], "pgd_robust_accuracy": curve["robust_accuracy"][-1]}


def main():
  logging.set_verbosity(logging.WARNING)
  import jax

  root = ARGS.workdir_root or tempfile.mkdtemp(prefix="adv_bench_")
  print(f"devices: {jax.devices()}, XLA_FLAGS={os.environ.get('XLA_FLAGS', '').strip()!r}")
  results = {}
  for name, adversarial in (("standard", False), ("pgd_at", True)):
    if name not in ARGS.runs.split(","):
      continue
    workdir = os.path.join(root, name)
    start = time.perf_counter()
    loop.train_and_evaluate(config(adversarial), workdir)
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    results[name] = measure(workdir) | {
      "train_seconds": round(train_seconds, 1),
      "eval_seconds": round(time.perf_counter() - start, 1),
    }
    print(name, json.dumps(results[name]), flush=True)
  print(
    f"\nLeNet, Fashion-MNIST, {ARGS.epochs} epochs, {ARGS.loss}; test: first {ARGS.test_subset} test images, "
    f"PGD-Linf eps {ARGS.eps} ({ARGS.test_steps} steps)"
  )
  print(f"{'training':<10} {'clean acc':>10} {'PGD acc':>10} {'train s':>9}")
  for name, r in results.items():
    print(f"{name:<10} {r['clean_accuracy']:>10.4f} {r['pgd_robust_accuracy']:>10.4f} {r['train_seconds']:>9.1f}")


if __name__ == "__main__":
  main()
