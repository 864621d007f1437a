"""The `el-jax-evaluate` command from a checkout: `python evaluate.py --help` (see `el_jax/cli/evaluate.py`)."""

from el_jax.cli.evaluate import run

if __name__ == "__main__":
  run()
