"""Runs a study: trains and evaluates each run that has no result yet, so an interrupted study resumes.

Each run trains in `<runs_dir>/<study>/<run name>/` (the trainer resumes a half-trained run from its checkpoint) and
is then evaluated by `el_jax.evaluate.suite` (the evaluators its `evaluation` options select); its figures go to
`result.json` (the flat `metrics` the report tabulates, and the full evaluation report) and its per-example arrays
(margins, energies, OOD scores) to `arrays.npz`. A UCI sweep writes `<runs_dir>/uci/records.json`, with the seconds
it took.

`run_side_by_side` runs several commands at once, each a single-threaded child process (`SINGLE_THREAD_ENV`): what
`reproduce.py --jobs N` uses to train N runs side by side, each in its own workdir.
"""

import collections
import dataclasses
import json
import math
import os
import signal
import subprocess
import time

import numpy as np

from el_jax.evaluate import suite
from el_jax.studies import uci
from el_jax.train import checkpoint, loop
from el_jax.train.workdir import Workdir

RESULT_NAME = "result.json"
ARRAYS_NAME = "arrays.npz"
UCI_NAME = "records.json"


def metrics(report: dict) -> dict:
  """The flat figures of one evaluation report that the study tables use (see `el_jax.studies.claims.METRICS`)."""
  out = {
    "accuracy": report["accuracy"]["top1"],
    "nll": report["accuracy"]["nll"],
    "ece": report["calibration"]["ece"],
    "median_margin": report["margins"]["q50"],
    "mean_energy": report["energy"]["on_data"],
  }
  ood = report.get("ood")  # absent when the inputs are not images
  for score in ("msp", "max_logit") if ood else ():
    out[f"ood_auroc_{score}"] = ood["mean"][score]["auroc"]
    out[f"fpr95_{score}"] = ood["mean"][score]["fpr_at_95tpr"]
    if ood.get("real_set") in ood["sets"]:
      out[f"ood_auroc_{score}_real"] = ood["sets"][ood["real_set"]][score]["auroc"]
      out[f"fpr95_{score}_real"] = ood["sets"][ood["real_set"]][score]["fpr_at_95tpr"]
  if "corruptions" in report:
    out["corruption_accuracy"] = report["corruptions"]["mean_accuracy"]
  for attack, curve in report.get("adversarial", {}).items():
    for i, eps in enumerate(curve["eps"][1:], start=1):
      out[f"{attack}_{eps:g}"] = curve["robust_accuracy"][i]
      if attack != "fgsm":
        for score in ("msp", "max_logit"):
          out[f"dar_{score}_{attack}_{eps:g}"] = curve[f"dar_{score}"][i]
  if "probe" in report:
    out["probe_accuracy"] = report["probe"]["test_accuracy"]
  for group, value in report["accuracy"].get("shot", {}).items():
    if not math.isnan(value):
      out[f"{group}_shot"] = value
  return {k: float(v) for k, v in out.items()}


def run_dir(runs_dir: str, study, run) -> str:
  return os.path.join(runs_dir, study.name, run.name)


def train_and_report(run, workdir: str) -> dict:
  """Trains `run` in `workdir` (resuming), evaluates its last checkpoint and writes its result files
  (`result.json`, `arrays.npz`); returns the result."""
  start = time.perf_counter()
  loop.train_and_evaluate(run.config, workdir)
  trained = time.perf_counter()
  model, step = Workdir(workdir).load_model()
  config = run.config.to_dict()
  report, arrays = suite.run(model, config, suite.Options(**run.evaluation))
  result = {
    "group": run.group,
    "labels": run.labels,
    "seed": run.seed,
    "step": int(step),
    "metrics": metrics(report),
    "seconds": {"train": round(trained - start, 1), "evaluate": round(time.perf_counter() - trained, 1)},
    "config": config,
    "evaluation": dict(run.evaluation),
    "report": report,
  }
  np.savez_compressed(os.path.join(workdir, ARRAYS_NAME), **arrays)
  with open(os.path.join(workdir, RESULT_NAME + ".tmp"), "w") as f:
    json.dump(result, f, indent=1)
  os.replace(os.path.join(workdir, RESULT_NAME + ".tmp"), os.path.join(workdir, RESULT_NAME))  # written last
  return result


class StaleResult(ValueError):
  """A result file written for other settings than the study's current ones."""


# Settings of a run that do not change its result (logging, its writers, checkpointing, the per-epoch evaluation's
# batch size): a result may be reused when only these differ.
RESULT_NEUTRAL_KEYS = frozenset(
  f"config.{key}"
  for key in ("log_every_steps", "checkpoint_every_steps", "checkpoint_keep", "eval_batch_size", "writers", "wandb")
)


def _check_current(path: str, saved: dict, current: dict) -> None:
  """Raises `StaleResult` naming the settings in which the `saved` ones of `path` differ from the `current` ones
  (`checkpoint.differing_settings`, leaving out `RESULT_NEUTRAL_KEYS`)."""
  differing = checkpoint.differing_settings(saved, current, may_differ=RESULT_NEUTRAL_KEYS)
  if differing:
    details = "; ".join(f"{k}: {there!r} there, {now!r} now" for k, there, now in differing[:5])
    raise StaleResult(
      f"{path} was written for other settings ({details}{'; ...' if len(differing) > 5 else ''}). Move it (or its "
      "run folder) away to run it again with the current settings, or use another --runs_dir."
    )


def finished(study, runs_dir: str, run=None) -> bool:
  """Whether `run` of `study` (the UCI sweep when `study.uci` is set) has a result in `runs_dir`.

  Raises:
    StaleResult: if the result was written for other settings (a changed recipe, evaluation or sweep): it is
      never silently reused, nor overwritten.
  """
  if study.uci is not None:
    path = os.path.join(runs_dir, study.name, UCI_NAME)
    if not os.path.isfile(path):
      return False
    with open(path) as f:
      _check_current(path, json.load(f)["sweep"], sweep_settings(study.uci))
    return True
  path = os.path.join(run_dir(runs_dir, study, run), RESULT_NAME)
  if not os.path.isfile(path):
    return False
  with open(path) as f:
    saved = json.load(f)
  # The training config and the evaluation options: a result without the latter cannot show what it evaluated.
  _check_current(path, {k: saved.get(k) for k in ("config", "evaluation")}, settings(run))
  return True


def settings(run) -> dict:
  """What a run's result depends on, as its `result.json` records it: the training config and evaluation options."""
  return {"config": run.config.to_dict(), "evaluation": dict(run.evaluation)}


def run_study(study, runs_dir: str, *, log=print) -> None:
  """Runs every run of `study` without a result in `runs_dir`."""
  if study.uci is not None:
    path = os.path.join(runs_dir, study.name, UCI_NAME)
    if finished(study, runs_dir):
      log(f"{study.name}: done ({path})")
      return
    start = time.perf_counter()
    records = uci.run(study.uci, log=log)
    seconds = round(time.perf_counter() - start, 1)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
      json.dump({"sweep": sweep_settings(study.uci), "records": records, "seconds": seconds}, f, indent=1)
    return
  for index, run in enumerate(study.runs, start=1):
    workdir = run_dir(runs_dir, study, run)
    if finished(study, runs_dir, run):
      continue
    log(f"{study.name} [{index}/{len(study.runs)}] {run.name}")
    result = train_and_report(run, workdir)
    log(
      f"  accuracy {result['metrics']['accuracy']:.4f}; train {result['seconds']['train']} s, "
      f"evaluate {result['seconds']['evaluate']} s"
    )


def load_results(study, runs_dir: str):
  """The results written so far: a list of run results, or the UCI records; missing runs are left out."""
  if study.uci is not None:
    if not finished(study, runs_dir):
      return []
    with open(os.path.join(runs_dir, study.name, UCI_NAME)) as f:
      return json.load(f)["records"]
  results = []
  for run in study.runs:
    if finished(study, runs_dir, run):
      with open(os.path.join(run_dir(runs_dir, study, run), RESULT_NAME)) as f:
        results.append(json.load(f))
  return results


def recorded_seconds(study, runs_dir: str, results: list):
  """Seconds of training and evaluation recorded by the study's finished runs, `results` being what
  `load_results` returned (None for a UCI sweep whose records predate timing)."""
  if study.uci is not None:
    path = os.path.join(runs_dir, study.name, UCI_NAME)
    if not os.path.isfile(path):
      return 0.0
    with open(path) as f:
      return json.load(f).get("seconds")
  return float(sum(sum(r.get("seconds", {}).values()) for r in results))


def load_arrays(study, runs_dir: str, run) -> dict:
  with np.load(os.path.join(run_dir(runs_dir, study, run), ARRAYS_NAME)) as npz:
    return dict(npz)


def sweep_settings(sweep) -> dict:
  """A UCI sweep's settings as its `records.json` holds them."""
  return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(sweep).items()}


# ---- Side by side ------------------------------------------------------------------------------------------------

# The environment that keeps a child to one compute thread: XLA's CPU backend (Eigen's thread pool for dots and
# convolutions, its intra-op pool) and any OpenMP/BLAS library that numpy or scipy bring.
SINGLE_THREAD_XLA_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
SINGLE_THREAD_ENV = {
  "OMP_NUM_THREADS": "1",
  "OPENBLAS_NUM_THREADS": "1",
  "MKL_NUM_THREADS": "1",
  "TF_NUM_INTRAOP_THREADS": "1",
  "TF_NUM_INTEROP_THREADS": "1",
}
LOG_TAIL = 2000  # characters of a failed child's log shown in the parent's log


def single_thread_env(environ=None) -> dict:
  """A copy of `environ` (default: `os.environ`) with `SINGLE_THREAD_ENV` set and the single-thread XLA flags
  appended to any `XLA_FLAGS` already there."""
  env = dict(os.environ if environ is None else environ) | SINGLE_THREAD_ENV
  env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} {SINGLE_THREAD_XLA_FLAGS}".strip()
  return env


@dataclasses.dataclass(frozen=True)
class Job:
  """One child process: `argv`, with stdout and stderr written to `log_path`."""

  name: str
  argv: tuple
  log_path: str


def _tail(path: str) -> str:
  try:
    with open(path, errors="replace") as f:
      return f.read()[-LOG_TAIL:]
  except OSError as e:
    return f"(no log: {e})"


def _stop(running: dict, grace_s: float) -> None:
  """Sends SIGINT to every running child, waits up to `grace_s` seconds for each, then kills those still alive."""
  for process in running:
    if process.poll() is None:
      process.send_signal(signal.SIGINT)
  deadline = time.monotonic() + grace_s
  for process in running:
    try:
      process.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
      process.kill()
      process.wait()


def run_side_by_side(
  jobs, workers: int, *, env=None, cwd=None, log=print, poll_s: float = 0.2, grace_s: float = 30.0
) -> dict:
  """Runs `jobs` (`Job`s) as child processes, at most `workers` at a time, in order; returns `{name: return code}`.

  A failing child (non-zero exit) is logged with the tail of its log and the others go on. On KeyboardInterrupt
  (Ctrl-C; `reproduce.py` also turns SIGTERM into one) every running child gets SIGINT, then SIGKILL after `grace_s`
  seconds, no further job starts, and the interrupt is raised again.
  """
  if workers < 1:
    raise ValueError(f"workers must be at least 1, got {workers}.")
  queue = collections.deque(jobs)
  total = len(queue)
  running = {}  # process -> (job, log file, start time)
  codes = {}
  try:
    while queue or running:
      while queue and len(running) < workers:
        job = queue.popleft()
        os.makedirs(os.path.dirname(job.log_path) or ".", exist_ok=True)
        out = open(job.log_path, "a")  # closed when the child ends
        process = subprocess.Popen(job.argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        running[process] = (job, out, time.perf_counter())
        log(f"[{total - len(queue)}/{total}] start {job.name}")
      time.sleep(poll_s)
      for process in [p for p in running if p.poll() is not None]:
        job, out, start = running.pop(process)
        out.close()
        codes[job.name] = process.returncode
        seconds = time.perf_counter() - start
        if process.returncode == 0:
          log(f"  done {job.name} ({seconds:.0f} s)")
        else:
          failed = f"  FAILED {job.name} (exit {process.returncode}, {seconds:.0f} s); log {job.log_path}:"
          log(f"{failed}\n{_tail(job.log_path)}")
  except KeyboardInterrupt:
    log(f"interrupted: stopping {len(running)} running job(s)")
    _stop(running, grace_s)
    for _, out, _ in running.values():
      out.close()
    raise
  return codes
