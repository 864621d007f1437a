"""The evaluators, by name (big_vision's `config.evals` registry): each computes its sections of a report.

An evaluator is a function `evaluator(subject, **options) -> (entries, arrays)` of a `Subject` (the model as a
pure function, the run's `Inputs` and the test examples, see `el_jax.evaluate.subject`): `entries` are its sections
of the report (`{"ood": {...}}`; `margins` gives `margins` and `energy`), `arrays` the per-example values its plots
need. Its options are its keyword-only arguments, defaults included; `options(name)` lists them. An evaluator that
does not apply to the subject raises `Skip` saying why.

  accuracy         top-1, NLL, per-class and many/medium/few-shot accuracy                 any inputs
  calibration      expected calibration error and reliability bins                          any inputs
  margins          margins z_y - max_{k != y} z_k and energies E(y|x) = -z_y                any inputs
  gradient_weight  -dL/dz_y against p_y for the run's loss and every registered loss        the loss alone
  ood              AUROC and FPR at a TPR of four scores against OOD image sets             images
  corruptions      accuracy on the data set's corruption set (MNIST-C, CIFAR-10-C, ...)    images
  adversarial      FGSM, PGD and AutoAttack robust accuracy and detection accuracy rate (DAR)  images
  probe            a linear probe on the frozen features of the model's `head`              one label per example
  crt              classifier re-training with class-balanced sampling (CRT), with shot accuracy  one label per example
  bleu             corpus BLEU of greedy and beam-search translations of the test sentences  translations

The OOD sets, the corruption set and the attack budgets default to those of the run's data set
(`el_jax.evaluate.dataset_defaults`, the HEM paper's protocol); a real set whose files are missing is skipped, and the
section lists it under `skipped_sets` (OOD) or `skipped_families` (corruptions) with the download and the option.

Per-token labels (translation) count every unmasked token as one example (accuracy, calibration, margins).
`el_jax.evaluate.suite` runs them after training, `el_jax.evaluate.during_training` after the epochs
`config.evals` names.
"""

import collections
import dataclasses
import hashlib
import inspect
import time

import numpy as np

from el_jax import data, losses
from el_jax.data import conform, corrupted, ood_sources
from el_jax.evaluate import autoattack, dataset_defaults, inference, metrics
from el_jax.evaluate import bleu as bleu_lib
from el_jax.evaluate import gradient_weight as gradient_weight_lib
from el_jax.evaluate import margins as margins_lib
from el_jax.evaluate import ood as ood_lib
from el_jax.evaluate import ood_sets as synthetic_sets
from el_jax.evaluate import probe as probe_lib
from el_jax.evaluate.calibration import expected_calibration_error, reliability_bins
from el_jax.evaluate.corruptions import DEFAULT_SEVERITY, corrupt
from el_jax.evaluate.corruptions import names as corruption_names
from el_jax.evaluate.subject import Skip, Subject
from el_jax.models import transformer
from el_jax.train import setup

# The [K, K] table of class energies is left out above this many classes (K^2 numbers in the report).
CLASS_ENERGY_MAX_CLASSES = 1000
DAR_SCORES = ("msp", "max_logit")


def _softmax(logits):
  shifted = logits - logits.max(axis=1, keepdims=True)
  e = np.exp(shifted)
  return e / e.sum(axis=1, keepdims=True)


def _scores(logits) -> dict:
  return {name: np.asarray(fn(logits), np.float64) for name, fn in ood_lib.SCORES.items()}


# ---- Any inputs ------------------------------------------------------------------------------------------------
def accuracy(subject: Subject) -> tuple[dict, dict]:
  """Top-1 accuracy, NLL `-log p_y`, per-class accuracy and (one label per example) many/medium/few-shot accuracy
  with the classes split by their training counts."""
  out = subject.predictions
  hits = np.asarray(metrics.correct(out.logits, out.labels))
  entry = {
    "top1": float(hits.mean()),
    "nll": float(np.mean(metrics.nll(out.logits, out.labels))),
    "per_class": metrics.per_class_accuracy(out.logits, out.labels, subject.inputs.num_classes).tolist(),
  }
  if not out.per_token:  # the training counts of tokens would take reading every training sentence
    entry["shot"] = metrics.shot_accuracy(out.logits, out.labels, subject.inputs.class_counts)
  return {"accuracy": entry}, {}


def calibration(subject: Subject, *, num_bins: int = 15) -> tuple[dict, dict]:
  """Expected calibration error and reliability bins of the softmax confidences over `num_bins` bins."""
  out = subject.predictions
  probs = _softmax(out.logits.astype(np.float64))
  bins = reliability_bins(probs, out.labels, num_bins)
  entry = {
    "num_bins": num_bins,
    "ece": expected_calibration_error(probs, out.labels, num_bins),
    "reliability": {k: v.tolist() for k, v in bins.items()},
  }
  return {"calibration": entry}, {}


def margins(subject: Subject) -> tuple[dict, dict]:
  """Margins `z_y - max_{k != y} z_k` and energies `E(y|x) = -z_y` (EL §3): summaries, per-example values and,
  up to `CLASS_ENERGY_MAX_CLASSES` classes, the mean energy of each class for each true class."""
  out = subject.predictions
  margin = np.asarray(margins_lib.margins(out.logits, out.labels), np.float64)
  energy = margins_lib.energy_summary(out.logits, out.labels)
  if subject.inputs.num_classes <= CLASS_ENERGY_MAX_CLASSES:
    energy["class_energy"] = margins_lib.class_energy(out.logits, out.labels, subject.inputs.num_classes).tolist()
  arrays = {
    "margins": margin,
    "energy": -np.take_along_axis(out.logits, out.labels[:, None], axis=1)[:, 0].astype(np.float64),
  }
  return {"margins": margins_lib.summary(margin), "energy": energy}, arrays


def gradient_weight(subject: Subject) -> tuple[dict, dict]:
  """Weight curves `-dL/dz_y` against `p_y` for the run's loss (with its hyper-parameters) and every registered
  loss at its defaults; losses that need a hyper-parameter (e.g. HEM's margin) are listed under `skipped`."""
  loss, num_classes = subject.loss, subject.inputs.num_classes
  candidates = {f"{loss['name']} (this run)": (loss["name"], setup.loss_hparams(loss, subject.inputs))}
  for name in losses.names():
    candidates.setdefault(name, (name, {}))
  fns, skipped = {}, {}
  for label, (name, kwargs) in candidates.items():
    try:
      fn = losses.get(name, **kwargs)
      gradient_weight_lib.adapt(fn, num_classes)
      fns[label] = fn
    except (ValueError, TypeError) as e:
      skipped[label] = str(e).split(". Valid")[0]
  entry = {"curves": gradient_weight_lib.curves(fns, num_classes=num_classes), "skipped": skipped}
  return {"gradient_weight": entry}, {}


# ---- Images ----------------------------------------------------------------------------------------------------
# The OOD and corrupted image sets depend only on the test images and the options: a process evaluating many runs
# (a study) or one run every epoch builds them once. Their arrays are read-only, so no caller can alter a shared copy.
_SHARED_SETS = collections.OrderedDict()
_SHARED_SETS_KEPT = 4


def _shared_sets(kind: str, images: np.ndarray, settings: tuple, build) -> dict:
  key = (kind, hashlib.sha1(np.ascontiguousarray(images)).hexdigest(), images.shape, settings)
  if key in _SHARED_SETS:
    _SHARED_SETS.move_to_end(key)
    return _SHARED_SETS[key]
  sets = build()
  for array in sets.values():
    if isinstance(array, np.ndarray):  # not a skip reason
      array.setflags(write=False)
  _SHARED_SETS[key] = sets
  while len(_SHARED_SETS) > _SHARED_SETS_KEPT:
    _SHARED_SETS.popitem(last=False)
  return sets


def _ood_images(names, images, dataset, seed, count, data_dir) -> dict:
  """`{set name: uint8 images of the test images' shape, or the reason the set is skipped}`."""
  sets = {}
  for set_name in names:
    if set_name in synthetic_sets.SYNTHETIC:
      sets[set_name] = synthetic_sets.synthetic(set_name, images[:count], seed)
      continue
    try:
      source = ood_sources.load(set_name, data_dir=data_dir, seed=seed)
    except ood_sources.Unavailable as e:
      sets[set_name] = f"{e} as ood_data_dir (--ood_data_dir)"
      continue
    resize = dataset_defaults.ood_resize(dataset)
    sets[set_name] = ood_sources.images(source, images.shape[1:], count=count, resize=resize)
  return sets


def ood(
  subject: Subject,
  *,
  ood_sets: tuple | None = None,
  ood_data_dir: str | None = None,
  ood_count: int | None = None,
  tpr: float = 0.95,
) -> tuple[dict, dict]:
  """OOD rejection: AUROC and FPR at `tpr` of each score (`ood.SCORES`) between the test images and each OOD set,
  and their mean over the sets evaluated.

  `ood_sets` (default: the data set's, `dataset_defaults.ood_set_names`) names synthetic sets
  (`el_jax.evaluate.ood_sets.SYNTHETIC`, made from the first `ood_count` test images) and real ones
  (`el_jax.data.ood_sources`, read from `ood_data_dir`: their first `ood_count` images, or at most `MAX_IMAGES` evenly
  spaced ones, converted to the test images' shape by `el_jax.data.conform`). A real set whose files are missing is
  listed under `skipped_sets` with the reason."""
  images = subject.images
  name, seed = subject.inputs.name, subject.seed
  wanted = dataset_defaults.ood_set_names(name) if ood_sets is None else tuple(ood_sets)
  for set_name in wanted:
    if set_name not in synthetic_sets.SYNTHETIC:
      ood_sources.spec(set_name)  # an unknown name fails here, before any set is read
  sets = _shared_sets(
    "ood",
    images,
    (name, seed, ood_count, wanted, ood_data_dir),
    lambda: _ood_images(wanted, images, name, seed, ood_count, ood_data_dir),
  )
  skipped = {k: v for k, v in sets.items() if isinstance(v, str)}
  sets = {k: v for k, v in sets.items() if not isinstance(v, str)}
  clean = _scores(subject.predictions.logits)
  arrays = {f"ood/{score}/in": clean[score] for score in ood_lib.SCORES}
  per_set = {}
  fpr_key = f"fpr_at_{round(tpr * 100)}tpr"
  for set_name, set_images in sets.items():
    scores = _scores(subject.logits(set_images))
    per_set[set_name] = {
      score: {
        "auroc": ood_lib.auroc(clean[score], scores[score]),
        fpr_key: ood_lib.fpr_at_tpr(clean[score], scores[score], tpr),
      }
      for score in ood_lib.SCORES
    }
    arrays |= {f"ood/{score}/{set_name}": scores[score] for score in ood_lib.SCORES}
  mean = {
    score: {
      metric: float(np.mean([entry[score][metric] for entry in per_set.values()])) for metric in ("auroc", fpr_key)
    }
    for score in ood_lib.SCORES
  }
  real = [s for s in per_set if s not in synthetic_sets.SYNTHETIC]
  other_domain = synthetic_sets.real_set_name(dataset_defaults.dataset_key(name))  # EL §4.4's (Fashion-)MNIST
  entry = {
    "sets": per_set,
    "real_set": other_domain if other_domain in per_set else (real[0] if real else None),
    "real_sets": real,
    "num_images": {s: len(x) for s, x in sets.items()},
    "mean": mean,
  }
  if skipped:
    entry["skipped_sets"] = skipped
  return {"ood": entry}, arrays


def corruptions(
  subject: Subject,
  *,
  corruption_set: str | None = None,
  corruption_data_dir: str | None = None,
  corruption_families: tuple | None = None,
  corruption_severity: int | None = None,
  corruption_subset: int | None = None,
) -> tuple[dict, dict]:
  """Accuracy on the corrupted first `corruption_subset` test images, per corruption family, and the mean over the
  families.

  `corruption_set` (default: the data set's, `dataset_defaults.corruption_set`) is `mnist_c`, the MNIST-C families
  computed on the fly at `corruption_severity` (None: MNIST-C's severity of each family), or a released set
  (`el_jax.data.corrupted`: cifar10_c, cifar100_c, tiny_imagenet_c, imagenet_c) read from `corruption_data_dir` at
  every severity 1-5 (or `corruption_severity` alone): each family's accuracy is its mean over the severities
  (`accuracy_by_severity` has each), `mean_accuracy` the mean over the families, as the papers report.
  `corruption_families` restricts the families (default: all). A released set whose files are missing skips the
  section with the reason; families missing from it are listed under `skipped_families`."""
  images = subject.images
  count = len(subject.test.take(corruption_subset))
  set_name = dataset_defaults.corruption_set(subject.inputs.name) if corruption_set is None else corruption_set
  if set_name == dataset_defaults.MNIST_C:
    return _mnist_c(subject, images, count, corruption_families, corruption_severity)
  try:
    source = corrupted.open_set(set_name, corruption_data_dir, seed=subject.seed)
  except FileNotFoundError as e:
    raise Skip(
      f"{e} as corruption_data_dir (--corruption_data_dir), or evaluate the MNIST-C families computed on "
      f"the fly with corruption_set='mnist_c'"
    ) from None
  families = corrupted.ALL_FAMILIES if corruption_families is None else tuple(corruption_families)
  unknown = sorted(set(families) - set(corrupted.ALL_FAMILIES))
  if unknown:
    raise ValueError(
      f"Unknown corruption families {unknown} for {set_name}; valid: {', '.join(corrupted.ALL_FAMILIES)}."
    )
  if corruption_severity is not None and corruption_severity not in corrupted.SEVERITIES:
    raise ValueError(f"corruption_severity must be one of 1..5 or None (all), got {corruption_severity}.")
  severities = corrupted.SEVERITIES if corruption_severity is None else (corruption_severity,)
  by_severity, skipped, num = {}, {}, 0
  for family in families:
    if family not in source.families:
      skipped[family] = f"not in the {set_name} release at {getattr(source, 'root', '')}"
      continue
    accuracies = []
    for severity in severities:
      x, y = source.load(family, severity, count)
      if y.max(initial=0) >= subject.inputs.num_classes:
        raise ValueError(f"{set_name} has labels up to {y.max()}; the model has {subject.inputs.num_classes} classes.")
      accuracies.append(metrics.accuracy(subject.logits(conform.conform(x, images.shape[1:])), y))
      num = len(y)
    by_severity[family] = accuracies
  if not by_severity:
    raise Skip(f"none of the families {list(families)} is in the {set_name} release")
  accuracy = {family: float(np.mean(values)) for family, values in by_severity.items()}
  entry = {
    "set": set_name,
    "severities": list(severities),
    "accuracy_by_severity": by_severity,
    "accuracy": accuracy,
    "mean_accuracy": float(np.mean(list(accuracy.values()))),
    "num_corrupted": num,
  }
  if all(f in accuracy for f in corrupted.FAMILIES):  # the benchmark's 15 families without the 4 extra ones
    entry["mean_accuracy_15"] = float(np.mean([accuracy[f] for f in corrupted.FAMILIES]))
  if skipped:
    entry["skipped_families"] = skipped
  return {"corruptions": entry}, {}


def _mnist_c(subject, images, count, families, severity) -> tuple[dict, dict]:
  """The MNIST-C families (`el_jax.evaluate.corruptions`) on the first `count` test images; family `i` of the full
  list takes seed `subject.seed + i` whichever families are chosen."""
  labels = subject.predictions.labels[:count]
  seed = subject.seed
  chosen = corruption_names() if families is None else list(families)
  unknown = sorted(set(chosen) - set(corruption_names()))
  if unknown:
    raise ValueError(f"Unknown MNIST-C families {unknown}; valid: {', '.join(corruption_names())}.")

  def build():
    return {
      family: corrupt(family, images[:count], seed=seed + index, severity=severity)
      for index, family in enumerate(corruption_names())
      if family in chosen
    }

  sets = _shared_sets("corruptions", images[:count], (seed, severity, tuple(chosen)), build)
  accuracy_by_family = {family: metrics.accuracy(subject.logits(x), labels) for family, x in sets.items()}
  entry = {
    "set": dataset_defaults.MNIST_C,
    "severity": {f: severity or DEFAULT_SEVERITY[f] for f in sets},
    "accuracy": accuracy_by_family,
    "mean_accuracy": float(np.mean(list(accuracy_by_family.values()))),
    "num_corrupted": count,
  }
  return {"corruptions": entry}, {}


def _dar_curve(clean_scores, correct, n, tpr) -> dict:
  """A robustness curve started at eps = 0: the clean robust accuracy and DAR of the first `n` samples."""
  curve = {"eps": [0.0], "robust_accuracy": [float(correct[:n].mean())]}
  for s in DAR_SCORES:
    curve[f"dar_{s}"] = [
      ood_lib.detection_accuracy_rate(clean_scores[s], correct, clean_scores[s][:n], correct[:n], tpr)
    ]
  return curve


def _add_point(curve, eps, adv_logits, labels, clean_scores, correct, tpr) -> None:
  adv_correct = np.asarray(metrics.correct(adv_logits, labels))
  adv_scores = _scores(adv_logits)
  curve["eps"].append(float(eps))
  curve["robust_accuracy"].append(float(adv_correct.mean()))
  for s in DAR_SCORES:
    curve[f"dar_{s}"].append(ood_lib.detection_accuracy_rate(clean_scores[s], correct, adv_scores[s], adv_correct, tpr))


def adversarial(
  subject: Subject,
  *,
  attack_subset: int | None = None,
  fgsm_eps: tuple | None = None,
  pgd_linf_eps: tuple | None = None,
  pgd_l2_eps: tuple | None = None,
  pgd_steps: int = 10,
  ensemble: str = "autoattack",
  ensemble_linf_eps: tuple | None = (),
  ensemble_l2_eps: tuple | None = (),
  tpr: float = 0.95,
) -> tuple[dict, dict]:
  """Robustness of the first `attack_subset` test images to FGSM, PGD-Linf and PGD-L2 in [0, 1] pixel space at
  each budget (an empty tuple skips an attack): robust accuracy and the detection accuracy rate (DAR, the rejection
  threshold accepting `tpr` of the correct clean samples) of MSP and max logit, from eps = 0 (the clean images).

  With `ensemble_linf_eps` or `ensemble_l2_eps`, the attack ensemble `ensemble` (`autoattack.ENSEMBLES`: the standard
  AutoAttack, or a cheaper subset such as `apgd-ce`) runs at each of those budgets: its section
  `<ensemble>_<norm>` has the overall robust accuracy, `robust_accuracy_after_<attack>` after each attack, and the
  DAR of the ensemble's adversarial examples (the clean image where no attack succeeded).

  A budget left None takes the data set's (`dataset_defaults.attack_budgets`: L_inf 0.3 and L_2 2 for MNIST,
  8/255 and 0.5 for CIFAR, Tiny ImageNet and ImageNet, HEM appendix A.1.2); the ensemble's default `()` runs none."""
  subject.require_images()
  budgets = dataset_defaults.attack_budgets(subject.inputs.name, subject.inputs.input_shape)
  fgsm_eps = budgets["fgsm_eps"] if fgsm_eps is None else fgsm_eps
  pgd_linf_eps = budgets["pgd_linf_eps"] if pgd_linf_eps is None else pgd_linf_eps
  pgd_l2_eps = budgets["pgd_l2_eps"] if pgd_l2_eps is None else pgd_l2_eps
  ensemble_linf_eps = (budgets["linf_eps"],) if ensemble_linf_eps is None else ensemble_linf_eps
  ensemble_l2_eps = (budgets["l2_eps"],) if ensemble_l2_eps is None else ensemble_l2_eps
  attacked = subject.test.take(attack_subset)
  clean = subject.predictions
  correct = np.asarray(metrics.correct(clean.logits, clean.labels))
  clean_scores = _scores(clean.logits)
  n = len(attacked)
  section = {}
  for attack, eps_values in {"fgsm": fgsm_eps, "pgd_linf": pgd_linf_eps, "pgd_l2": pgd_l2_eps}.items():
    if not eps_values:
      continue
    kwargs = {} if attack == "fgsm" else {"steps": pgd_steps}
    adv_logits = inference.adversarial_logits(
      subject.classifier,
      attacked,
      attack,
      eps_values,
      seed=subject.seed,
      batch_size=subject.batch_size,
      transforms=subject.inputs.eval_transforms,
      **kwargs,
    )
    curve = _dar_curve(clean_scores, correct, n, tpr)
    for eps, adv in zip(eps_values, adv_logits, strict=True):
      _add_point(curve, eps, adv, clean.labels[:n], clean_scores, correct, tpr)
    curve["num_attacked"] = n
    if attack != "fgsm":
      curve["steps"] = pgd_steps
    section[attack] = curve
  for norm, eps_values in {"linf": ensemble_linf_eps, "l2": ensemble_l2_eps}.items():
    if eps_values:
      section[f"{ensemble}_{norm}"] = _ensemble_curve(subject, ensemble, norm, eps_values, n, clean_scores, tpr)
  return {"adversarial": section}, {}


def _ensemble_curve(subject, ensemble, norm, eps_values, n, clean_scores, tpr) -> dict:
  clean = subject.predictions
  correct = np.asarray(metrics.correct(clean.logits, clean.labels))
  images = subject.images[:n].astype(np.float32) / 255.0  # after the evaluation transforms, as the model sees them
  curve = _dar_curve(clean_scores, correct, n, tpr)
  after = {}
  for eps in eps_values:
    fn, params = subject.classifier.logits_fn, subject.classifier.params
    result = autoattack.run(
      fn,
      params,
      images,
      clean.labels[:n],
      eps=float(eps),
      norm=norm,
      ensemble=ensemble,
      seed=subject.seed,
      batch_size=subject.batch_size,
    )
    adv_logits = inference.logits(subject.classifier, result.adv, batch_size=subject.batch_size)
    _add_point(curve, eps, adv_logits, clean.labels[:n], clean_scores, correct, tpr)
    for attack in result.attacks:
      after.setdefault(attack, [curve["robust_accuracy"][0]]).append(result.robust_accuracy[attack])
  curve |= {f"robust_accuracy_after_{attack}": values for attack, values in after.items()}
  curve |= {"attacks": ", ".join(result.attacks), "num_attacked": n}
  return curve


# ---- Features --------------------------------------------------------------------------------------------------
def probe(subject: Subject, *, probe_train_subset: int | None = None) -> tuple[dict, dict]:
  """The linear probe (EL §4.3): a linear classifier trained on the frozen features of the first
  `probe_train_subset` training examples, tested on the test examples' (`probe.linear_probe`)."""
  subject.require_example_labels()
  if not probe_lib.has_linear_head(subject.model):
    raise Skip(f"needs the model's last linear layer as `head`; {type(subject.model).__name__} has none")
  train = subject.inputs.train.take(probe_train_subset)
  if len(train) < probe_lib.Recipe.batch_size:
    raise Skip(f"needs at least {probe_lib.Recipe.batch_size} training examples (one batch); the run has {len(train)}")
  entry = probe_lib.linear_probe(
    subject.model,
    subject.inputs.normalization,
    train,
    subject.test,
    batch_size=subject.batch_size,
    transforms=subject.inputs.eval_transforms,
  )
  return {"probe": entry}, {}


def crt(subject: Subject, *, crt_train_subset: int | None = None) -> tuple[dict, dict]:
  """Classifier re-training (CRT; Kang et al., 2020; EL Table 3): the model's `head` re-initialised and re-trained
  on the frozen features of the first `crt_train_subset` training examples with class-balanced sampling
  (`probe.CRT_RECIPE`); the test accuracy of the re-trained classifier, overall and many/medium/few-shot."""
  subject.require_example_labels()
  if not probe_lib.has_linear_head(subject.model):
    raise Skip(f"needs the model's last linear layer as `head`; {type(subject.model).__name__} has none")
  train, recipe = subject.inputs.train.take(crt_train_subset), probe_lib.CRT_RECIPE
  if len(train) < recipe.batch_size:
    raise Skip(f"needs at least {recipe.batch_size} training examples (one batch); the run has {len(train)}")
  params, _, test_out = probe_lib.retrained_classifier(
    subject.model,
    subject.inputs.normalization,
    train,
    subject.test,
    recipe=recipe,
    batch_size=subject.batch_size,
    transforms=subject.inputs.eval_transforms,
  )
  logits = np.asarray(test_out.logits @ params["w"] + params["b"])
  counts = data.class_counts(train)
  entry = {
    "top1": metrics.accuracy(logits, test_out.labels),
    "shot": metrics.shot_accuracy(logits, test_out.labels, counts),
    "num_train": len(train),
    "recipe": dataclasses.asdict(recipe),
  }
  return {"crt": entry}, {}


# ---- Translation -----------------------------------------------------------------------------------------------
def bleu(subject: Subject, *, bleu_beams: tuple = (1, 5)) -> tuple[dict, dict]:
  """Corpus BLEU of the model's translations of the test sentences (`bleu.translation_bleu`), for each beam size
  of `bleu_beams` (1: greedy; the EL paper's is 5, length penalty 1): tokenised, the BPE removed, as fairseq
  scores it (EL appendix B.1). Each `beam<k>` entry has the score, the n-gram precisions, the brevity penalty and
  the hypothesis and reference lengths in tokens."""
  source = subject.inputs.eval
  if not (isinstance(subject.model, transformer.Transformer) and hasattr(source, "target_dictionary")):
    raise Skip(f"needs a translation model and sentence pairs; {subject.inputs.name} is not a translation run")
  if not bleu_beams:
    raise Skip("no beam size given (bleu_beams is empty)")
  entry = {}
  for beam in bleu_beams:
    score, _ = bleu_lib.translation_bleu(subject.model, source, beam_size=int(beam), count=subject.test_subset)
    entry[f"beam{int(beam)}"] = {
      "score": score.score,
      "precisions": list(score.precisions),
      "brevity_penalty": score.brevity_penalty,
      "hypothesis_length": score.hypothesis_length,
      "reference_length": score.reference_length,
    }
  return {"bleu": entry}, {}


# ---- The registry ----------------------------------------------------------------------------------------------
EVALUATORS = {
  fn.__name__: fn
  for fn in (accuracy, calibration, margins, gradient_weight, ood, corruptions, adversarial, probe, crt, bleu)
}  # in the order of the report's sections


def names() -> list[str]:
  """The evaluator names, in the order of the report's sections."""
  return list(EVALUATORS)


def get(name: str):
  """The evaluator `name`; a ValueError naming the valid ones if there is none."""
  try:
    return EVALUATORS[name]
  except KeyError:
    raise ValueError(f"Unknown evaluator {name!r}. Valid: {', '.join(names())}.") from None


def options(name: str) -> dict:
  """The options of evaluator `name` and their defaults."""
  parameters = inspect.signature(get(name)).parameters.values()
  return {p.name: p.default for p in parameters if p.kind is p.KEYWORD_ONLY}


def check_options(name: str, given, *, also=()) -> None:
  """Raises a ValueError for entries of `given` that are neither options of evaluator `name` nor in `also`."""
  valid = [*options(name), *also]
  unknown = sorted(set(given) - set(valid))
  if unknown:
    raise ValueError(f"Unknown option(s) {unknown} for evaluator {name!r}. Valid: {', '.join(valid) or 'none'}.")


def run(name: str, subject: Subject, opts: dict | None = None) -> tuple[dict, dict, float]:
  """`(entries, arrays, seconds)` of evaluator `name` on `subject` with options `opts` (checked; the rest default).

  Raises:
    Skip: if the evaluator does not apply to the subject.
  """
  opts = dict(opts or {})
  check_options(name, opts)
  start = time.perf_counter()
  entries, arrays = get(name)(subject, **opts)
  return entries, arrays, time.perf_counter() - start
