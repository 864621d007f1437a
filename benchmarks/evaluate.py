"""Times the full evaluation suite on a trained workdir (default: the quickstart LeNet on Fashion-MNIST).

  python benchmarks/evaluate.py [--workdir runs/quickstart] [--out_dir /tmp/quickstart_eval]

Runs everything `evaluate.py` runs with its defaults — the 10,000 test images, the five OOD sets, the 15
corruption families, FGSM at five budgets, 10-step PGD-Linf and PGD-L2 at one each, the linear probe on the
60,000 training images — and prints the seconds of each section and the total (target: <= 180 s on 2 CPU cores).
The report goes to `--out_dir` (a temporary folder by default), never into the workdir.
"""

import os
import sys
import tempfile
import time

from absl import app, flags, logging

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_WORKDIR = flags.DEFINE_string("workdir", "runs/quickstart", "A trained workdir.")
_OUT_DIR = flags.DEFINE_string("out_dir", None, "Where to write the report (default: a temporary folder).")
_PROBE = flags.DEFINE_bool("probe", True, "Include the linear probe.")


def main(argv):
  del argv
  if not flags.FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)  # Orbax's INFO logs would drown the timings
  import jax

  from el_jax.evaluate import suite

  out_dir = _OUT_DIR.value or tempfile.mkdtemp(prefix="evaluate_benchmark_")
  start, cpu_start = time.perf_counter(), time.process_time()
  report = suite.evaluate_workdir(_WORKDIR.value, suite.Options(probe=_PROBE.value), out_dir=out_dir)
  total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
  print(f"device: {jax.devices()[0].device_kind} x{jax.device_count()}, {os.cpu_count()} CPU cores")
  print(f"workdir: {_WORKDIR.value} (step {report['step']}); report in {out_dir}")
  for section, seconds in report["timing_seconds"].items():
    print(f"  {section:>16}: {seconds:7.2f} s")
  print(f"total (including loading and writing): {total:.1f} s wall, {cpu:.1f} s CPU  (target <= 180 s wall)")
  if os.getloadavg()[0] > os.cpu_count():
    print(f"note: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: other processes slowed this run.")
  print(
    f"test accuracy {report['accuracy']['top1']:.4f}, mean corruption accuracy "
    f"{report['corruptions']['mean_accuracy']:.4f}, OOD mean AUROC (msp) {report['ood']['mean']['msp']['auroc']:.4f}"
  )


if __name__ == "__main__":
  app.run(main)
