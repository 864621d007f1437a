"""`python -m el_jax.evaluate`: the `el-jax-evaluate` command (`el_jax.cli.evaluate`)."""

from el_jax.cli.evaluate import run

run()
