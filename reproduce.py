"""Runs the CPU-scale reproduction studies and writes the report (`reports/reproduction.md` and its figures).

  python reproduce.py                                   # every study, 3 seeds (about 2 hours 15 minutes on 2 cores)
  python reproduce.py --studies uci,long_tail           # some of them
  python reproduce.py --tiny --runs_dir /tmp/r --report_dir /tmp/r/report   # a minutes-long version (CI)
  python reproduce.py --report_only                     # rewrite the report from the results so far

Each study is a config file in configs/studies/; runs that already have a result are skipped, and a half-trained
run resumes from its checkpoint, so an interrupted `reproduce.py` continues where it stopped.
"""

import importlib
import os
import sys
import time

from absl import app, flags, logging

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

STUDIES = ("uci", "long_tail", "el_analyses", "fashion_mnist")  # cheapest first; el_analyses reuses fashion_mnist
_STUDIES = flags.DEFINE_list("studies", list(STUDIES), f"Studies to run, from {', '.join(STUDIES)}.")
_TINY = flags.DEFINE_bool("tiny", False, "A minutes-long version of every study (1 epoch, small subsets, 1-2 seeds).")
_RUNS_DIR = flags.DEFINE_string("runs_dir", "runs/studies", "Where the runs' checkpoints and results go.")
_REPORT_DIR = flags.DEFINE_string("report_dir", "reports", "Where reproduction.md, .json and figures/ go.")
_REPORT_ONLY = flags.DEFINE_bool("report_only", False, "Only write the report from the results so far.")


def load_studies(names, tiny: bool) -> dict:
  """`{name: Study}` from configs/studies/<name>.py."""
  unknown = sorted(set(names) - set(STUDIES))
  if unknown:
    raise app.UsageError(f"Unknown studies {unknown}; valid: {', '.join(STUDIES)}.")
  return {n: importlib.import_module(f"configs.studies.{n}").get_study("tiny" if tiny else None) for n in names}


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}.")
  if not flags.FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)
  import jax

  from el_jax.studies import report, runner

  jax.config.update("jax_compilation_cache_dir", os.path.join(_RUNS_DIR.value, ".jax_cache"))
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)  # runs differ by seed: most steps recompile
  studies = load_studies(_STUDIES.value, _TINY.value)
  if "el_analyses" in studies and "fashion_mnist" not in studies:  # its figures come from study (a)'s LeNet runs
    studies = load_studies(["fashion_mnist"], _TINY.value) | studies
  start = time.perf_counter()
  if not _REPORT_ONLY.value:
    for study in studies.values():
      runner.run_study(study, _RUNS_DIR.value, log=lambda line: print(line, flush=True))
  paths = report.write(studies, _RUNS_DIR.value, _REPORT_DIR.value, tiny=_TINY.value)
  print(f"report: {paths[0]} ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
  app.run(main)
