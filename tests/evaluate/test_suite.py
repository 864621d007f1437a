"""The evaluation after training: `Options` select the evaluators and carry their options; `run` evaluates the run's
whole evaluation split (or `test_subset` of it), read with the config's dataset options, and records what it skips."""

import dataclasses

import numpy as np
import pytest

from el_jax import data, models
from el_jax.evaluate import evaluators, suite


def test_options_hold_every_evaluator_option_with_its_default():
  fields = {f.name: f.default for f in dataclasses.fields(suite.Options)}
  for name in evaluators.names():
    for option, default in evaluators.options(name).items():
      assert fields[option] == default, (name, option)


def test_options_switch_evaluators_off_and_pass_each_its_own_options():
  assert list(suite.Options().evaluators()) == [name for name in evaluators.names() if name != "crt"]  # CRT: opt-in
  assert list(suite.Options(crt=True).evaluators()) == evaluators.names()
  chosen = suite.Options(corruptions=False, probe=False, gradient_weights=False, ood_count=7, tpr=0.9).evaluators()
  assert list(chosen) == ["accuracy", "calibration", "margins", "ood", "adversarial", "bleu"]
  assert (
    chosen["ood"] == {"ood_sets": None, "ood_data_dir": None, "ood_count": 7, "tpr": 0.9}
    and chosen["adversarial"]["tpr"] == 0.9
  )
  assert chosen["accuracy"] == {}


def _config(eval_subset=None):
  return {
    "dataset": {"name": "uci_digits", "eval_split": "test", "eval_subset": eval_subset, "normalize": False},
    "loss": {"name": "cross_entropy"},
    "model": {"name": "mlp"},
  }


@pytest.fixture(scope="module")
def model():
  return models.create("mlp", num_classes=10, input_shape=(64,), depth=1, width=12)


def test_run_on_feature_vectors_reports_what_applies_and_skips_the_rest(model):
  options = suite.Options(test_subset=50, batch_size=16, probe=False, gradient_weights=False)
  report, arrays = suite.run(model, _config(eval_subset=20), options)
  test = data.load("uci_digits", "test").take(50)  # eval_subset only shortens the per-epoch check
  logits = np.asarray(model(test.images))
  assert report["num_test"] == 50 and report["dataset"] == "uci_digits" and report["split"] == "test"
  assert report["accuracy"]["top1"] == pytest.approx(np.mean(logits.argmax(1) == test.labels))
  assert list(report) == [
    "dataset",
    "split",
    "num_test",
    "loss",
    "model",
    "options",
    "accuracy",
    "calibration",
    "margins",
    "energy",
    "skipped",
    "timing_seconds",
  ]
  reason = "needs image inputs; uci_digits has feature vectors of shape [64]"
  bleu = "needs a translation model and sentence pairs; uci_digits is not a translation run"
  assert report["skipped"] == {"ood": reason, "corruptions": reason, "adversarial": reason, "bleu": bleu}
  assert set(arrays) == {"margins", "energy"} and len(arrays["margins"]) == 50
  assert set(report["timing_seconds"]) == {"clean", "accuracy", "calibration", "margins"}


def test_run_without_test_subset_evaluates_the_whole_split(model):
  options = suite.Options(probe=False, gradient_weights=False, corruptions=False)
  report, _ = suite.run(model, _config(eval_subset=20), options)
  assert report["num_test"] == len(data.load("uci_digits", "test"))
  assert sum(report["calibration"]["reliability"]["count"]) == report["num_test"]
