"""Nothing el_jax reads can run code: no pickle, and numpy files are loaded without unpickling objects."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_no_module_unpickles_data():
  sources = [p for p in (ROOT / "el_jax").rglob("*.py")] + [ROOT / name for name in ("train.py", "evaluate.py")]
  offending = []
  for path in sources:
    text = path.read_text()
    for pattern in (r"\bimport pickle\b", r"\bpickle\.load", r"allow_pickle\s*=\s*True", r"\bimport dill\b"):
      if re.search(pattern, text):
        offending.append(f"{path.relative_to(ROOT)}: {pattern}")
  assert not offending, offending
