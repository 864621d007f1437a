"""Times the full evaluation suite on a trained workdir (default: the quickstart LeNet on Fashion-MNIST).

  python benchmarks/evaluate.py [--workdir runs/quickstart] [--out_dir /tmp/quickstart_eval]
  python benchmarks/evaluate.py --ensemble_linf_eps=0.1 --attack_subset=500 --noprobe   # and AutoAttack

Runs everything `evaluate.py` runs with its defaults — the 10,000 test images, the five OOD sets, the 15
corruption families, FGSM at five budgets, 10-step PGD-Linf and PGD-L2 at one each, the linear probe on the
60,000 training images — and prints the seconds of each section and the total (target: <= 180 s on 2 CPU cores).
The report goes to `--out_dir` (a temporary folder by default), never into the workdir. With
`--ensemble_linf_eps` or `--ensemble_l2_eps` the attack ensemble `--ensemble` (the standard AutoAttack by default)
also runs at those budgets on the first `--attack_subset` test images (all attacks share that subset), and its
robust accuracy after each attack is printed beside PGD's.
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
_ENSEMBLE = flags.DEFINE_string("ensemble", "autoattack", "The attack ensemble (el_jax.evaluate.autoattack.ENSEMBLES).")
_ENSEMBLE_LINF = flags.DEFINE_list("ensemble_linf_eps", [], "L-inf budgets of the attack ensemble; empty: skip it.")
_ENSEMBLE_L2 = flags.DEFINE_list("ensemble_l2_eps", [], "L2 budgets of the attack ensemble; empty: skip it.")
_ATTACK_SUBSET = flags.DEFINE_integer("attack_subset", None, "Attack the first N test images only (None: all).")


def main(argv):
  del argv
  if not flags.FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)  # Orbax's INFO logs would drown the timings
  import jax

  from el_jax.evaluate import suite

  out_dir = _OUT_DIR.value or tempfile.mkdtemp(prefix="evaluate_benchmark_")
  start, cpu_start = time.perf_counter(), time.process_time()
  options = suite.Options(
    probe=_PROBE.value,
    ensemble=_ENSEMBLE.value,
    ensemble_linf_eps=tuple(float(e) for e in _ENSEMBLE_LINF.value),
    ensemble_l2_eps=tuple(float(e) for e in _ENSEMBLE_L2.value),
    attack_subset=_ATTACK_SUBSET.value,
  )
  report = suite.evaluate_workdir(_WORKDIR.value, options, out_dir=out_dir)
  total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
  print(f"device: {jax.devices()[0].device_kind} x{jax.device_count()}, {os.cpu_count()} CPU cores")
  print(f"workdir: {_WORKDIR.value} (step {report['step']}); report in {out_dir}")
  for section, seconds in report["timing_seconds"].items():
    print(f"  {section:>16}: {seconds:7.2f} s")
  print(f"total (including loading and writing): {total:.1f} s wall, {cpu:.1f} s CPU  (target <= 180 s wall)")
  if os.getloadavg()[0] > os.cpu_count():
    print(f"note: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: other processes slowed this run.")
  for attack, curve in report.get("adversarial", {}).items():
    after = {k.removeprefix("robust_accuracy_after_"): v for k, v in curve.items() if k.startswith("robust_accuracy_")}
    after = after or {"robust accuracy": curve["robust_accuracy"]}
    for i, eps in enumerate(curve["eps"][1:], start=1):
      steps = " -> ".join(f"{name} {values[i]:.4f}" for name, values in after.items())
      print(f"  {attack} eps={eps:g} ({curve['num_attacked']} images): {steps}")
  print(
    f"test accuracy {report['accuracy']['top1']:.4f}, mean corruption accuracy "
    f"{report['corruptions']['mean_accuracy']:.4f}, OOD mean AUROC (msp) {report['ood']['mean']['msp']['auroc']:.4f}"
  )


if __name__ == "__main__":
  app.run(main)
