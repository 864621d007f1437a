"""The reproduction report from hand-made results: table entries, claim verdicts and pending runs."""

import json
import os

import numpy as np

from configs.studies import fashion_mnist
from el_jax.studies import report, runner

ACCURACY = {"ce": [0.80, 0.81, 0.82], "el_le1": [0.90, 0.91, 0.92]}


def _write_results(runs_dir, study):
  written = []
  for run in study.runs:
    loss = run.labels["loss"]
    if run.labels["model"] != "lenet" or loss not in ACCURACY:
      continue
    workdir = runner.run_dir(runs_dir, study, run)
    os.makedirs(workdir)
    accuracy = ACCURACY[loss][run.seed]
    result = {
      "group": run.group,
      "labels": run.labels,
      "seed": run.seed,
      "metrics": {"accuracy": accuracy, "median_margin": 10.0 * accuracy},
      "seconds": {"train": 60.0, "evaluate": 0.0},
    }
    with open(os.path.join(workdir, runner.RESULT_NAME), "w") as f:
      json.dump(result, f)
    rng = np.random.default_rng(run.seed)
    np.savez(os.path.join(workdir, runner.ARRAYS_NAME), margins=rng.normal(size=50), energy=rng.normal(size=50))
    written.append(run.name)
  return written


def test_report_tables_claims_and_pending_runs(tmp_path):
  study = fashion_mnist.get_study()
  runs_dir, report_dir = str(tmp_path / "runs"), str(tmp_path / "report")
  written = _write_results(runs_dir, study)
  assert len(written) == 6
  paths = report.write({"fashion_mnist": study}, runs_dir, report_dir)
  text = open(paths[0]).read()
  # Table entries: mean ± sample standard deviation, in percent.
  assert "| ce | 81.00 ± 1.00 |" in text
  assert "| el_le1 | 91.00 ± 1.00 |" in text
  # EL (LE = 1) against CE on LeNet accuracy: +10 points, standard error sqrt(2 * 1e-4 / 3) = 0.82 points.
  assert "lenet: 91.00 ± 1.00 vs 81.00 ± 1.00, +10.00 ± 0.82: **holds**" in text
  assert "mlp: not run" in text
  pending = len(study.runs) - len(written)
  assert f"Pending runs ({pending})" in text
  assert "Time recorded by the runs: 6 minutes of training and evaluation (fashion_mnist 6)" in text
  summary = json.load(open(paths[1]))
  entry = summary["studies"]["fashion_mnist"]["lenet"]["el_le1"]["accuracy"]
  assert entry["mean"] == np.mean(ACCURACY["el_le1"]) and entry["n"] == 3
  assert all(os.path.isfile(p) for p in paths)


def test_time_line_names_each_study_and_what_was_not_timed():
  line = report._time_line({"fashion_mnist": 5400.0, "long_tail": 600.0, "uci": None})
  assert line.startswith("Time recorded by the runs: 100 minutes of training and evaluation (fashion_mnist 90, ")
  assert "long_tail 10; not recorded: uci)." in line
