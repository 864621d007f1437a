"""evaluate.py on workdirs trained on text, graphs and translations (the smoke configs, a few steps): accuracy and
calibration of the model's own predictions on the run's evaluation split, and the image-only sections skipped with
the reason, in the report and on the console."""

import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest
from flax import nnx
from scipy import special

from el_jax import data
from el_jax.configs.encouraging_loss import graphs, iwslt
from el_jax.configs.expectation_mixing import reviews
from el_jax.data import translation
from el_jax.evaluate import bleu
from el_jax.train import loop
from el_jax.train.workdir import Workdir

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _train_and_evaluate(config, tmp_path, test_subset: int, split: str | None = None, average: int = 0):
  """Trains `config` in tmp_path/run, runs evaluate.py on it (on `split`, default the run's evaluation split), or on
  the average of its last `average` checkpoints (`el-jax-average`, in tmp_path/average); returns (report, stdout,
  model, test records)."""
  workdir = tmp_path / "run"
  loop.train_and_evaluate(config, str(workdir))
  if average:
    command = [sys.executable, "-m", "el_jax.cli.average", f"--workdir={workdir}", f"--last={average}"]
    done = subprocess.run(command + [f"--out_dir={tmp_path / 'average'}"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    workdir = tmp_path / "average"
  command = [sys.executable, "evaluate.py", f"--workdir={workdir}", f"--out_dir={tmp_path / 'eval'}"]
  command += [f"--test_subset={test_subset}"] + ([f"--split={split}"] if split else [])
  done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
  assert done.returncode == 0, done.stderr[-3000:]
  report = json.loads((tmp_path / "eval" / "evaluation.json").read_text())
  dataset = config.dataset
  test = data.load(dataset.name, split or dataset.eval_split, **dataset.options.to_dict()).take(test_subset)
  records = [test[i] for i in range(len(test))]
  model, _ = Workdir(str(workdir)).load_model()
  return report, done.stdout, model, records


def _stack(records, keys):
  return {k: np.stack([r[k] for r in records]) for k in keys}


def _check_figures(report, logits, labels):
  """Accuracy, NLL and a one-figure check of calibration (the ECE's bins hold every label) against numpy."""
  logits = np.asarray(logits, np.float64)
  assert report["accuracy"]["top1"] == pytest.approx(np.mean(logits.argmax(1) == labels), abs=1e-9)
  nll = special.logsumexp(logits, axis=1) - logits[np.arange(len(labels)), labels]
  assert report["accuracy"]["nll"] == pytest.approx(nll.mean(), rel=1e-4)
  assert sum(report["calibration"]["reliability"]["count"]) == len(labels)
  assert 0.0 <= report["calibration"]["ece"] <= 1.0
  assert {"margins", "energy", "gradient_weight"} <= set(report)


def _check_skipped(report, stdout, has: str):
  reason = f"needs image inputs; {report['dataset']} has {has}"
  assert {k: report["skipped"][k] for k in ("ood", "corruptions", "adversarial")} == dict.fromkeys(
    ("ood", "corruptions", "adversarial"), reason
  )
  assert f"ood: skipped ({reason})." in stdout
  assert not {"ood", "corruptions", "adversarial"} & set(report)


@pytest.mark.slow
def test_text(tmp_path):
  config = reviews.get_config("smoke")
  report, stdout, model, records = _train_and_evaluate(config, tmp_path, test_subset=40)
  assert report["dataset"] == config.dataset.name and report["num_test"] == 40
  _check_figures(report, model(**_stack(records, ["tokens"])), np.array([r["label"] for r in records]))
  _check_skipped(report, stdout, "tokens")
  assert report["skipped"]["probe"] == "needs at least 256 training examples (one batch); the run has 128"


@pytest.mark.slow
def test_graphs(tmp_path):
  config = graphs.get_config("data=nci1,smoke")
  report, stdout, model, records = _train_and_evaluate(config, tmp_path, test_subset=20)
  assert report["split"] == "validation" and report["num_test"] == 20
  logits = model(**_stack(records, ["nodes", "adjacency", "node_mask"]))
  _check_figures(report, logits, np.array([r["label"] for r in records]))
  _check_skipped(report, stdout, "nodes, adjacency, node_mask")


@pytest.mark.slow
def test_translation(tmp_path):
  """Per-token labels: every unmasked target token is one labelled prediction; the model evaluated is the average
  of the run's last two checkpoints, as the EL paper evaluates its translation models."""
  config = iwslt.get_config("smoke")
  config.model.update(name="transformer_tiny", layers=1)
  config.dataset.options.max_source_length = config.dataset.options.max_target_length = 24
  config.num_epochs = 2  # a checkpoint at the end of each
  assert config.dataset.eval_split == "valid"
  report, stdout, model, records = _train_and_evaluate(config, tmp_path, test_subset=3, split="test", average=2)
  run, _ = Workdir(str(tmp_path / "run")).load_model()
  averaged, newest = (jax.tree.leaves(nnx.state(m, nnx.Param)) for m in (model, run))
  assert not all(np.array_equal(a, b) for a, b in zip(averaged, newest, strict=True))  # not the newest alone
  assert report["split"] == "test"
  batch = _stack(records, ["source", "target_in", "label", "label_mask"])
  logits = np.asarray(model(source=batch["source"], target_in=batch["target_in"]))
  mask = batch["label_mask"]
  assert report["num_test"] == 3 and report["num_test_tokens"] == int(mask.sum())
  _check_figures(report, logits[mask], batch["label"][mask])
  assert "shot" not in report["accuracy"] and "class_energy" not in report["energy"]
  _check_skipped(report, stdout, "source, target_in")
  assert report["skipped"]["probe"] == f"needs one label per example; {report['dataset']} has per-token labels"
  # BLEU of the same model's greedy and beam-5 translations of the first 3 test sentences, scored here
  source = data.load(config.dataset.name, "test", **config.dataset.options.to_dict())
  for beam in (1, 5):
    score, hypotheses = bleu.translation_bleu(model, source, beam_size=beam, count=3)
    references = [
      translation.remove_bpe(source.target_dictionary.string(r["label"], escape_unk=True), source.bpe) for r in records
    ]
    assert report["bleu"][f"beam{beam}"]["score"] == pytest.approx(bleu.corpus_bleu(hypotheses, references).score)
    assert report["bleu"][f"beam{beam}"]["score"] == pytest.approx(score.score)
  assert "BLEU (beam 5)" in (tmp_path / "eval" / "evaluation.md").read_text()
