"""`python -m el_jax.train`: the `el-jax-train` command (`el_jax.cli.train`)."""

from el_jax.cli.train import run

run()
