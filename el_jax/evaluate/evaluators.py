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
  corruptions      accuracy on the MNIST-C corruption families                              images
  adversarial      FGSM, PGD and AutoAttack robust accuracy and detection accuracy rate (DAR)  images
  probe            a linear probe on the frozen features of the model's `head`              one label per example
  crt              classifier re-training with class-balanced sampling (CRT), with shot accuracy  one label per example
  bleu             corpus BLEU of greedy and beam-search translations of the test sentences  translations
  segmentation     mean IoU, per-class IoU and pixel accuracy over the valid pixels         per-pixel label maps

Per-token labels (translation) count every unmasked token as one example (accuracy, calibration, margins).
Per-pixel labels (semantic segmentation) are scored by `segmentation` alone (and `gradient_weight`, which reads the
loss only): the evaluators of one label per example or per token skip them (`Subject.per_pixel`).
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
from el_jax.data import segmentation as segmentation_data
from el_jax.evaluate import autoattack, inference, metrics, ood_sets
from el_jax.evaluate import bleu as bleu_lib
from el_jax.evaluate import gradient_weight as gradient_weight_lib
from el_jax.evaluate import margins as margins_lib
from el_jax.evaluate import ood as ood_lib
from el_jax.evaluate import probe as probe_lib
from el_jax.evaluate import segmentation as segmentation_lib
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
    array.setflags(write=False)
  _SHARED_SETS[key] = sets
  while len(_SHARED_SETS) > _SHARED_SETS_KEPT:
    _SHARED_SETS.popitem(last=False)
  return sets


def ood(subject: Subject, *, ood_count: int | None = None, tpr: float = 0.95) -> tuple[dict, dict]:
  """OOD rejection: AUROC and FPR at `tpr` of each score (`ood.SCORES`) between the test images and each OOD set
  (`ood_sets.build`: four synthetic sets made from the first `ood_count` test images, and the other domain's real
  images), and their mean over the sets."""
  images = subject.images
  name, seed = subject.inputs.name, subject.seed
  sets = _shared_sets(
    "ood", images, (name, seed, ood_count), lambda: ood_sets.build(name, images, seed=seed, count=ood_count)
  )
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
  return {"ood": {"sets": per_set, "real_set": ood_sets.real_set_name(name), "mean": mean}}, arrays


def corruptions(
  subject: Subject, *, corruption_severity: int | None = None, corruption_subset: int | None = None
) -> tuple[dict, dict]:
  """Accuracy on each MNIST-C corruption family applied to the first `corruption_subset` test images, at
  `corruption_severity` (None: MNIST-C's severity of each family), and the mean over the families."""
  images = subject.images
  count = len(subject.test.take(corruption_subset))
  labels = subject.predictions.labels[:count]
  seed = subject.seed

  def build():
    return {
      family: corrupt(family, images[:count], seed=seed + index, severity=corruption_severity)
      for index, family in enumerate(corruption_names())
    }

  families = _shared_sets("corruptions", images[:count], (seed, corruption_severity), build)
  accuracy_by_family = {family: metrics.accuracy(subject.logits(x), labels) for family, x in families.items()}
  entry = {
    "severity": {f: corruption_severity or DEFAULT_SEVERITY[f] for f in corruption_names()},
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
  fgsm_eps: tuple = (0.01, 0.02, 0.05, 0.1, 0.2),
  pgd_linf_eps: tuple = (0.1,),
  pgd_l2_eps: tuple = (1.0,),
  pgd_steps: int = 10,
  ensemble: str = "autoattack",
  ensemble_linf_eps: tuple = (),
  ensemble_l2_eps: tuple = (),
  tpr: float = 0.95,
) -> tuple[dict, dict]:
  """Robustness of the first `attack_subset` test images to FGSM, PGD-Linf and PGD-L2 in [0, 1] pixel space at
  each budget (an empty tuple skips an attack): robust accuracy and the detection accuracy rate (DAR, the rejection
  threshold accepting `tpr` of the correct clean samples) of MSP and max logit, from eps = 0 (the clean images).

  With `ensemble_linf_eps` or `ensemble_l2_eps`, the attack ensemble `ensemble` (`autoattack.ENSEMBLES`: the standard
  AutoAttack, or a cheaper subset such as `apgd-ce`) runs at each of those budgets: its section
  `<ensemble>_<norm>` has the overall robust accuracy, `robust_accuracy_after_<attack>` after each attack, and the
  DAR of the ensemble's adversarial examples (the clean image where no attack succeeded)."""
  subject.require_images()
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


# ---- Semantic segmentation -------------------------------------------------------------------------------------
def segmentation(subject: Subject) -> tuple[dict, dict]:
  """Semantic segmentation (HEM §5.4, A.4.2): the confusion matrix of the model's per-pixel argmax against the label
  maps over the valid pixels of the test images (padding and ignored pixels left out), and from it the mean IoU over
  the classes whose union is non-empty, the IoU of each class (NaN: neither labelled nor predicted) and the pixel
  accuracy (`el_jax.evaluate.segmentation`). The batches hold at most `segmentation.MAX_BATCH_PIXELS` pixels (and
  at most the subject's batch size of images): whole padded images are much larger than a classifier's inputs."""
  if not subject.per_pixel:
    raise Skip(f"needs per-pixel label maps; {subject.inputs.name} has one label per example or per token")
  num_classes, test, transforms = subject.inputs.num_classes, subject.test, subject.inputs.eval_transforms
  confusion, num_images = segmentation_lib.confusion_of_source(
    subject.classifier,
    test,
    num_classes,
    batch_size=segmentation_lib.batch_size_for(test, transforms, subject.batch_size),
    transforms=transforms,
  )
  entry = segmentation_lib.scores(confusion) | {"num_images": num_images}
  dataset = segmentation_data.dataset_of(subject.inputs.name)
  if dataset in segmentation_data.CLASS_NAMES:
    entry["class_names"] = list(segmentation_data.CLASS_NAMES[dataset])
  return {"segmentation": entry}, {"segmentation/confusion": confusion}


# ---- The registry ----------------------------------------------------------------------------------------------
EVALUATORS = {
  fn.__name__: fn
  for fn in (
    accuracy,
    calibration,
    margins,
    gradient_weight,
    ood,
    corruptions,
    adversarial,
    probe,
    crt,
    bleu,
    segmentation,
  )
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
