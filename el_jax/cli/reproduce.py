"""`el-jax-reproduce` (also `python -m el_jax.studies` and the repository's `reproduce.py`): runs the CPU-scale
reproduction studies and writes the report (`reports/reproduction.md` and its figures).

  python reproduce.py                                   # every study, 5 seeds (about 4 hours on 2 cores)
  python reproduce.py --jobs 2                          # two single-threaded runs side by side (~1.3x faster)
  python reproduce.py --studies uci,long_tail           # some of them
  python reproduce.py --tiny --runs_dir /tmp/r --report_dir /tmp/r/report   # a minutes-long version (CI)
  python reproduce.py --report_only                     # rewrite the report from the results so far

Each study is a config file in el_jax/configs/studies/; runs that already have a result are skipped, and a half-trained
run resumes from its checkpoint, so an interrupted `reproduce.py` continues where it stopped. With `--jobs N`, N runs
train at once, each in a child process kept to one thread (`el_jax.studies.runner.single_thread_env`) and in its own
workdir, its output in `<workdir>/reproduce.log`; a failed run is reported and the others go on (the exit status is
then 1), and Ctrl-C stops every child. UCI sweeps run in the parent.
"""

import importlib
import os
import signal
import sys
import time

from absl import app, flags, logging

# Cheapest first; el_analyses reuses fashion_mnist.
STUDIES = ("uci", "long_tail", "el_analyses", "fashion_mnist", "mnist_digits")
_STUDIES = flags.DEFINE_list("studies", list(STUDIES), f"Studies to run, from {', '.join(STUDIES)}.")
_TINY = flags.DEFINE_bool("tiny", False, "A minutes-long version of every study (1 epoch, small subsets, 1-2 seeds).")
_RUNS_DIR = flags.DEFINE_string("runs_dir", "runs/studies", "Where the runs' checkpoints and results go.")
_REPORT_DIR = flags.DEFINE_string("report_dir", "reports", "Where reproduction.md, .json and figures/ go.")
_REPORT_ONLY = flags.DEFINE_bool("report_only", False, "Only write the report from the results so far.")
_JOBS = flags.DEFINE_integer("jobs", 1, "Runs to train side by side, each a single-threaded process.", lower_bound=1)
_RUN = flags.DEFINE_string(
  "run", None, "Train and evaluate one run, `<study>:<run name>` (fashion_mnist:lenet/ce/seed0); what --jobs starts."
)


def load_studies(names, tiny: bool) -> dict:
  """`{name: Study}` from el_jax/configs/studies/<name>.py."""
  unknown = sorted(set(names) - set(STUDIES))
  if unknown:
    raise app.UsageError(f"Unknown studies {unknown}; valid: {', '.join(STUDIES)}.")
  return {n: importlib.import_module(f"el_jax.configs.studies.{n}").get_study("tiny" if tiny else None) for n in names}


def find_run(study, name: str):
  """The run of `study` named `name` ("lenet/ce/seed0"); a UsageError lists a few valid names."""
  for run in study.runs:
    if run.name == name:
      return run
  names = [run.name for run in study.runs]
  raise app.UsageError(f"Study {study.name!r} has no run {name!r}. Valid: {', '.join(names[:5])}, ... ({len(names)}).")


def child_jobs(studies: dict, runs_dir: str, tiny: bool) -> list:
  """One `runner.Job` per run without a result, in study order: `python -m el_jax.studies --run=...`, logging to the
  run's workdir."""
  from el_jax.studies import runner

  jobs = []
  for study in studies.values():
    for run in study.runs:
      workdir = runner.run_dir(runs_dir, study, run)
      if runner.finished(study, runs_dir, run):
        continue
      argv = [sys.executable, "-m", "el_jax.studies", f"--run={study.name}:{run.name}", f"--runs_dir={runs_dir}"]
      argv += ["--tiny"] if tiny else []
      jobs.append(runner.Job(f"{study.name} {run.name}", tuple(argv), os.path.join(workdir, "reproduce.log")))
  return jobs


def _has_results(study, runs_dir: str) -> bool:
  """Whether any run of `study` (its sweep, for UCI) has a result in `runs_dir`."""
  from el_jax.studies import runner

  if study.uci is not None:
    return runner.finished(study, runs_dir)
  return any(runner.finished(study, runs_dir, run) for run in study.runs)


def _interrupt(signum, frame):
  raise KeyboardInterrupt(f"signal {signum}")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}.")
  if not flags.FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)
  import jax

  from el_jax.studies import runner

  jax.config.update("jax_compilation_cache_dir", os.path.join(_RUNS_DIR.value, ".jax_cache"))
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)  # runs differ by seed: most steps recompile
  if _RUN.value:  # one run, in a child of --jobs
    name, _, run_name = _RUN.value.partition(":")
    study = load_studies([name], _TINY.value)[name]
    run = find_run(study, run_name)
    workdir = runner.run_dir(_RUNS_DIR.value, study, run)
    if not runner.finished(study, _RUNS_DIR.value, run):
      result = runner.train_and_report(run, workdir)
      print(f"{_RUN.value}: accuracy {result['metrics']['accuracy']:.4f}; seconds {result['seconds']}", flush=True)
    return
  studies = load_studies(_STUDIES.value, _TINY.value)
  if "el_analyses" in studies and "fashion_mnist" not in studies:  # its figures come from study (a)'s LeNet runs
    studies = load_studies(["fashion_mnist"], _TINY.value) | studies
  if _REPORT_ONLY.value and not any(_has_results(s, _RUNS_DIR.value) for s in studies.values()):
    # A report of nothing would replace the one in --report_dir.
    raise app.UsageError(
      f"--report_only found no results of {', '.join(studies)} in {_RUNS_DIR.value!r}, so it leaves "
      f"{_REPORT_DIR.value!r} as it is. Train the runs first (drop --report_only) or point --runs_dir at them."
    )
  start = time.perf_counter()
  failed = []
  log = lambda line: print(line, flush=True)  # noqa: E731
  if not _REPORT_ONLY.value and _JOBS.value == 1:
    for study in studies.values():
      runner.run_study(study, _RUNS_DIR.value, log=log)
  elif not _REPORT_ONLY.value:
    for study in studies.values():
      if study.uci is not None:
        runner.run_study(study, _RUNS_DIR.value, log=log)
    signal.signal(signal.SIGTERM, _interrupt)  # stop the children on `kill` as on Ctrl-C
    jobs = child_jobs({n: s for n, s in studies.items() if s.uci is None}, _RUNS_DIR.value, _TINY.value)
    codes = runner.run_side_by_side(jobs, _JOBS.value, env=runner.single_thread_env(), log=log)
    failed = sorted(name for name, code in codes.items() if code != 0)
  from el_jax.studies import report  # not in a --run child: the report is written once, by the parent

  paths = report.write(studies, _RUNS_DIR.value, _REPORT_DIR.value, tiny=_TINY.value)
  print(f"report: {paths[0]} ({time.perf_counter() - start:.0f} s)")
  if failed:
    print(f"{len(failed)} run(s) failed: {', '.join(failed)}", file=sys.stderr)
    sys.exit(1)


def run():
  """The console script."""
  app.run(main)


if __name__ == "__main__":
  run()
