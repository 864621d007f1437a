"""`el-jax-graph-protocol` (also `python -m el_jax.cli.graph_protocol`): the EL paper's graph-classification protocol
(`el_jax.studies.graph_protocol`): `--runs` runs of `--splits` random splits of PROTEINS or NCI1, each split trained
with `configs/encouraging_loss/graphs.py` and scored by its test accuracy at the epoch of best validation accuracy;
prints and writes (`<runs_dir>/graph_protocol.json`) the mean +- sd over the runs. Rerun the same command to resume.

  el-jax-graph-protocol --data proteins --loss el --data_dir DIR --runs 5 --splits 50 --runs_dir runs/el_graphs
  el-jax-graph-protocol --data proteins --loss ce --smoke --runs 2 --splits 2 --runs_dir /tmp/graphs  # stand-ins
"""

import os

from absl import app, flags, logging

_DATA = flags.DEFINE_enum("data", "proteins", ["proteins", "nci1"], "The TU Dortmund data set.")
_LOSS = flags.DEFINE_enum("loss", "el", ["el", "ce"], "EL (LE = 0.5, deferred bonus) or cross-entropy.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "The folder of the unzipped PROTEINS/ or NCI1/ files.")
_RUNS = flags.DEFINE_integer("runs", 5, "Runs (training seeds), each with its own splits.")
_SPLITS = flags.DEFINE_integer("splits", 50, "Random 80/10/10 splits per run.")
_RUNS_DIR = flags.DEFINE_string("runs_dir", None, "Where the runs train: <runs_dir>/<data>_<loss>/.", required=True)
_SMOKE = flags.DEFINE_bool("smoke", False, "A few steps on synthetic stand-ins of the data (no download).")
_EPOCHS = flags.DEFINE_integer("num_epochs", None, "Override the epoch cap (early stopping ends training before it).")


def _make_config(run: int, split_seed: int):
  from el_jax.configs.encouraging_loss import graphs

  config = graphs.get_config(
    f"data={_DATA.value},loss={_LOSS.value},split_seed={split_seed}" + (",smoke" * _SMOKE.value)
  )
  config.seed = run
  if not _SMOKE.value:
    config.dataset.options.data_dir = _DATA_DIR.value
  if _EPOCHS.value is not None:
    config.num_epochs = _EPOCHS.value
  return config


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  if not flags.FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)
  if not _SMOKE.value and not _DATA_DIR.value:
    raise app.UsageError("--data_dir is required (the unzipped TU Dortmund files), or --smoke for stand-ins.")
  from el_jax.studies import graph_protocol  # imported after flag parsing so `--help` and flag errors are fast

  runs_dir = os.path.join(_RUNS_DIR.value, f"{_DATA.value}_{_LOSS.value}")
  summary = graph_protocol.run_protocol(_make_config, runs_dir, runs=_RUNS.value, splits=_SPLITS.value)
  sd = "" if summary.sd is None else f" +- {100 * summary.sd:.2f}"
  runs = f"{_RUNS.value} runs of {_SPLITS.value} splits"
  print(f"{_DATA.value} {_LOSS.value}: test accuracy {100 * summary.mean:.2f}{sd} % ({runs}), in {runs_dir}")


def run():
  """The console script."""
  app.run(main)


if __name__ == "__main__":
  run()
