"""`el-jax-evaluate` (also `python -m el_jax.evaluate` and the repository's `evaluate.py`): evaluates trained
workdirs: accuracy, calibration, OOD rejection, corruptions, adversarial robustness, margins,
energies, gradient weights and the linear probe (the evaluators of `el_jax.evaluate.evaluators`), written as JSON,
Markdown and PNG plots. A run on text, graphs or translations gets the evaluators that apply to its inputs; the others
are listed as skipped, with the reason.

  python evaluate.py --workdir runs/quickstart                  # writes evaluation.{json,md} and plots there
  python evaluate.py --workdir runs/quickstart --out_dir /tmp/e --test_subset=1000 --noprobe
  python evaluate.py --compare runs/ce runs/el --out_dir runs/compare   # side by side (evaluates runs not yet done)
  python evaluate.py --workdir runs/quickstart --ensemble_linf_eps=0.1 --ensemble_l2_eps=2.0 --attack_subset=1000
                                                              # AutoAttack (standard), robust accuracy and DAR
  python evaluate.py --workdir runs/cifar10 --ood_data_dir=/data/ood --corruption_data_dir=/data \
      --ensemble_linf_eps=dataset --ensemble_l2_eps=dataset   # HEM's OOD sets, CIFAR-10-C and AutoAttack budgets

The OOD sets, corruption set and attack budgets default to those of the run's data set (HEM appendix A.1.2;
`el_jax.evaluate.dataset_defaults`); a real set whose files are missing is skipped and listed with the download.
"""

import os

from absl import app, flags, logging

_WORKDIR = flags.DEFINE_string("workdir", None, "A workdir written by train.py, to evaluate.")
_COMPARE = flags.DEFINE_bool("compare", False, "Compare the runs whose folders follow the flags: DIR1 DIR2 ...")
_OUT_DIR = flags.DEFINE_string("out_dir", None, "Output folder (default: the workdir; for --compare: ./comparison).")
_STEP = flags.DEFINE_integer("step", None, "The checkpoint to evaluate (default: the latest).")
_SPLIT = flags.DEFINE_string("split", None, "The split to evaluate on (default: the run's dataset.eval_split).")
_TEST_SUBSET = flags.DEFINE_integer("test_subset", None, "Evaluate on the first N test examples only.")
_OOD_SETS = flags.DEFINE_list(
  "ood_sets",
  None,
  "OOD sets (default: the data set's, as the HEM paper: e.g. CIFAR-10: dtd, svhn, cifar100 and the synthetic "
  "uniform_noise, random_blobs, permuted_pixels, phase_randomised; names in el_jax.data.ood_sources).",
)
_OOD_DATA_DIR = flags.DEFINE_string(
  "ood_data_dir", None, "Folder of the real OOD sets' releases or TFDS datasets (default: $TFDS_DATA_DIR)."
)
_OOD_COUNT = flags.DEFINE_integer("ood_count", None, "Use the first N images of each OOD set only.")
_ATTACK_SUBSET = flags.DEFINE_integer("attack_subset", None, "Attack the first N test examples only.")
_PROBE_TRAIN = flags.DEFINE_integer("probe_train_subset", None, "Train the probe on the first N training examples.")
_CORRUPTIONS = flags.DEFINE_bool("corruptions", True, "Evaluate on the corrupted test set.")
_CORRUPTION_SET = flags.DEFINE_string(
  "corruption_set",
  None,
  "mnist_c (computed on the fly), cifar10_c, cifar100_c, tiny_imagenet_c or imagenet_c (default: the data set's).",
)
_CORRUPTION_DATA_DIR = flags.DEFINE_string(
  "corruption_data_dir",
  None,
  "Folder holding the corruption set's release (e.g. CIFAR-10-C/; default: $TFDS_DATA_DIR).",
)
_CORRUPTION_FAMILIES = flags.DEFINE_list("corruption_families", None, "Corruption families (default: all).")
_SEVERITY = flags.DEFINE_integer(
  "corruption_severity", None, "1..5 for every family (default: MNIST-C's; released sets: all five, averaged)."
)
_PROBE = flags.DEFINE_bool("probe", True, "Train the linear probe on frozen features.")
_CRT = flags.DEFINE_bool("crt", False, "Re-train the classifier on frozen features with class-balanced sampling (CRT).")
_CRT_TRAIN = flags.DEFINE_integer("crt_train_subset", None, "Train CRT's classifier on the first N training examples.")
_FGSM = flags.DEFINE_list("fgsm_eps", None, "FGSM budgets (L_inf); empty: skip; default: the data set's.")
_PGD_LINF = flags.DEFINE_list(
  "pgd_linf_eps", None, "PGD L_inf budgets; empty: skip; default: the data set's (MNIST 0.3, CIFAR/ImageNet 8/255)."
)
_PGD_L2 = flags.DEFINE_list(
  "pgd_l2_eps", None, "PGD L_2 budgets; empty: skip; default: the data set's (MNIST 2, CIFAR/ImageNet 0.5)."
)
_PGD_STEPS = flags.DEFINE_integer("pgd_steps", 10, "PGD iterations.")
_ENSEMBLE = flags.DEFINE_string(
  "ensemble",
  "autoattack",
  "Attack ensemble at the budgets below: autoattack (the standard APGD-CE, APGD-T, FAB-T, "
  "Square), apgd-ce, apgd-ce+apgd-t, apgd-ce+apgd-t3 (el_jax.evaluate.autoattack.ENSEMBLES).",
)
_ENSEMBLE_LINF = flags.DEFINE_list(
  "ensemble_linf_eps", [], "Budgets (L_inf) of the attack ensemble; empty: skip; 'dataset': the data set's."
)
_ENSEMBLE_L2 = flags.DEFINE_list(
  "ensemble_l2_eps", [], "Budgets (L_2) of the attack ensemble; empty: skip; 'dataset': the data set's."
)
_BLEU_BEAMS = flags.DEFINE_list("bleu_beams", ["1", "5"], "Beam sizes of the BLEU of a translation run; empty: skip.")
_BATCH = flags.DEFINE_integer("batch_size", 1000, "Evaluation batch size.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the OOD sets, corruptions and attacks.")


def _budgets(values):
  """A list flag of budgets: None (not given) and ['dataset'] take the data set's (None); else the numbers."""
  if values is None or values == ["dataset"]:
    return None
  return tuple(float(e) for e in values)


def _options():
  from el_jax.evaluate import suite

  return suite.Options(
    batch_size=_BATCH.value,
    split=_SPLIT.value,
    test_subset=_TEST_SUBSET.value,
    ood_sets=None if _OOD_SETS.value is None else tuple(_OOD_SETS.value),
    ood_data_dir=_OOD_DATA_DIR.value,
    ood_count=_OOD_COUNT.value,
    corruptions=_CORRUPTIONS.value,
    corruption_set=_CORRUPTION_SET.value,
    corruption_data_dir=_CORRUPTION_DATA_DIR.value,
    corruption_families=None if _CORRUPTION_FAMILIES.value is None else tuple(_CORRUPTION_FAMILIES.value),
    corruption_severity=_SEVERITY.value,
    attack_subset=_ATTACK_SUBSET.value,
    fgsm_eps=_budgets(_FGSM.value),
    pgd_linf_eps=_budgets(_PGD_LINF.value),
    pgd_l2_eps=_budgets(_PGD_L2.value),
    pgd_steps=_PGD_STEPS.value,
    ensemble=_ENSEMBLE.value,
    ensemble_linf_eps=_budgets(_ENSEMBLE_LINF.value),
    ensemble_l2_eps=_budgets(_ENSEMBLE_L2.value),
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
  for section, reason in report.skipped_sets(result).items():
    print(f"{section}: skipped ({reason}).")
  print(
    f"{_WORKDIR.value} (step {result['step']}): accuracy {result['accuracy']['top1']:.4f}; report in "
    f"{os.path.join(out_dir, report.MARKDOWN_NAME)}"
  )


def run():
  """The console script."""
  app.run(main)


if __name__ == "__main__":
  run()
