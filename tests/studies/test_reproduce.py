"""`reproduce.py --tiny` end to end: every study trains, evaluates and reaches the report; a rerun resumes."""

import json
import os
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _reproduce(runs_dir, report_dir):
  command = [sys.executable, "reproduce.py", "--tiny", f"--runs_dir={runs_dir}", f"--report_dir={report_dir}"]
  return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800)


@pytest.mark.slow
def test_tiny_reproduce_writes_the_report_and_resumes(tmp_path):
  runs_dir, report_dir = tmp_path / "runs", tmp_path / "report"
  first = _reproduce(runs_dir, report_dir)
  assert first.returncode == 0, first.stderr[-3000:]
  text = (report_dir / "reproduction.md").read_text()
  for title in ("(a) Fashion-MNIST", "(b) UCI", "(c) Long-tailed", "(d) Encouraging Loss's analyses", "(e) MNIST"):
    assert title in text
  assert text.index("## Summary") < text.index("## (a) Fashion-MNIST")
  assert "Not run yet" not in text and "Pending runs" not in text
  assert json.loads((runs_dir / "uci" / "records.json").read_text())["seconds"] > 0
  assert "not recorded" not in text
  summary = json.loads((report_dir / "reproduction.json").read_text())
  assert summary["tiny"] is True
  assert set(summary["studies"]) == {"fashion_mnist", "uci", "long_tail", "el_analyses", "mnist_digits"}
  verdicts = {row["verdict"] for row in summary["claims"]}
  assert verdicts - {"not run"}, "no claim could be checked"
  figures = ("margins_ce_vs_el.png", "energy_ce_vs_el.png", "fashion_mnist.png", "long_tail.png", "mnist_digits.png")
  for name in figures + tuple(f"forest_{paper}.png" for paper in ("encouraging_loss", "expectation_mixing", "hem")):
    assert (report_dir / "figures" / name).is_file()

  start = time.perf_counter()
  second = _reproduce(runs_dir, report_dir)  # every run has a result: nothing is retrained
  assert second.returncode == 0, second.stderr[-3000:]
  assert "[1/" not in second.stdout and "uci " not in second.stdout
  assert time.perf_counter() - start < 120


def test_report_only_without_results_leaves_the_report_as_it_is(tmp_path):
  report_dir = tmp_path / "report"
  report_dir.mkdir()
  (report_dir / "reproduction.md").write_text("an earlier report")
  command = [sys.executable, "reproduce.py", "--report_only", "--studies=long_tail,uci"]
  command += [f"--runs_dir={tmp_path / 'empty'}", f"--report_dir={report_dir}"]
  done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert done.returncode != 0
  assert "found no results of long_tail, uci" in done.stderr and "drop --report_only" in done.stderr
  assert (report_dir / "reproduction.md").read_text() == "an earlier report"
