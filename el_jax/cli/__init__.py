"""The command line: `el-jax-train`, `el-jax-evaluate` and `el-jax-reproduce` (console scripts), also started as
`python -m el_jax.train`, `python -m el_jax.evaluate` and `python -m el_jax.studies`, and by the repository's
`train.py`, `evaluate.py` and `reproduce.py`. Each module defines its absl flags and `run()`."""

from el_jax import _extras

_extras.require("el_jax.cli", "train")
