"""`el-jax-average` (also `python -m el_jax.cli.average`): averages the last N checkpoints of a workdir into a new
workdir, whose one checkpoint is their mean (`el_jax.train.averaging`), as the EL paper's translation results do
(the last 10 epochs' checkpoints); evaluate it as any workdir.

  el-jax-average --workdir runs/iwslt_de_en_el --out_dir runs/iwslt_de_en_el_avg10 --last 10
  python evaluate.py --workdir runs/iwslt_de_en_el_avg10
"""

from absl import app, flags

_WORKDIR = flags.DEFINE_string("workdir", None, "A workdir written by train.py.", required=True)
_OUT_DIR = flags.DEFINE_string(
  "out_dir", None, "The new workdir of the averaged model (must not exist).", required=True
)
_LAST = flags.DEFINE_integer("last", 10, "How many of the newest checkpoints to average.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  from el_jax.train import averaging  # imported after flag parsing so `--help` and flag errors are fast

  steps = averaging.average_checkpoints(_WORKDIR.value, _OUT_DIR.value, last=_LAST.value)
  print(f"{_OUT_DIR.value}: the mean of checkpoints {steps} of {_WORKDIR.value}.")


def run():
  """The console script."""
  app.run(main)


if __name__ == "__main__":
  run()
