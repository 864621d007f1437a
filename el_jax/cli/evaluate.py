"""`el-jax-evaluate` (also `python -m el_jax.evaluate` and the repository's `evaluate.py`): evaluates trained
workdirs: accuracy, calibration, OOD rejection, corruptions, adversarial robustness, margins,
energies, gradient weights and the linear probe, or for a segmentation run mean IoU, per-class IoU and pixel accuracy
(the evaluators of `el_jax.evaluate.evaluators`), written as JSON, Markdown and PNG plots. A run on text, graphs,
translations or label maps gets the evaluators that apply to its inputs; the others are listed as skipped, with the
reason.

  python evaluate.py --workdir runs/quickstart                  # writes evaluation.{json,md} and plots there
  python evaluate.py --workdir runs/quickstart --out_dir /tmp/e --test_subset=1000 --noprobe
  python evaluate.py --compare runs/ce runs/el --out_dir runs/compare   # side by side (evaluates runs not yet done)
  python evaluate.py --workdir runs/quickstart --ensemble_linf_eps=0.1 --ensemble_l2_eps=2.0 --attack_subset=1000
                                                              # AutoAttack (standard), robust accuracy and DAR
"""

import os

from absl import app, flags, logging

_WORKDIR = flags.DEFINE_string("workdir", None, "A workdir written by train.py, to evaluate.")
_COMPARE = flags.DEFINE_bool("compare", False, "Compare the runs whose folders follow the flags: DIR1 DIR2 ...")
_OUT_DIR = flags.DEFINE_string("out_dir", None, "Output folder (default: the workdir; for --compare: ./comparison).")
_STEP = flags.DEFINE_integer("step", None, "The checkpoint to evaluate (default: the latest).")
_SPLIT = flags.DEFINE_string("split", None, "The split to evaluate on (default: the run's dataset.eval_split).")
_TEST_SUBSET = flags.DEFINE_integer("test_subset", None, "Evaluate on the first N test examples only.")
_OOD_COUNT = flags.DEFINE_integer("ood_count", None, "Use the first N images of each OOD set only.")
_ATTACK_SUBSET = flags.DEFINE_integer("attack_subset", None, "Attack the first N test examples only.")
_PROBE_TRAIN = flags.DEFINE_integer("probe_train_subset", None, "Train the probe on the first N training examples.")
_CORRUPTIONS = flags.DEFINE_bool("corruptions", True, "Evaluate on the corrupted test set.")
_SEVERITY = flags.DEFINE_integer("corruption_severity", None, "1..5 for every family (default: MNIST-C's).")
_PROBE = flags.DEFINE_bool("probe", True, "Train the linear probe on frozen features.")
_CRT = flags.DEFINE_bool("crt", False, "Re-train the classifier on frozen features with class-balanced sampling (CRT).")
_CRT_TRAIN = flags.DEFINE_integer("crt_train_subset", None, "Train CRT's classifier on the first N training examples.")
_FGSM = flags.DEFINE_list("fgsm_eps", ["0.01", "0.02", "0.05", "0.1", "0.2"], "FGSM budgets (L_inf); empty: skip.")
_PGD_LINF = flags.DEFINE_list("pgd_linf_eps", ["0.1"], "PGD L_inf budgets; empty: skip.")
_PGD_L2 = flags.DEFINE_list("pgd_l2_eps", ["1.0"], "PGD L_2 budgets; empty: skip.")
_PGD_STEPS = flags.DEFINE_integer("pgd_steps", 10, "PGD iterations.")
_ENSEMBLE = flags.DEFINE_string(
  "ensemble",
  "autoattack",
  "Attack ensemble at the budgets below: autoattack (the standard APGD-CE, APGD-T, FAB-T, "
  "Square), apgd-ce, apgd-ce+apgd-t, apgd-ce+apgd-t3 (el_jax.evaluate.autoattack.ENSEMBLES).",
)
_ENSEMBLE_LINF = flags.DEFINE_list("ensemble_linf_eps", [], "Budgets (L_inf) of the attack ensemble; empty: skip.")
_ENSEMBLE_L2 = flags.DEFINE_list("ensemble_l2_eps", [], "Budgets (L_2) of the attack ensemble; empty: skip.")
_BLEU_BEAMS = flags.DEFINE_list("bleu_beams", ["1", "5"], "Beam sizes of the BLEU of a translation run; empty: skip.")
_BATCH = flags.DEFINE_integer("batch_size", 1000, "Evaluation batch size.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the OOD sets, corruptions and attacks.")


def _options():
  from el_jax.evaluate import suite

  return suite.Options(
    batch_size=_BATCH.value,
    split=_SPLIT.value,
    test_subset=_TEST_SUBSET.value,
    ood_count=_OOD_COUNT.value,
    corruptions=_CORRUPTIONS.value,
    corruption_severity=_SEVERITY.value,
    attack_subset=_ATTACK_SUBSET.value,
    fgsm_eps=tuple(float(e) for e in _FGSM.value),
    pgd_linf_eps=tuple(float(e) for e in _PGD_LINF.value),
    pgd_l2_eps=tuple(float(e) for e in _PGD_L2.value),
    pgd_steps=_PGD_STEPS.value,
    ensemble=_ENSEMBLE.value,
    ensemble_linf_eps=tuple(float(e) for e in _ENSEMBLE_LINF.value),
    ensemble_l2_eps=tuple(float(e) for e in _ENSEMBLE_L2.value),
    probe=_PROBE.value,
    probe_train_subset=_PROBE_TRAIN.value,
    crt=_CRT.value,
    crt_train_subset=_CRT_TRAIN.value,
    bleu_beams=tuple(int(b) for b in _BLEU_BEAMS.value),
    seed=_SEED.value,
  )


def main(argv):
  if not flags.FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)
  from el_jax.evaluate import report, suite  # imported after flag parsing so `--help` and flag errors are fast

  if _COMPARE.value:
    dirs = argv[1:]
    if not dirs:
      raise app.UsageError("--compare needs the run folders after the flags: evaluate.py --compare DIR1 DIR2 ...")
    for run_dir in dirs:
      if not os.path.isfile(os.path.join(run_dir, report.JSON_NAME)):
        print(f"{run_dir}: not evaluated yet; evaluating it.")
        suite.evaluate_workdir(run_dir, _options())
    out_dir = _OUT_DIR.value or "comparison"
    for path in report.compare(dirs, out_dir):
      print(path)
    return
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]} (folders to compare need --compare).")
  if not _WORKDIR.value:
    raise app.UsageError("Give --workdir DIR to evaluate a run, or --compare DIR1 DIR2 ... to compare runs.")
  result = suite.evaluate_workdir(_WORKDIR.value, _options(), out_dir=_OUT_DIR.value, step=_STEP.value)
  out_dir = _OUT_DIR.value or _WORKDIR.value
  for section, reason in result.get("skipped", {}).items():
    print(f"{section}: skipped ({reason}).")
  if "accuracy" in result:
    headline = f"accuracy {result['accuracy']['top1']:.4f}"
  else:  # a segmentation run: no per-example accuracy
    headline = f"mean IoU {result['segmentation']['mean_iou']:.4f}"
  print(
    f"{_WORKDIR.value} (step {result['step']}): {headline}; report in {os.path.join(out_dir, report.MARKDOWN_NAME)}"
  )


def run():
  """The console script."""
  app.run(main)


if __name__ == "__main__":
  run()
