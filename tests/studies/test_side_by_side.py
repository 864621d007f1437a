"""`reproduce.py --jobs N`: child processes run at most N at a time, a failing one is reported while the others go on,
an interrupt stops them all, and each child is kept to one thread."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from el_jax.cli import reproduce
from el_jax.studies import runner

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# A child that marks itself running in `markers/`, records how many children are running, sleeps and exits with `code`.
CHILD = textwrap.dedent(
  """
  import os, sys, time
  markers, name, seconds, code = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
  mine = os.path.join(markers, name)
  open(mine, "w").close()
  print("pid", os.getpid(), "running", len([m for m in os.listdir(markers) if not m.endswith(".done")]), flush=True)
  time.sleep(seconds)
  os.rename(mine, mine + ".done")
  print("child error" if code else "ok", flush=True)
  sys.exit(code)
  """
)


def _jobs(tmp_path, specs):
  markers = tmp_path / "markers"
  markers.mkdir()
  return [
    runner.Job(name, (sys.executable, "-c", CHILD, str(markers), name, str(seconds), str(code)), str(tmp_path / name))
    for name, seconds, code in specs
  ]


def _running_counts(tmp_path, names):
  return [int((tmp_path / name).read_text().split()[3]) for name in names]


def test_at_most_workers_children_run_at_once(tmp_path):
  names = [f"job{i}" for i in range(5)]
  lines = []
  codes = runner.run_side_by_side(_jobs(tmp_path, [(n, 0.5, 0) for n in names]), 2, log=lines.append, poll_s=0.02)
  assert codes == dict.fromkeys(names, 0)
  counts = _running_counts(tmp_path, names)
  assert max(counts) == 2  # the first two start together; none starts while two run
  assert sum("start" in line for line in lines) == 5 and sum("done" in line for line in lines) == 5


def test_one_worker_runs_children_one_after_another(tmp_path):
  names = ["a", "b", "c"]
  runner.run_side_by_side(_jobs(tmp_path, [(n, 0.1, 0) for n in names]), 1, log=lambda _: None, poll_s=0.02)
  assert _running_counts(tmp_path, names) == [1, 1, 1]


def test_a_failing_child_is_reported_and_the_others_go_on(tmp_path):
  lines = []
  jobs = _jobs(tmp_path, [("bad", 0.0, 3), ("good1", 0.1, 0), ("good2", 0.1, 0)])
  codes = runner.run_side_by_side(jobs, 2, log=lines.append, poll_s=0.02)
  assert codes == {"bad": 3, "good1": 0, "good2": 0}
  (failed,) = [line for line in lines if "FAILED" in line]
  assert "bad (exit 3" in failed and "child error" in failed  # the tail of the child's log
  assert (tmp_path / "good2").read_text().endswith("ok\n")


def test_an_interrupt_stops_every_child_and_starts_no_more(tmp_path):
  jobs = _jobs(tmp_path, [("slow1", 60, 0), ("slow2", 60, 0), ("never", 0, 0)])
  started = []

  def log(line):
    started.append(line)
    if "start slow2" in line:
      raise KeyboardInterrupt  # as Ctrl-C would, while two children run

  with pytest.raises(KeyboardInterrupt):
    runner.run_side_by_side(jobs, 2, log=log, poll_s=0.02, grace_s=10)
  assert not (tmp_path / "never").exists()
  for name in ("slow1", "slow2"):
    text = (tmp_path / name).read_text()  # empty if the child was stopped before it printed its pid
    if text:
      with pytest.raises(ProcessLookupError):  # stopped and reaped
        os.kill(int(text.split()[1]), 0)
    assert not (tmp_path / "markers" / (name + ".done")).exists()  # it did not run to its end


def test_workers_must_be_positive():
  with pytest.raises(ValueError, match="at least 1"):
    runner.run_side_by_side([], 0)


def test_single_thread_env_keeps_other_settings_and_appends_xla_flags():
  env = runner.single_thread_env({"XLA_FLAGS": "--xla_dump_to=/tmp/d", "HOME": "/h"})
  assert env["HOME"] == "/h" and env["OMP_NUM_THREADS"] == "1"
  assert env["XLA_FLAGS"].split() == ["--xla_dump_to=/tmp/d", "--xla_cpu_multi_thread_eigen=false"] + [
    "intra_op_parallelism_threads=1"
  ]
  assert (
    runner.single_thread_env({})["XLA_FLAGS"] == "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
  )


def test_child_jobs_name_each_run_without_a_result(tmp_path):
  studies = reproduce.load_studies(["long_tail"], tiny=True)
  study = studies["long_tail"]
  done = runner.run_dir(str(tmp_path), study, study.runs[0])
  os.makedirs(done)
  with open(os.path.join(done, runner.RESULT_NAME), "w") as f:
    json.dump(runner.settings(study.runs[0]), f)
  jobs = reproduce.child_jobs(studies, str(tmp_path), tiny=True)
  assert [job.name for job in jobs] == [f"long_tail {run.name}" for run in study.runs[1:]]
  run = study.runs[1]
  assert jobs[0].argv[1:] == ("-m", "el_jax.studies", f"--run=long_tail:{run.name}", f"--runs_dir={tmp_path}", "--tiny")
  assert jobs[0].log_path == os.path.join(runner.run_dir(str(tmp_path), study, run), "reproduce.log")


@pytest.mark.slow
def test_tiny_reproduce_with_two_jobs_trains_every_run_and_reports(tmp_path):
  runs_dir, report_dir = tmp_path / "runs", tmp_path / "report"
  command = [sys.executable, "reproduce.py", "--tiny", "--jobs=2", "--studies=long_tail"]
  command += [f"--runs_dir={runs_dir}", f"--report_dir={report_dir}"]
  done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800)
  assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
  for study in reproduce.load_studies(["long_tail"], tiny=True).values():
    for run in study.runs:
      assert os.path.isfile(os.path.join(runner.run_dir(str(runs_dir), study, run), runner.RESULT_NAME)), run.name
  text = (report_dir / "reproduction.md").read_text()
  assert "(c) Long-tailed" in text and "Pending runs" not in text
