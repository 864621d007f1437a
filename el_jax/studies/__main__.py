"""`python -m el_jax.studies`: the `el-jax-reproduce` command (`el_jax.cli.reproduce`)."""

from el_jax.cli.reproduce import run

run()
