"""el_jax/studies/graph_protocol.py: each split scored at its best validation epoch on the test split, and the runs'
mean +- sd."""

import json

import numpy as np
import pytest

from el_jax.configs.encouraging_loss import graphs
from el_jax.evaluate import suite
from el_jax.studies import graph_protocol
from el_jax.train import loop
from el_jax.train.workdir import Workdir


def test_summarise_by_hand():
  summary = graph_protocol.summarise([[0.7, 0.8, 0.75], [0.6, 0.7, 0.65]])
  np.testing.assert_allclose(summary.run_means, [0.75, 0.65])
  assert summary.mean == pytest.approx(0.70)
  assert summary.sd == pytest.approx(np.sqrt(((0.05**2) * 2) / 1))  # sample sd of (0.75, 0.65)
  assert graph_protocol.summarise([[0.5, 0.7]]).sd is None  # one run: no spread
  with pytest.raises(ValueError, match=r"\[runs, splits\]"):
    graph_protocol.summarise([0.5, 0.7])


def test_split_seeds_differ_across_runs():
  seeds = {graph_protocol.split_seed(r, s, 50) for r in range(5) for s in range(50)}
  assert seeds == set(range(250))


def _config(run, split_seed):
  config = graphs.get_config(f"data=proteins,loss=ce,split_seed={split_seed},smoke")
  config.seed = run
  config.num_epochs = 2
  config.model.hidden, config.model.num_blocks = 16, 1  # a small network: the protocol, not the model, is tested
  return config


def test_the_protocol_scores_the_best_validation_epoch_on_the_test_split_and_resumes(tmp_path, monkeypatch):
  summary = graph_protocol.run_protocol(_config, str(tmp_path), runs=1, splits=1, log=lambda _: None)
  workdir = tmp_path / "run0" / "split0"
  best = json.loads((workdir / graph_protocol.BEST_EPOCH_NAME).read_text())
  evals = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
  evals = [(r["step"], r["eval/accuracy"]) for r in evals if "eval/accuracy" in r]
  assert len(evals) == 2
  step, accuracy = max(evals, key=lambda e: e[1])  # the first of the best: early stopping keeps a strict improvement
  assert (best["step"], best["validation_accuracy"]) == (step, pytest.approx(accuracy))
  # the test split, scored by the evaluation suite's accuracy on that checkpoint
  config = Workdir(workdir).read_config()
  model, _ = Workdir(workdir).load_model(step)
  off = {"corruptions": False, "probe": False, "gradient_weights": False, "fgsm_eps": (), "pgd_linf_eps": ()}
  report, _ = suite.run(model, dict(config, dataset=dict(config["dataset"], eval_split="test")), suite.Options(**off))
  assert report["num_test"] == best["num_test"] > 16  # the whole test split, not the 16 validation graphs
  assert best["test_accuracy"] == pytest.approx(report["accuracy"]["top1"])
  assert summary.mean == pytest.approx(best["test_accuracy"]) and summary.sd is None
  saved = json.loads((tmp_path / graph_protocol.SUMMARY_NAME).read_text())
  assert saved["test_accuracy"] == [[best["test_accuracy"]]]

  def no_training(*args, **kwargs):
    raise AssertionError("a scored split was trained again")

  monkeypatch.setattr(loop, "train_and_evaluate", no_training)
  assert graph_protocol.run_protocol(_config, str(tmp_path), runs=1, splits=1, log=lambda _: None).mean == summary.mean


def test_a_run_without_early_stopping_on_accuracy_or_checkpoints_is_refused(tmp_path):
  config = _config(0, 0)
  Workdir(tmp_path).write_json("config.json", dict(config.to_dict(), early_stopping_metric="loss"))
  with pytest.raises(ValueError, match="did not track its best validation accuracy"):
    graph_protocol.best_epoch_accuracy(str(tmp_path))
  Workdir(tmp_path).write_json("config.json", config.to_dict())
  with pytest.raises(FileNotFoundError, match="holds no checkpoint"):
    graph_protocol.best_epoch_accuracy(str(tmp_path))
