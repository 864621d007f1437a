"""Evaluates briefly trained models end to end on small subsets and checks the report, the files and --compare."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from el_jax import train
from el_jax.configs import quickstart
from el_jax.evaluate import corruptions, ood, ood_sets, report, suite

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SMALL = suite.Options(
  batch_size=64,
  test_subset=100,  # not a multiple of the batch size: the last batch is padded
  ood_count=70,
  attack_subset=40,
  fgsm_eps=(0.05, 0.2),
  pgd_linf_eps=(0.2,),
  pgd_l2_eps=(2.0,),
  pgd_steps=3,
  probe_train_subset=256,
)


def tiny_config(loss_name="encouraging_loss"):
  config = quickstart.get_config("smoke")
  config.dataset.train_subset = 256
  config.dataset.eval_subset = 250
  config.batch_size = 32
  config.eval_batch_size = 100
  config.num_epochs = 2
  if loss_name != "encouraging_loss":
    config.loss = {"name": loss_name}
  return config


@pytest.fixture(scope="module")
def trained_workdirs(fake_fashion_mnist_dir, tmp_path_factory):
  """Two briefly trained runs (EL with LE = 0.75 and CE) on the synthetic Fashion-MNIST."""
  with pytest.MonkeyPatch.context() as patch:
    patch.setenv("EL_JAX_DATA_DIR", str(fake_fashion_mnist_dir))
    root = tmp_path_factory.mktemp("runs")
    workdirs = {}
    for loss in ("encouraging_loss", "cross_entropy"):
      workdirs[loss] = str(root / loss)
      train.train_and_evaluate(tiny_config(loss), workdirs[loss])
    yield workdirs


@pytest.mark.slow
def test_report_fields_files_and_comparison(trained_workdirs, fake_fashion_mnist, tmp_path):
  out_dirs = {}
  for loss, workdir in trained_workdirs.items():
    out_dirs[loss] = str(tmp_path / loss)
    suite.evaluate_workdir(workdir, SMALL, out_dir=out_dirs[loss])

  with open(os.path.join(out_dirs["encouraging_loss"], report.JSON_NAME)) as f:
    result = json.load(f)
  assert result["num_test"] == 100 and result["dataset"] == "fashion_mnist"
  assert result["loss"] == {"name": "encouraging_loss", "log_end": 0.75}
  # The synthetic classes differ by a bright band: two epochs learn them. Accuracies are multiples of 1/100.
  top1 = result["accuracy"]["top1"]
  assert top1 >= 0.9 and round(top1 * 100) == pytest.approx(top1 * 100, abs=1e-9)
  assert len(result["accuracy"]["per_class"]) == 10
  assert 0.0 <= result["calibration"]["ece"] <= 1.0
  assert sum(result["calibration"]["reliability"]["count"]) == 100

  sets = result["ood"]["sets"]
  assert list(sets) == [*ood_sets.SYNTHETIC, "mnist_digits"]
  for entry in sets.values():
    assert set(entry) == set(ood.SCORES)
    for score in entry.values():
      assert 0.0 <= score["auroc"] <= 1.0 and 0.0 <= score["fpr_at_95tpr"] <= 1.0
    assert entry["min_conditional_energy"] == entry["max_logit"]

  assert set(result["corruptions"]["accuracy"]) == set(corruptions.names())
  assert result["corruptions"]["mean_accuracy"] == pytest.approx(
    np.mean(list(result["corruptions"]["accuracy"].values()))
  )

  adversarial = result["adversarial"]
  assert adversarial["fgsm"]["eps"] == [0.0, 0.05, 0.2] and adversarial["pgd_l2"]["eps"] == [0.0, 2.0]
  for curve in adversarial.values():
    assert curve["num_attacked"] == 40
    assert all(0.0 <= v <= 1.0 for v in curve["robust_accuracy"] + curve["dar_msp"] + curve["dar_max_logit"])
    assert curve["robust_accuracy"][-1] <= curve["robust_accuracy"][0]
  assert adversarial["pgd_linf"]["robust_accuracy"][1] <= adversarial["fgsm"]["robust_accuracy"][2] + 0.1

  assert result["margins"]["mean"] > 0 and 0.0 <= result["margins"]["fraction_negative"] <= 1.0
  assert result["energy"]["gap"] == pytest.approx(result["margins"]["mean"], rel=1e-4)
  curves = result["gradient_weight"]["curves"]
  assert "cross_entropy" in curves and "encouraging_loss (this run)" in curves
  np.testing.assert_allclose(curves["cross_entropy"], 1 - np.asarray(curves["p_y"]), atol=1e-4)
  assert result["probe"]["num_train"] == 256 and result["probe"]["test_accuracy"] >= 0.8

  written = set(os.listdir(out_dirs["encouraging_loss"]))
  expected = {
    "evaluation.json",
    "evaluation.md",
    "evaluation_arrays.npz",
    "margins.png",
    "reliability.png",
    "robustness.png",
    "ood_msp.png",
    "ood_max_logit.png",
    "ood_free_energy.png",
    "gradient_weight.png",
    "class_energy.png",
  }
  assert expected <= written
  markdown = open(os.path.join(out_dirs["encouraging_loss"], "evaluation.md")).read()
  assert "| test accuracy |" in markdown and "mnist_digits" in markdown

  # The command line puts both runs side by side.
  compare_dir = tmp_path / "compare"
  command = [
    sys.executable,
    "evaluate.py",
    "--compare",
    out_dirs["encouraging_loss"],
    out_dirs["cross_entropy"],
    f"--out_dir={compare_dir}",
  ]
  subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True, timeout=300)
  table = (compare_dir / "comparison.md").read_text()
  assert "| metric | encouraging_loss | cross_entropy |" in table
  assert table.count("| test accuracy |") == 1
  assert {"margins.png", "reliability.png", "robustness.png", "ood_msp.png"} <= set(os.listdir(compare_dir))
