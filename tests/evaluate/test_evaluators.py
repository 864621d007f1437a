"""The evaluator registry and each evaluator's section against numpy, scipy and scikit-learn computed here from the
model's own outputs (the model called directly, not through the evaluation code); evaluators that need images skip
tokens and feature vectors with the reason."""

import dataclasses

import jax
import numpy as np
import optax
import pytest
from scipy import special
from sklearn import metrics as sk_metrics

from el_jax import models
from el_jax.data.arrays import ArrayDataset
from el_jax.evaluate import autoattack, corruptions, evaluators, inference, ood, ood_sets, probe
from el_jax.evaluate.subject import Skip, Subject
from el_jax.train import setup

K = 3
MEAN, STD = (0.4,), (0.25,)


def _inputs(images, labels, train_labels, *, name="fake", normalization=(MEAN, STD)):
  train_images = np.random.default_rng(5).integers(0, 256, (len(train_labels), *images.shape[1:]), dtype=np.uint8)
  return setup.Inputs(
    name=name,
    options={},
    train=ArrayDataset(train_images, train_labels, K, name=f"{name}/train"),
    eval=ArrayDataset(images, labels, K, name=f"{name}/test"),
    normalization=normalization,
    train_transforms=(),
    eval_transforms=(),
    input_shape=list(images.shape[1:]),
    num_classes=K,
  )


@pytest.fixture(scope="module")
def problem():
  """A small MLP on 40 random 6x6 images; half the labels are its prediction, half are not (accuracy 1/2)."""
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (40, 6, 6, 1), dtype=np.uint8)
  model = models.create("mlp", num_classes=K, input_shape=(6, 6, 1), depth=1, width=16, seed=3)
  model.eval()
  logits = np.asarray(model((images / 255.0 - MEAN[0]) / STD[0]), np.float64)
  predicted = logits.argmax(1)
  labels = np.where(np.arange(40) % 2 == 0, predicted, (predicted + 1) % K).astype(np.int32)
  train_labels = np.array([0] * 150 + [1] * 50 + [2] * 10, np.int32)  # many-, medium- and few-shot classes
  return model, images, labels, logits, _inputs(images, labels, train_labels)


def _subject(problem, **kwargs):
  model, _, _, _, inputs = problem
  return Subject(model, inputs, {"name": "cross_entropy"}, batch_size=16, **kwargs)


def _pixels_logits(model, images):
  return np.asarray(model((images / 255.0 - MEAN[0]) / STD[0]), np.float64)


# ---- The registry --------------------------------------------------------------------------------------------
def test_the_registry_lists_the_evaluators_in_the_report_order_with_their_options():
  assert evaluators.names() == [
    "accuracy",
    "calibration",
    "margins",
    "gradient_weight",
    "ood",
    "corruptions",
    "adversarial",
    "probe",
    "crt",
    "bleu",
  ]
  assert evaluators.options("bleu") == {"bleu_beams": (1, 5)}
  assert evaluators.options("ood") == {"ood_sets": None, "ood_data_dir": None, "ood_count": None, "tpr": 0.95}
  assert evaluators.options("accuracy") == {}
  assert set(evaluators.options("adversarial")) == {
    "attack_subset",
    "fgsm_eps",
    "pgd_linf_eps",
    "pgd_l2_eps",
    "pgd_steps",
    "ensemble",
    "ensemble_linf_eps",
    "ensemble_l2_eps",
    "tpr",
  }


def test_an_option_shared_by_evaluators_has_one_default():
  seen = {}
  for name in evaluators.names():
    for option, default in evaluators.options(name).items():
      assert seen.setdefault(option, default) == default, option


def test_unknown_evaluators_and_options_name_the_valid_ones():
  with pytest.raises(ValueError, match="Unknown evaluator 'oood'. Valid: accuracy, calibration, margins"):
    evaluators.get("oood")
  with pytest.raises(
    ValueError,
    match=r"Unknown option\(s\) \['count'\] for evaluator 'ood'. Valid: ood_sets, ood_data_dir, ood_count, tpr",
  ):
    evaluators.check_options("ood", {"count": 3})
  with pytest.raises(ValueError, match="Valid: none"):
    evaluators.run("accuracy", None, {"num_bins": 3})


# ---- Any inputs ----------------------------------------------------------------------------------------------
def test_accuracy_section(problem):
  _, _, labels, logits, _ = problem
  entries, arrays, _ = evaluators.run("accuracy", _subject(problem))
  section = entries["accuracy"]
  assert arrays == {} and section["top1"] == 0.5
  nll = special.logsumexp(logits, axis=1) - logits[np.arange(40), labels]
  assert section["nll"] == pytest.approx(nll.mean(), rel=1e-5)
  hits = logits.argmax(1) == labels
  assert section["per_class"] == pytest.approx([hits[labels == c].mean() for c in range(K)])
  # Class 0 has 150 training examples (many-shot), class 1 50 (medium), class 2 10 (few).
  expected = {g: hits[labels == c].mean() for g, c in (("many", 0), ("medium", 1), ("few", 2))}
  assert section["shot"] == pytest.approx(expected, nan_ok=True)


def test_calibration_section_is_the_binned_gap_between_confidence_and_accuracy(problem):
  _, _, labels, logits, _ = problem
  section = evaluators.run("calibration", _subject(problem), {"num_bins": 5})[0]["calibration"]
  probs = special.softmax(logits, axis=1)
  confidence, hits = probs.max(1), probs.argmax(1) == labels
  ece = 0.0
  for lo, hi in zip(np.linspace(0, 1, 6)[:-1], np.linspace(0, 1, 6)[1:], strict=True):
    chosen = (confidence > lo) & (confidence <= hi)
    if chosen.any():
      ece += chosen.mean() * abs(hits[chosen].mean() - confidence[chosen].mean())
  assert section["num_bins"] == 5 and section["ece"] == pytest.approx(ece, abs=1e-6)
  assert sum(section["reliability"]["count"]) == 40


def test_margins_section_and_arrays(problem, monkeypatch):
  _, _, labels, logits, _ = problem
  entries, arrays, _ = evaluators.run("margins", _subject(problem))
  target = logits[np.arange(40), labels]
  others = np.where(np.eye(K, dtype=bool)[labels], -np.inf, logits).max(1)
  np.testing.assert_allclose(arrays["margins"], target - others, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(arrays["energy"], -target, rtol=1e-5, atol=1e-5)
  assert entries["margins"]["q50"] == pytest.approx(np.median(target - others), abs=1e-5)
  assert entries["energy"]["on_data"] == pytest.approx(-target.mean(), abs=1e-5)
  row = [-logits[labels == 1, k].mean() for k in range(K)]
  np.testing.assert_allclose(entries["energy"]["class_energy"][1], row, rtol=1e-5, atol=1e-5)
  monkeypatch.setattr(evaluators, "CLASS_ENERGY_MAX_CLASSES", K - 1)
  assert "class_energy" not in evaluators.run("margins", _subject(problem))[0]["energy"]


def test_gradient_weight_section_has_the_runs_loss_and_names_the_losses_it_cannot_draw(problem):
  subject = Subject(problem[0], problem[4], {"name": "encouraging_loss", "log_end": 1.0})
  section = evaluators.run("gradient_weight", subject)[0]["gradient_weight"]
  p = np.asarray(section["curves"]["p_y"])
  np.testing.assert_allclose(section["curves"]["cross_entropy"], 1 - p, atol=1e-4)
  np.testing.assert_allclose(section["curves"]["encouraging_loss (this run)"], np.ones_like(p), atol=1e-3)
  assert section["skipped"]["hem_loss"] == "Loss 'hem_loss' needs hyper-parameter(s) ['margin']"


# ---- Images --------------------------------------------------------------------------------------------------
def test_ood_section_against_scikit_learn(problem):
  model, images, _, logits, _ = problem
  entries, arrays, _ = evaluators.run("ood", _subject(problem), {"ood_count": 30, "tpr": 0.9})
  section = entries["ood"]
  assert list(section["sets"]) == list(ood_sets.SYNTHETIC) and section["real_set"] is None
  msp_in = special.softmax(logits, axis=1).max(1)
  np.testing.assert_allclose(arrays["ood/msp/in"], msp_in, rtol=1e-5)
  aurocs = []
  for set_name, set_images in ood_sets.build("fake", images, seed=0, count=30).items():
    out = _pixels_logits(model, set_images)
    msp_out = special.softmax(out, axis=1).max(1)
    expected = sk_metrics.roc_auc_score(np.r_[np.ones(40), np.zeros(30)], np.r_[msp_in, msp_out])
    assert section["sets"][set_name]["msp"]["auroc"] == pytest.approx(expected, abs=1e-6)
    np.testing.assert_allclose(arrays[f"ood/max_logit/{set_name}"], out.max(1), rtol=1e-5, atol=1e-5)
    aurocs.append(expected)
    assert set(section["sets"][set_name]["msp"]) == {"auroc", "fpr_at_90tpr"}
  assert section["mean"]["msp"]["auroc"] == pytest.approx(np.mean(aurocs), abs=1e-6)


def test_corruptions_section(problem):
  model, images, labels, _, _ = problem
  entries = evaluators.run("corruptions", _subject(problem, seed=4), {"corruption_subset": 20})[0]
  section = entries["corruptions"]
  assert section["num_corrupted"] == 20 and section["severity"] == corruptions.DEFAULT_SEVERITY
  for index, family in enumerate(corruptions.names()):
    corrupted = corruptions.corrupt(family, images[:20], seed=4 + index)
    expected = np.mean(_pixels_logits(model, corrupted).argmax(1) == labels[:20])
    assert section["accuracy"][family] == pytest.approx(expected), family
  assert section["mean_accuracy"] == pytest.approx(np.mean(list(section["accuracy"].values())))


def test_adversarial_section_fgsm_in_pixel_space(problem):
  model, images, labels, logits, _ = problem
  options = {"attack_subset": 30, "fgsm_eps": (0.1,), "pgd_linf_eps": (), "pgd_l2_eps": ()}
  section = evaluators.run("adversarial", _subject(problem), options)[0]["adversarial"]
  assert list(section) == ["fgsm"]
  curve = section["fgsm"]
  x = images[:30].astype(np.float32) / 255.0

  def loss(pixels):
    return optax.softmax_cross_entropy_with_integer_labels(model((pixels - MEAN[0]) / STD[0]), labels[:30]).sum()

  adv = np.clip(x + 0.1 * np.sign(np.asarray(jax.grad(loss)(x))), 0.0, 1.0)
  robust = np.mean(np.asarray(model((adv - MEAN[0]) / STD[0])).argmax(1) == labels[:30])
  assert curve["eps"] == [0.0, 0.1] and curve["num_attacked"] == 30
  assert curve["robust_accuracy"] == pytest.approx([np.mean(logits[:30].argmax(1) == labels[:30]), robust])
  assert len(curve["dar_msp"]) == len(curve["dar_max_logit"]) == 2
  assert evaluators.run("adversarial", _subject(problem), {"fgsm_eps": (), "pgd_linf_eps": (), "pgd_l2_eps": ()})[
    0
  ] == {"adversarial": {}}


def test_adversarial_section_of_an_attack_ensemble(problem):
  # APGD-CE on the MLP at one budget: its curve has the report's keys; the robust accuracy is that of the model on
  # the ensemble's own adversarial examples (recomputed here), and the DAR lists follow the budgets.
  model, images, labels, logits, _ = problem
  options = {"attack_subset": 20, "fgsm_eps": (), "pgd_linf_eps": (), "pgd_l2_eps": ()}
  options |= {"ensemble": "apgd-ce", "ensemble_linf_eps": (0.05,)}
  subject = _subject(problem)
  section = evaluators.run("adversarial", subject, options)[0]["adversarial"]
  assert list(section) == ["apgd-ce_linf"]
  curve = section["apgd-ce_linf"]
  assert curve["eps"] == [0.0, 0.05] and curve["num_attacked"] == 20 and curve["attacks"] == "apgd-ce"
  clean = np.mean(logits[:20].argmax(1) == labels[:20])
  result = autoattack.run(
    subject.classifier.logits_fn,
    subject.classifier.params,
    images[:20] / np.float32(255),
    labels[:20],
    eps=0.05,
    ensemble="apgd-ce",
    batch_size=16,
  )
  adv_logits = _pixels_logits(model, result.adv * 255.0)
  robust = np.mean(adv_logits.argmax(1) == labels[:20])
  assert curve["robust_accuracy"] == pytest.approx([clean, robust])
  assert curve["robust_accuracy_after_apgd-ce"] == curve["robust_accuracy"]
  # DAR under the ensemble: the max-logit threshold accepting 95% of the correct clean samples (all 40), applied to
  # the ensemble's adversarial examples.
  correct = logits.argmax(1) == labels
  threshold = ood.threshold_at_tpr(logits.max(1)[correct], 0.95)
  dar = np.mean((adv_logits.max(1) >= threshold) == (adv_logits.argmax(1) == labels[:20]))
  assert curve["dar_max_logit"][1] == pytest.approx(dar) and len(curve["dar_msp"]) == 2
  with pytest.raises(ValueError, match="Unknown attack ensemble 'aa'. Valid: autoattack, apgd-ce"):
    evaluators.run("adversarial", subject, options | {"ensemble": "aa"})


# ---- Features --------------------------------------------------------------------------------------------------
def test_probe_section_and_its_skips(problem):
  with pytest.raises(Skip, match="needs at least 256 training examples \\(one batch\\); the run has 210"):
    evaluators.run("probe", _subject(problem))
  model, images, labels, _, _ = problem
  inputs = _inputs(images, labels, np.arange(300, dtype=np.int32) % K)
  section = evaluators.run("probe", Subject(model, inputs, {}), {"probe_train_subset": 280})[0]["probe"]
  assert (section["num_train"], section["feature_dim"]) == (280, 16)
  assert 0.0 <= section["test_accuracy"] <= 1.0


def test_crt_section_and_its_skips(problem):
  """CRT's section: the re-trained classifier's accuracy, overall and per shot group, against the accuracy of the
  classifier `probe.train_linear` gives with the CRT recipe on features computed here. The training labels are the
  model's own predictions, a linear function of its features, so that the re-trained classifier is well defined."""
  with pytest.raises(Skip, match="needs at least 512 training examples \\(one batch\\); the run has 210"):
    evaluators.run("crt", _subject(problem))
  model, images, labels, _, _ = problem
  train_images = np.random.default_rng(5).integers(0, 256, (600, *images.shape[1:]), dtype=np.uint8)  # as `_inputs`
  train_labels = _pixels_logits(model, train_images).argmax(1).astype(np.int32)
  inputs = _inputs(images, labels, train_labels)
  section = evaluators.run("crt", Subject(model, inputs, {}))[0]["crt"]
  extractor = probe.feature_classifier(model, None)
  features = np.asarray(extractor.logits_fn(extractor.params, (train_images / 255.0 - MEAN[0]) / STD[0]))
  params = probe.train_linear(features, train_labels, K, probe.CRT_RECIPE)
  test_features = np.asarray(extractor.logits_fn(extractor.params, (images / 255.0 - MEAN[0]) / STD[0]))
  assert section["top1"] == pytest.approx(probe.accuracy(params, test_features, labels), abs=1 / 40)
  assert set(section["shot"]) == {"many", "medium", "few"} and section["num_train"] == 600


# ---- Inputs other than images ----------------------------------------------------------------------------------
def test_evaluators_that_need_images_skip_tokens_and_features_saying_why(problem):
  model, images, labels, _, inputs = problem
  tokens = dataclasses.replace(inputs, name="text:reviews", input_shape={"tokens": [12]})
  for name in ("ood", "corruptions", "adversarial"):
    with pytest.raises(Skip, match="^needs image inputs; text:reviews has tokens$"):
      evaluators.run(name, Subject(model, tokens, {}))
  features = dataclasses.replace(inputs, name="uci:iris", input_shape=[4])
  with pytest.raises(Skip, match="needs image inputs; uci:iris has feature vectors of shape \\[4\\]"):
    evaluators.run("ood", Subject(model, features, {}))


def test_the_probe_skips_per_token_labels(problem):
  model, _, _, _, inputs = problem
  subject = Subject(model, dataclasses.replace(inputs, name="translation:iwslt14_de_en"), {})
  subject.__dict__["predictions"] = inference.Predictions(np.zeros((7, K)), np.zeros(7, np.int32), 2, per_token=True)
  with pytest.raises(Skip, match="needs one label per example; translation:iwslt14_de_en has per-token labels"):
    evaluators.run("probe", subject)
