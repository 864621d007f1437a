"""The evaluation after training: `Options` select the evaluators and carry their options; `run` evaluates the run's
whole evaluation split (or `test_subset` of it), read with the config's dataset options, and records what it skips."""

import dataclasses

import numpy as np
import pytest
from sklearn import metrics as sk_metrics

from el_jax import data, models
from el_jax.configs import common
from el_jax.configs import losses as losses_menu
from el_jax.evaluate import evaluators, suite
from el_jax.evaluate.subject import Skip, Subject
from el_jax.train import loop, setup
from el_jax.train.workdir import Workdir
from tests.evaluate import segmentation_models


def test_options_hold_every_evaluator_option_with_its_default():
  fields = {f.name: f.default for f in dataclasses.fields(suite.Options)}
  for name in evaluators.names():
    for option, default in evaluators.options(name).items():
      assert fields[option] == default, (name, option)


def test_options_switch_evaluators_off_and_pass_each_its_own_options():
  assert list(suite.Options().evaluators()) == [name for name in evaluators.names() if name != "crt"]  # CRT: opt-in
  assert list(suite.Options(crt=True).evaluators()) == evaluators.names()
  chosen = suite.Options(corruptions=False, probe=False, gradient_weights=False, ood_count=7, tpr=0.9).evaluators()
  assert list(chosen) == ["accuracy", "calibration", "margins", "ood", "adversarial", "bleu", "segmentation"]
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
  segmentation = "needs per-pixel label maps; uci_digits has one label per example or per token"
  assert report["skipped"] == {
    "ood": reason,
    "corruptions": reason,
    "adversarial": reason,
    "bleu": bleu,
    "segmentation": segmentation,
  }
  assert set(arrays) == {"margins", "energy"} and len(arrays["margins"]) == 50
  assert set(report["timing_seconds"]) == {"clean", "accuracy", "calibration", "margins"}


def test_run_without_test_subset_evaluates_the_whole_split(model):
  options = suite.Options(probe=False, gradient_weights=False, corruptions=False)
  report, _ = suite.run(model, _config(eval_subset=20), options)
  assert report["num_test"] == len(data.load("uci_digits", "test"))
  assert sum(report["calibration"]["reliability"]["count"]) == report["num_test"]


# ---- A segmentation workdir: mean IoU, and every evaluator of one label per example skipped ---------------------


def _segmentation_config():
  """Two steps of `TinyFCN` on 32 x 32 crops of the CamVid stand-in; evaluation pads its 360 x 480 images to
  384 x 480 (`segmentation.EVAL_SIZES`), whose padding pixels are ignored."""
  config = common.base_config()
  config.dataset.name = "synthetic:segmentation:camvid"
  config.dataset.train_subset, config.dataset.eval_subset = 4, 2
  config.dataset.normalize = False
  config.dataset.augmentation = "segmentation"
  config.dataset.crop_size = (32, 32)
  config.dataset.eval_size = None
  config.model.name = segmentation_models.NAME
  config.loss = losses_menu.loss_config(losses_menu.HEM, "hem_plus")
  config.optimizer.name, config.optimizer.learning_rate = "sgd", 0.1
  config.batch_size, config.eval_batch_size, config.num_epochs, config.log_every_steps = 2, 2, 1, 1
  config.writers = ("jsonl",)
  config.evals = {"segmentation": {"every_epochs": 1}}  # also during training, as a flat metric
  return config


def test_a_segmentation_workdir_reports_mean_iou_and_skips_the_per_example_evaluators(tmp_path, monkeypatch):
  segmentation_models.register(monkeypatch)
  workdir = str(tmp_path / "run")
  metrics = loop.train_and_evaluate(_segmentation_config(), workdir)
  assert 0.0 <= metrics["eval/segmentation/mean_iou"] <= 1.0
  # the training loop's own per-pixel accuracy of the same evaluation images, computed by its eval step
  assert metrics["eval/segmentation/pixel_accuracy"] == pytest.approx(metrics["eval/accuracy"], abs=1e-6)
  options = suite.Options(test_subset=3, batch_size=2, gradient_weights=False)
  report = suite.evaluate_workdir(workdir, options, out_dir=str(tmp_path / "eval"))

  # the figures, against scikit-learn on the model's per-pixel argmax over the valid pixels
  model, _ = Workdir(workdir).load_model()
  test = data.load("synthetic:segmentation:camvid", "test").take(3)
  records = [test[i] for i in range(3)]
  images = np.stack([r["image"] for r in records]).astype(np.float32) / 255.0
  predicted = np.asarray(model(images)).argmax(-1)
  valid = np.stack([r["label_mask"] for r in records])
  labels = np.stack([r["label"] for r in records])
  section = report["segmentation"]
  y, p = labels[valid], predicted[valid]
  present = np.union1d(y, p)
  # (a pixel or two may flip between near-tied classes of the barely trained model, as the evaluation runs on
  # batches of two padded images and this check on the three images at once; counting the padding would move the
  # figures by far more)
  assert section["mean_iou"] == pytest.approx(sk_metrics.jaccard_score(y, p, labels=present, average="macro"), abs=1e-4)
  assert section["pixel_accuracy"] == pytest.approx(np.mean(y == p), abs=1e-4)
  assert section["num_pixels"] == valid.sum() and section["num_images"] == 3
  assert section["num_classes_scored"] == len(present) and len(section["per_class_iou"]) == 11
  assert section["class_names"][0] == "sky"

  # every evaluator of one label per example skips the run, saying why
  reason = (
    "needs one label per example; synthetic:segmentation:camvid has per-pixel label maps (semantic segmentation), "
    "scored by the segmentation evaluator"
  )
  per_example = ("accuracy", "calibration", "margins", "ood", "corruptions", "adversarial", "probe")
  assert {name: report["skipped"][name] for name in per_example} == dict.fromkeys(per_example, reason)
  assert "bleu" in report["skipped"]
  assert not set(per_example) & set(report)
  assert "clean" not in report["timing_seconds"] and "segmentation" in report["timing_seconds"]
  with pytest.raises(Skip, match="per-pixel label maps"):  # also when CRT is asked for
    inputs = setup.Inputs.from_config(Workdir(workdir).read_config()["dataset"])
    evaluators.run("crt", Subject(model, inputs, {}))

  markdown = (tmp_path / "eval" / "evaluation.md").read_text()
  assert "## Semantic segmentation (valid pixels only)" in markdown
  assert f"| mean IoU | {section['mean_iou']:.4f} |" in markdown
  assert "| 0 | sky |" in markdown
