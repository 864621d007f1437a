"""config.evals: checked before training, due after the epochs it names, and its figures flattened to
`eval/<evaluator>/<path>` (checked against scikit-learn and numpy on the model's own outputs)."""

import ml_collections
import numpy as np
import pytest
from scipy import special
from sklearn import metrics as sk_metrics

from el_jax import models
from el_jax.data.arrays import ArrayDataset
from el_jax.evaluate import during_training, ood_sets
from el_jax.train import setup


def test_check_evals_returns_plain_dicts_from_a_config_dict():
  evals = ml_collections.ConfigDict({"ood": {"every_epochs": 2, "ood_count": 50}, "calibration": {"every_epochs": 1}})
  checked = during_training.check_evals(evals)
  assert checked == {"ood": {"every_epochs": 2, "ood_count": 50}, "calibration": {"every_epochs": 1}}
  assert type(checked["ood"]) is dict
  assert during_training.check_evals(ml_collections.ConfigDict()) == {} == during_training.check_evals(None)


@pytest.mark.parametrize(
  "evals, message",
  [
    ({"oood": {"every_epochs": 1}}, "Unknown evaluator 'oood'. Valid: accuracy, calibration, margins, gradient_weight"),
    (
      {"ood": {"every_epochs": 1, "count": 5}},
      r"Unknown option\(s\) \['count'\] for evaluator 'ood'. Valid: ood_sets, ood_data_dir, ood_count",
    ),
    ({"ood": {"ood_count": 5}}, "config.evals.ood.every_epochs must be a positive integer, got None"),
    ({"ood": {"every_epochs": 0}}, "must be a positive integer, got 0"),
    ({"ood": {"every_epochs": 1.5}}, "must be a positive integer, got 1.5"),
    ({"ood": {"every_epochs": True}}, "must be a positive integer, got True"),
  ],
)
def test_bad_evals_are_named(evals, message):
  with pytest.raises(ValueError, match=message):
    during_training.check_evals(evals)


def test_the_test_set_options_are_valid_for_every_evaluator():
  evals = {"accuracy": {"every_epochs": 1, "test_subset": 10, "batch_size": 5}}
  assert during_training.check_evals(evals) == evals


def test_due_after_the_multiples_of_every_epochs():
  evals = {"ood": {"every_epochs": 2}, "calibration": {"every_epochs": 3}}
  assert [sorted(during_training.due(evals, epoch)) for epoch in range(1, 7)] == [
    [],
    ["ood"],
    ["calibration"],
    ["ood"],
    [],
    ["calibration", "ood"],
  ]


def test_flat_metrics_keep_the_floats_and_give_curves_one_value_per_budget():
  section = {
    "top1": 0.5,
    "count": 7,  # an integer: a count, not a figure
    "per_class": [0.1, 0.2],
    "shot": {"many": 0.25, "few": float("nan")},
    "fgsm": {"eps": [0.0, 0.1], "robust_accuracy": [0.9, 0.4], "num_attacked": 10},
    "name": "x",
  }
  assert during_training.flat_metrics(section, "eval/x") == {
    "eval/x/top1": 0.5,
    "eval/x/shot/many": 0.25,
    "eval/x/fgsm/robust_accuracy/eps=0": 0.9,
    "eval/x/fgsm/robust_accuracy/eps=0.1": 0.4,
  }


def test_run_during_training_logs_ood_aurocs_and_calibration_of_the_eval_set():
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (30, 6, 6, 1), dtype=np.uint8)
  labels = (np.arange(30) % 3).astype(np.int32)
  evaluation = ArrayDataset(images, labels, 3, name="fake/test")
  inputs = setup.Inputs("fake", {}, evaluation, evaluation, None, (), (), [6, 6, 1], 3)
  model = models.create("mlp", num_classes=3, input_shape=(6, 6, 1), depth=1, width=8)
  model.eval()
  evals = during_training.check_evals(
    {"ood": {"every_epochs": 1, "ood_count": 12, "test_subset": 20}, "calibration": {"every_epochs": 1, "num_bins": 1}}
  )
  out = during_training.run_during_training(evals, model, inputs, {"name": "cross_entropy"}, seed=3)
  msp_in = special.softmax(np.asarray(model(images[:20] / 255.0), np.float64), axis=1).max(1)
  aurocs = []
  for set_name, set_images in ood_sets.build("fake", images[:20], seed=3, count=12).items():
    msp_out = special.softmax(np.asarray(model(set_images / 255.0), np.float64), axis=1).max(1)
    aurocs.append(sk_metrics.roc_auc_score(np.r_[np.ones(20), np.zeros(12)], np.r_[msp_in, msp_out]))
    assert out[f"eval/ood/sets/{set_name}/msp/auroc"] == pytest.approx(aurocs[-1], abs=1e-6)
  assert out["eval/ood/mean/msp/auroc"] == pytest.approx(np.mean(aurocs), abs=1e-6)
  probs = special.softmax(np.asarray(model(images / 255.0), np.float64), axis=1)  # the whole eval set
  one_bin_ece = abs(np.mean(probs.argmax(1) == labels) - probs.max(1).mean())
  assert out["eval/calibration/ece"] == pytest.approx(one_bin_ece, abs=1e-6)
  assert all(k.startswith(("eval/ood/", "eval/calibration/")) for k in out)


def test_an_evaluator_that_does_not_apply_logs_nothing():
  tokens = ArrayDataset(np.zeros((4, 3), np.int32), np.zeros(4, np.int32), 2, name="text")
  inputs = setup.Inputs("text:reviews", {}, tokens, tokens, None, (), (), {"tokens": [3]}, 2)
  evals = during_training.check_evals({"ood": {"every_epochs": 1}})
  assert during_training.run_during_training(evals, None, inputs, {"name": "cross_entropy"}) == {}
