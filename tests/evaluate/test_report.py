"""The written report of a run whose inputs are not images: tables and plots of the sections it has, the skipped
sections listed with their reasons, no OOD or robustness plot; per-class tables of huge label sets left to the JSON."""

import json
import os

import numpy as np

from el_jax.evaluate import report

REASON = "needs image inputs; text:reviews has tokens"


def _report(num_classes=3):
  edges = np.linspace(0, 1, 4).tolist()
  return {
    "dataset": "text:reviews",
    "split": "test",
    "num_test": 4,
    "loss": {"name": "cross_entropy"},
    "model": {"name": "lstm"},
    "options": {},
    "accuracy": {
      "top1": 0.75,
      "nll": 0.5,
      "per_class": [1.0] * num_classes,
      "shot": {"many": 0.75, "medium": float("nan"), "few": float("nan")},
    },
    "calibration": {
      "num_bins": 3,
      "ece": 0.125,
      "reliability": {
        "edges": edges,
        "count": [0, 1, 3],
        "confidence": [None, 0.5, 0.9],
        "accuracy": [None, 1.0, 0.66],
      },
    },
    "margins": {
      "mean": 0.5,
      "std": 1.0,
      "q01": -1.0,
      "q10": -0.5,
      "q50": 0.25,
      "q90": 1.0,
      "q99": 2.0,
      "fraction_negative": 0.25,
    },
    "energy": {"on_data": -1.0, "lowest_off_data": -0.5, "gap": 0.5, "class_energy": np.eye(num_classes).tolist()},
    "skipped": {"ood": REASON, "corruptions": REASON, "adversarial": REASON},
    "timing_seconds": {"clean": 0.1},
  }


def test_markdown_lists_the_skipped_sections_and_leaves_out_their_tables():
  text = report.to_markdown(_report())
  assert "## Not evaluated\n\n- ood: needs image inputs; text:reviews has tokens." in text
  assert "Out-of-distribution" not in text and "OOD" not in text and "Adversarial" not in text
  assert "| test accuracy | 0.7500 |" in text and "| ECE (3 bins) | 0.1250 |" in text
  assert [name for name, _ in report.summary_rows(_report())] == [
    "test accuracy",
    "test NLL",
    "ECE (3 bins)",
    "margin mean",
    "margin median",
    "energy on data E(y*|x)",
    "lowest energy off data",
  ]


def test_per_class_tables_of_huge_label_sets_stay_in_the_json():
  text = report.to_markdown(_report(num_classes=report.PER_CLASS_TABLE_MAX_CLASSES + 1))
  assert "## Per-class accuracy" not in text and "1001 classes, in evaluation.json" in text
  assert "## Per-class accuracy" in report.to_markdown(_report())


def test_write_plots_only_the_sections_the_report_has(tmp_path):
  arrays = {"margins": np.array([0.5, -0.25, 1.0, 0.75]), "energy": np.array([-1.0, 0.0, -2.0, -1.0])}
  paths = report.write(_report(), arrays, str(tmp_path))
  assert sorted(os.path.basename(p) for p in paths) == [
    "class_energy.png",
    "evaluation.json",
    "evaluation.md",
    "evaluation_arrays.npz",
    "margins.png",
    "reliability.png",
  ]
  loaded, loaded_arrays = report.load(str(tmp_path))
  assert loaded["skipped"]["ood"] == REASON
  np.testing.assert_array_equal(loaded_arrays["margins"], arrays["margins"])
  assert json.loads((tmp_path / "evaluation.json").read_text())["accuracy"]["top1"] == 0.75


def _segmentation_report(mean_iou=0.5):
  per_example = ("accuracy", "calibration", "margins", "ood", "corruptions", "adversarial", "probe")
  return {
    "dataset": "segmentation:camvid",
    "split": "test",
    "num_test": 2,
    "loss": {"name": "hem_loss"},
    "model": {"name": "fpn_resnet34"},
    "options": {},
    "segmentation": {
      "mean_iou": mean_iou,
      "pixel_accuracy": 0.8,
      "per_class_iou": [0.25, float("nan"), 0.75],
      "num_pixels": 100,
      "num_classes_scored": 2,
      "num_images": 2,
      "class_names": ["sky", "building", "pole"],
    },
    "skipped": dict.fromkeys(per_example, "needs one label per example"),
    "timing_seconds": {"segmentation": 0.1},
  }


def test_a_segmentation_report_has_its_section_and_no_per_example_tables(tmp_path):
  text = report.to_markdown(_segmentation_report())
  assert [name for name, _ in report.summary_rows(_segmentation_report())] == ["mean IoU", "pixel accuracy"]
  assert "## Semantic segmentation (valid pixels only)" in text and "| 1 | building | n/a |" in text
  assert "over the 2 classes labelled or predicted" in text
  assert "Per-class accuracy" not in text and "Margins" not in text
  paths = report.write(_segmentation_report(), {}, str(tmp_path / "a"))
  assert not [p for p in paths if p.endswith(".png")]  # no margins, calibration or OOD plots to draw
  report.write(_segmentation_report(0.25), {}, str(tmp_path / "b"))
  (comparison,) = [p for p in report.compare([str(tmp_path / "a"), str(tmp_path / "b")], str(tmp_path / "c"))]
  assert "| mean IoU | 0.5000 | 0.2500 |" in open(comparison).read()
