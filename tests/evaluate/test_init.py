"""Importing `el_jax.evaluate` is light and cycle-free: no matplotlib, in either order with `el_jax.train`, and its
public names load on first use."""

import subprocess
import sys

import pytest

import el_jax.evaluate


def _python(code: str) -> str:
  return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300).stdout


@pytest.mark.parametrize(
  "imports",
  [
    "import el_jax.train; import el_jax.evaluate",
    "import el_jax.evaluate; import el_jax.train",
    "import el_jax.evaluate.metrics; import el_jax.train.step",
    "import el_jax.evaluate.evaluators",
  ],
)
def test_imports_in_a_fresh_interpreter_need_no_matplotlib(imports):
  out = _python(f"{imports}; import sys, el_jax.evaluate as e; e.check_evals; print('matplotlib' in sys.modules)")
  assert out.strip() == "False"


def test_the_public_names_load_on_first_use():
  assert el_jax.evaluate.run.__module__ == "el_jax.evaluate.suite"
  assert el_jax.evaluate.check_evals.__module__ == "el_jax.evaluate.during_training"
  assert sorted(el_jax.evaluate.__all__) == el_jax.evaluate.__all__
  with pytest.raises(AttributeError, match="no attribute 'nothing'"):
    el_jax.evaluate.nothing  # noqa: B018
