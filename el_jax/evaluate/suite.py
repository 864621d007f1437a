"""The whole evaluation of a trained classifier: accuracy, calibration, OOD rejection, corruptions, adversarial
robustness, margins and energies, gradient weights and the linear probe.

`run(model, config, options)` returns `(report, arrays)`: `report` a JSON-ready dict of every figure, `arrays` the
per-example values the plots need (margins, OOD scores). `evaluate_workdir` loads a workdir's checkpoint and
writes both, a Markdown table and the plots (see `report`).
"""

import dataclasses
import functools
import json
import os
import time

import numpy as np

from el_jax import data, losses
from el_jax.evaluate import (
  calibration,
  corruptions,
  gradient_weight,
  inference,
  margins,
  metrics,
  ood,
  ood_sets,
  probe,
)
from el_jax.evaluate import report as report_lib
from el_jax.train import setup
from el_jax.train.workdir import Workdir


@dataclasses.dataclass(frozen=True)
class Options:
  """What to evaluate and on how much data (None: everything)."""

  batch_size: int = 1000
  test_subset: int | None = None  # first N test examples for every section
  ood_count: int | None = None  # first N images of each OOD set
  corruptions: bool = True
  corruption_severity: int | None = None  # None: MNIST-C's severity for each family
  corruption_subset: int | None = None  # first N test examples corrupted (None: as test_subset)
  attack_subset: int | None = None  # first N test examples attacked
  fgsm_eps: tuple = (0.01, 0.02, 0.05, 0.1, 0.2)
  pgd_linf_eps: tuple = (0.1,)
  pgd_l2_eps: tuple = (1.0,)
  pgd_steps: int = 10
  probe: bool = True
  gradient_weights: bool = True  # the loss's gradient-weight curves
  probe_train_subset: int | None = None  # first N training examples for the probe
  num_bins: int = 15
  tpr: float = 0.95  # FPR at this TPR; also DAR's acceptance rate of correctly classified clean samples
  seed: int = 0


def _timed(timings, name, fn, *args, **kwargs):
  start = time.perf_counter()
  out = fn(*args, **kwargs)
  timings[name] = round(time.perf_counter() - start, 2)
  return out


def _softmax(logits):
  shifted = logits - logits.max(axis=1, keepdims=True)
  e = np.exp(shifted)
  return e / e.sum(axis=1, keepdims=True)


def _scores(logits) -> dict:
  return {name: np.asarray(fn(logits), np.float64) for name, fn in ood.SCORES.items()}


def _gradient_weights(loss_config: dict, class_counts) -> dict:
  """Weight curves for the run's loss (with its hyper-parameters) and every registered loss at its defaults."""
  num_classes = len(class_counts)
  hparams = losses.resolve_data_hparams({k: v for k, v in loss_config.items() if k != "name"}, class_counts)
  candidates = {f"{loss_config['name']} (this run)": (loss_config["name"], hparams)}
  for name in losses.names():
    candidates.setdefault(name, (name, {}))
  fns, skipped = {}, {}
  for label, (name, kwargs) in candidates.items():
    try:
      fn = losses.get(name, **kwargs)
      gradient_weight.adapt(fn, num_classes)
      fns[label] = fn
    except (ValueError, TypeError) as e:  # e.g. a required hyper-parameter such as HEM's margin
      skipped[label] = str(e).split(". Valid")[0]
  return {"curves": gradient_weight.curves(fns, num_classes=num_classes), "skipped": skipped}


# The OOD sets and corrupted test sets depend only on the data and the options: a process evaluating many runs (a
# study) builds them once. Arrays are returned read-only so that no caller can alter the shared copy.
@functools.lru_cache(maxsize=2)
def _ood_sets(name: str, split: str, test_subset, seed: int, count) -> dict:
  test = data.load(name, split).take(test_subset)
  return _read_only(ood_sets.build(name, test.images, seed=seed, count=count))


@functools.lru_cache(maxsize=2)
def _corrupted(name: str, split: str, test_subset, corruption_subset, seed: int, severity) -> dict:
  images = data.load(name, split).take(test_subset).take(corruption_subset).images
  return _read_only(
    {
      family: corruptions.corrupt(family, images, seed=seed + index, severity=severity)
      for index, family in enumerate(corruptions.names())
    }
  )


def _read_only(arrays: dict) -> dict:
  for array in arrays.values():
    array.setflags(write=False)
  return arrays


def run(model, config: dict, options: Options = Options()) -> tuple[dict, dict]:
  """Evaluates `model` (in evaluation mode) trained as `config` (the workdir's config.json) says."""
  timings = {}
  dataset = config["dataset"]
  name = dataset["name"]
  normalization = data.normalization(name) if dataset.get("normalize", False) else None
  classifier = inference.Classifier.from_model(model, normalization)
  test = data.load(name, dataset.get("eval_split", "test")).take(options.test_subset)
  num_classes = test.num_classes
  batch = options.batch_size
  report = {
    "dataset": name,
    "split": dataset.get("eval_split", "test"),
    "num_test": len(test),
    "loss": config.get("loss", {}),
    "model": config.get("model", {}),
    "options": dataclasses.asdict(options),
  }
  arrays = {}

  # ---- Accuracy and calibration --------------------------------------------------------------------------------
  logits = _timed(timings, "clean", inference.logits, classifier, test.images, batch_size=batch)
  if len(logits) != len(test):
    raise RuntimeError(f"evaluation saw {len(logits)} examples instead of {len(test)}.")
  labels = test.labels
  probs = _softmax(logits.astype(np.float64))
  correct = np.asarray(metrics.correct(logits, labels))
  train = setup.Inputs.from_config(
    dataset
  ).train  # with the run's subset and long tail: shot accuracy needs its class counts
  train_counts = data.class_counts(train)
  report["accuracy"] = {
    "top1": float(correct.mean()),
    "nll": float(np.mean(metrics.nll(logits, labels))),
    "per_class": metrics.per_class_accuracy(logits, labels, num_classes).tolist(),
    "shot": metrics.shot_accuracy(logits, labels, train_counts),
  }
  report["calibration"] = {
    "num_bins": options.num_bins,
    "ece": calibration.expected_calibration_error(probs, labels, options.num_bins),
    "reliability": {k: v.tolist() for k, v in calibration.reliability_bins(probs, labels, options.num_bins).items()},
  }

  # ---- Margins, energies, gradient weights -----------------------------------------------------------------------
  margin = np.asarray(margins.margins(logits, labels), np.float64)
  arrays["margins"] = margin
  report["margins"] = margins.summary(margin)
  report["energy"] = margins.energy_summary(logits, labels) | {
    "class_energy": margins.class_energy(logits, labels, num_classes).tolist()
  }
  arrays["energy"] = -np.take_along_axis(logits, labels[:, None], axis=1)[:, 0].astype(np.float64)  # E(y|x) = -z_y
  if options.gradient_weights:
    report["gradient_weight"] = _timed(timings, "gradient_weight", _gradient_weights, config["loss"], train_counts)

  # ---- OOD rejection -------------------------------------------------------------------------------------------
  clean_scores = _scores(logits)
  split = dataset.get("eval_split", "test")
  sets = _timed(timings, "ood_sets", _ood_sets, name, split, options.test_subset, options.seed, options.ood_count)
  report["ood"] = {"sets": {}, "real_set": ood_sets.real_set_name(name)}
  for score in ood.SCORES:
    arrays[f"ood/{score}/in"] = clean_scores[score]
  start = time.perf_counter()
  for set_name, images in sets.items():
    out_scores = _scores(inference.logits(classifier, images, batch_size=batch))
    report["ood"]["sets"][set_name] = {
      score: {
        "auroc": ood.auroc(clean_scores[score], out_scores[score]),
        f"fpr_at_{round(options.tpr * 100)}tpr": ood.fpr_at_tpr(clean_scores[score], out_scores[score], options.tpr),
      }
      for score in ood.SCORES
    }
    for score in ood.SCORES:
      arrays[f"ood/{score}/{set_name}"] = out_scores[score]
  timings["ood"] = round(time.perf_counter() - start, 2)
  report["ood"]["mean"] = {
    score: {
      metric: float(np.mean([v[score][metric] for v in report["ood"]["sets"].values()]))
      for metric in next(iter(report["ood"]["sets"].values()))[score]
    }
    for score in ood.SCORES
  }

  # ---- Corruptions ---------------------------------------------------------------------------------------------
  if options.corruptions:
    start = time.perf_counter()
    accuracy = {}
    corrupted = test.take(options.corruption_subset)
    families = _corrupted(
      name, split, options.test_subset, options.corruption_subset, options.seed, options.corruption_severity
    )
    for family, images in families.items():
      accuracy[family] = metrics.accuracy(inference.logits(classifier, images, batch_size=batch), corrupted.labels)
    report["corruptions"] = {
      "severity": {f: options.corruption_severity or corruptions.DEFAULT_SEVERITY[f] for f in corruptions.names()},
      "accuracy": accuracy,
      "mean_accuracy": float(np.mean(list(accuracy.values()))),
      "num_corrupted": len(corrupted),
    }
    timings["corruptions"] = round(time.perf_counter() - start, 2)

  # ---- Adversarial robustness ----------------------------------------------------------------------------------
  attacked = test.take(options.attack_subset)
  report["adversarial"] = {}
  budgets = {"fgsm": options.fgsm_eps, "pgd_linf": options.pgd_linf_eps, "pgd_l2": options.pgd_l2_eps}
  for attack, eps_values in budgets.items():
    if not eps_values:
      continue
    start = time.perf_counter()
    kwargs = {} if attack == "fgsm" else {"steps": options.pgd_steps}
    adv_logits = inference.adversarial_logits(
      classifier, attacked, attack, eps_values, seed=options.seed, batch_size=batch, **kwargs
    )
    curve = {"eps": [0.0], "robust_accuracy": [float(correct[: len(attacked)].mean())]}
    curve |= {f"dar_{s}": [] for s in ("msp", "max_logit")}
    for s in ("msp", "max_logit"):
      curve[f"dar_{s}"].append(
        ood.detection_accuracy_rate(
          clean_scores[s], correct, clean_scores[s][: len(attacked)], correct[: len(attacked)], options.tpr
        )
      )
    for eps, adv in zip(eps_values, adv_logits, strict=True):
      adv_correct = np.asarray(metrics.correct(adv, attacked.labels))
      adv_scores = _scores(adv)
      curve["eps"].append(float(eps))
      curve["robust_accuracy"].append(float(adv_correct.mean()))
      for s in ("msp", "max_logit"):
        curve[f"dar_{s}"].append(
          ood.detection_accuracy_rate(clean_scores[s], correct, adv_scores[s], adv_correct, options.tpr)
        )
    curve["num_attacked"] = len(attacked)
    if attack != "fgsm":
      curve["steps"] = options.pgd_steps
    report["adversarial"][attack] = curve
    timings[attack] = round(time.perf_counter() - start, 2)

  # ---- Linear probe --------------------------------------------------------------------------------------------
  if options.probe:
    probe_train = train.take(options.probe_train_subset)
    report["probe"] = _timed(timings, "probe", probe.linear_probe, model, normalization, probe_train, test)

  report["timing_seconds"] = timings
  return report, arrays


def evaluate_workdir(workdir: str, options: Options = Options(), *, out_dir: str | None = None, step=None) -> dict:
  """Evaluates a workdir's checkpoint (the latest unless `step`) and writes the report into `out_dir` (default:
  the workdir). Returns the report."""
  config_path = os.path.join(workdir, "config.json")
  if not os.path.isfile(config_path):
    raise FileNotFoundError(f"{config_path} not found: {workdir} is not a workdir written by train.py.")
  with open(config_path) as f:
    config = json.load(f)
  model, loaded_step = Workdir(workdir).load_model(step)
  report, arrays = run(model, config, options)
  report = {"workdir": os.path.abspath(workdir), "step": int(loaded_step)} | report
  report_lib.write(report, arrays, out_dir or workdir)
  return report
