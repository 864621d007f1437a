"""The `el-jax-train` command from a checkout: `python train.py --help` (see `el_jax/cli/train.py`)."""

from el_jax.cli.train import run

if __name__ == "__main__":
  run()
