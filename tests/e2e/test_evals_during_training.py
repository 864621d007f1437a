"""config.evals end to end: `train.py --config.evals='{"ood": {"every_epochs": 1, ...}}'` on the quickstart smoke
config logs OOD AUROCs after every epoch, and the last ones are scikit-learn's on the final model's scores."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import special
from sklearn import metrics as sk_metrics

from el_jax import data
from el_jax.evaluate import ood_sets
from el_jax.train.workdir import Workdir

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OOD_COUNT, EVAL_SUBSET, SEED = 40, 60, 0


@pytest.mark.slow
def test_ood_aurocs_are_logged_after_every_epoch(fake_fashion_mnist, tmp_path):
  workdir = tmp_path / "run"
  evals = json.dumps({"ood": {"every_epochs": 1, "ood_count": OOD_COUNT}})
  command = [
    sys.executable,
    "train.py",
    "--config=configs/quickstart.py:smoke",
    f"--workdir={workdir}",
    "--config.dataset.train_subset=128",
    f"--config.dataset.eval_subset={EVAL_SUBSET}",
    "--config.batch_size=32",
    "--config.num_epochs=2",
    f"--config.evals={evals}",
  ]
  done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
  assert done.returncode == 0, done.stderr[-3000:]
  records = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
  evaluated = [r for r in records if "eval/loss" in r]
  assert [r["epoch"] for r in evaluated] == [1.0, 2.0]
  sets = [*ood_sets.SYNTHETIC, "mnist_digits"]
  for record in evaluated:
    for name in [*sets, "mean"]:
      for score in ("msp", "max_logit", "free_energy", "min_conditional_energy"):
        key = f"eval/ood/{'mean' if name == 'mean' else f'sets/{name}'}/{score}/auroc"
        assert 0.0 <= record[key] <= 1.0, key
  assert not any(k.startswith("eval/ood") for r in records if "eval/loss" not in r for k in r)

  # The last epoch's figures from the final model, computed here.
  model, _ = Workdir(str(workdir)).load_model()
  test = data.load("fashion_mnist", "test").take(EVAL_SUBSET)
  mean, std = data.normalization("fashion_mnist")

  def msp(images):
    logits = np.asarray(model((images / 255.0 - np.asarray(mean)) / np.asarray(std)), np.float64)
    return special.softmax(logits, axis=1).max(1)

  clean = msp(test.images)
  aurocs = {}
  for name, images in ood_sets.build("fashion_mnist", test.images, seed=SEED, count=OOD_COUNT).items():
    labels = np.r_[np.ones(len(clean)), np.zeros(len(images))]
    aurocs[name] = sk_metrics.roc_auc_score(labels, np.r_[clean, msp(images)])
    assert evaluated[-1][f"eval/ood/sets/{name}/msp/auroc"] == pytest.approx(aurocs[name], abs=1e-6), name
  assert list(aurocs) == sets
  assert evaluated[-1]["eval/ood/mean/msp/auroc"] == pytest.approx(np.mean(list(aurocs.values())), abs=1e-6)
