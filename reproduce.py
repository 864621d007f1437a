"""The `el-jax-reproduce` command from a checkout: `python reproduce.py --help` (see `el_jax/cli/reproduce.py`)."""

from el_jax.cli.reproduce import run

if __name__ == "__main__":
  run()
