"""Trains a classifier as a config describes, resuming from the workdir's latest checkpoint.

  python train.py --config configs/quickstart.py --workdir runs/quickstart
  python train.py --config configs/quickstart.py:smoke --config.num_epochs=1 --workdir /tmp/run

`--config path.py[:arg]` names a file defining `get_config(arg)`; `--config.key=value` overrides one entry of the
(locked) config, so a mistyped key fails before anything runs.
"""

import os
import sys

from absl import app, flags, logging
from ml_collections import config_flags

# Config files import `configs.common`: make the repository root importable however train.py is started.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

_CONFIG = config_flags.DEFINE_config_file("config", None, "Path to a config file, with an optional :arg.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Folder for checkpoints and metrics; a rerun resumes from it.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  if not flags.FLAGS["verbosity"].present:
    # Library INFO logs (Orbax reports every save) drown the progress bar; `--verbosity=0` shows them.
    logging.set_verbosity(logging.WARNING)
  from el_jax import train  # imported after flag parsing so `--help` and flag errors are fast

  train.train_and_evaluate(_CONFIG.value, _WORKDIR.value)


if __name__ == "__main__":
  app.run(main)
