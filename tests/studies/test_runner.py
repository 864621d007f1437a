"""The study runner's flat metrics of an evaluation report: every figure the study tables use, and only those the
report has (a run on inputs other than images has no OOD, corruption or attack section)."""

import pytest

from el_jax.studies import runner


def _report():
  return {
    "accuracy": {"top1": 0.9, "nll": 0.3, "shot": {"many": 0.95, "medium": 0.8, "few": float("nan")}},
    "calibration": {"ece": 0.05},
    "margins": {"q50": 2.0},
    "energy": {"on_data": -4.0},
  }


def test_metrics_of_a_report_without_image_sections():
  assert runner.metrics(_report()) == {
    "accuracy": 0.9,
    "nll": 0.3,
    "ece": 0.05,
    "median_margin": 2.0,
    "mean_energy": -4.0,
    "many_shot": 0.95,
    "medium_shot": 0.8,
  }


def test_metrics_of_the_image_sections():
  scores = {s: {"auroc": a, "fpr_at_95tpr": f} for s, a, f in (("msp", 0.8, 0.5), ("max_logit", 0.85, 0.4))}
  report = _report() | {
    "ood": {
      "sets": {
        "mnist_digits": {"msp": {"auroc": 0.7, "fpr_at_95tpr": 0.6}, "max_logit": {"auroc": 0.75, "fpr_at_95tpr": 0.3}}
      },
      "real_set": "mnist_digits",
      "mean": scores,
    },
    "corruptions": {"mean_accuracy": 0.6},
    "adversarial": {
      "fgsm": {"eps": [0.0, 0.1], "robust_accuracy": [0.9, 0.3], "dar_msp": [0.9, 0.5], "dar_max_logit": [0.9, 0.6]},
      "pgd_linf": {
        "eps": [0.0, 0.1],
        "robust_accuracy": [0.9, 0.1],
        "dar_msp": [0.9, 0.4],
        "dar_max_logit": [0.9, 0.45],
      },
    },
    "probe": {"test_accuracy": 0.88},
  }
  out = runner.metrics(report)
  assert out["ood_auroc_msp"] == 0.8 and out["fpr95_max_logit"] == 0.4 and out["ood_auroc_max_logit_real"] == 0.75
  assert (out["fpr95_msp_real"], out["fpr95_max_logit_real"]) == (0.6, 0.3)
  assert (out["corruption_accuracy"], out["fgsm_0.1"], out["pgd_linf_0.1"], out["probe_accuracy"]) == (
    0.6,
    0.3,
    0.1,
    0.88,
  )
  assert out["dar_msp_pgd_linf_0.1"] == 0.4 and "dar_msp_fgsm_0.1" not in out
  assert "few_shot" not in out and out["many_shot"] == pytest.approx(0.95)


def test_a_result_written_for_other_settings_is_never_reused(tmp_path):
  import json
  import os

  from el_jax.configs.studies import long_tail, uci

  study = long_tail.get_study("tiny")
  run = study.runs[0]
  workdir = runner.run_dir(str(tmp_path), study, run)
  os.makedirs(workdir)
  assert not runner.finished(study, str(tmp_path), run)
  config, evaluation = run.config.to_dict(), dict(run.evaluation)

  def write(**result):
    with open(os.path.join(workdir, runner.RESULT_NAME), "w") as f:
      json.dump(result, f)

  config.pop("evals")  # written before a setting existed: absent matches its empty default
  write(config=config, evaluation=evaluation)
  assert runner.finished(study, str(tmp_path), run)
  # logging, its writers and checkpointing do not change a result
  write(config=config | {"log_every_steps": 7, "writers": ["jsonl"], "checkpoint_keep": 3}, evaluation=evaluation)
  assert runner.finished(study, str(tmp_path), run)
  write(config=config | {"num_epochs": config["num_epochs"] + 1}, evaluation=evaluation)
  with pytest.raises(runner.StaleResult, match=r"config.num_epochs: \d+ there, \d+ now\)\. Move it"):
    runner.finished(study, str(tmp_path), run)
  write(config=config, evaluation=evaluation | {"attack_subset": 7})  # another evaluation
  with pytest.raises(runner.StaleResult, match=r"evaluation.attack_subset: 7 there"):
    runner.finished(study, str(tmp_path), run)
  write(config=config)  # no record of what it evaluated
  with pytest.raises(runner.StaleResult, match=r"evaluation.attack_subset: '<absent>' there"):
    runner.finished(study, str(tmp_path), run)
  sweep = uci.get_study("tiny")
  os.makedirs(tmp_path / "uci")
  settings = runner.sweep_settings(sweep.uci) | {"seeds": [0, 1, 2]}
  with open(tmp_path / "uci" / runner.UCI_NAME, "w") as f:
    json.dump({"sweep": settings, "records": [], "seconds": 1.0}, f)
  with pytest.raises(runner.StaleResult, match="seeds"):
    runner.load_results(sweep, str(tmp_path))
