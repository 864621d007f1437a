"""The package as pip builds and installs it: a core that needs only jax and numpy, extras named when missing, the
command line and the configs inside the wheel."""

import email.parser
import json
import os
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONSTRAINTS = os.path.join(ROOT, "constraints.txt")


# What a wheel is not built from: local environments, outputs and caches (setuptools would also leave a `build/`
# folder in the tree it builds, whose stale files could end up in a later wheel).
NOT_SOURCES = (
  ".git",
  ".venv",
  "runs",
  "build",
  "dist",
  "reports",
  "*.egg-info",
  "__pycache__",
  ".*_cache",
  ".hypothesis",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
  source = tmp_path_factory.mktemp("source") / "el_jax"
  shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(*NOT_SOURCES))
  out = tmp_path_factory.mktemp("wheel")
  command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(source)]
  subprocess.run(command, check=True, capture_output=True, timeout=600)
  (path,) = out.glob("el_jax-*.whl")
  return path


def _metadata(wheel):
  with zipfile.ZipFile(wheel) as z:
    names = z.namelist()
    info = next(n for n in names if n.endswith(".dist-info/METADATA"))
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    return names, email.parser.Parser().parsestr(z.read(info).decode()), z.read(entry_points).decode()


def test_wheel_requires_only_jax_and_numpy_and_names_its_extras(wheel):
  _, metadata, _ = _metadata(wheel)
  requires = metadata.get_all("Requires-Dist")
  unconditional = sorted(r.split(";")[0].strip() for r in requires if "extra ==" not in r)
  assert unconditional == ["jax", "numpy"]
  assert {"train", "eval", "data", "text", "cuda", "all", "dev"} <= set(metadata.get_all("Provides-Extra"))
  assert metadata["License-Expression"] == "Apache-2.0"
  assert metadata["Version"] == "0.2.0"


def test_wheel_holds_the_command_line_configs_license_and_type_marker(wheel):
  names, _, entry_points = _metadata(wheel)
  for script in ("el-jax-train = el_jax.cli.train:run", "el-jax-evaluate = el_jax.cli.evaluate:run"):
    assert script in entry_points
  assert "el-jax-reproduce = el_jax.cli.reproduce:run" in entry_points
  for path in (
    "el_jax/configs/quickstart.py",
    "el_jax/configs/common.py",
    "el_jax/configs/hem/mnist.py",
    "el_jax/configs/studies/fashion_mnist.py",
    "el_jax/configs/README.md",
    "el_jax/py.typed",
    "el_jax/train/__main__.py",
    "el_jax/studies/__main__.py",
  ):
    assert path in names
  assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def _el_gradient_reference(z, y):
  """d/dz of -log p_y + log(1 - p_y) (EL's normal bonus, away from its clamp), from the formula."""
  p = np.exp(z - z.max(-1, keepdims=True))
  p /= p.sum(-1, keepdims=True)
  onehot = np.eye(z.shape[-1])[y]
  p_y = p[np.arange(len(y)), y][:, None]
  return (p - onehot - p_y * (onehot - p) / (1.0 - p_y)) / len(y)


@pytest.mark.slow
def test_core_wheel_alone_runs_the_losses_and_names_the_extra_of_the_rest(wheel, tmp_path):
  venv = tmp_path / "venv"
  env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the venv alone: no checkout on the path
  subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
  python = str(venv / "bin" / "python")
  install = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-c", CONSTRAINTS, str(wheel)]
  subprocess.run(install, check=True, capture_output=True, timeout=900, env=env)
  z = np.array([[2.0, 0.5, -1.0], [0.1, 0.3, 0.2]])
  y = np.array([0, 2])
  script = f"""
import json, jax, numpy as np
jax.config.update("jax_enable_x64", True)
import el_jax.losses as L
z, y = np.array({z.tolist()}), np.array({y.tolist()})
grad = jax.jit(jax.grad(lambda z: L.encouraging_loss(z, y).mean()))(z)
try:
  import el_jax.train
  message = None
except ImportError as e:
  message = str(e)
print(json.dumps({{"grad": np.asarray(grad).tolist(), "message": message, "file": L.__file__}}))
"""
  out = subprocess.run([python, "-c", script], capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
  assert out.returncode == 0, out.stderr[-3000:]
  result = json.loads(out.stdout.strip().splitlines()[-1])
  assert result["file"].startswith(str(venv))  # the installed wheel was imported
  np.testing.assert_allclose(result["grad"], _el_gradient_reference(z, y), rtol=1e-10)
  assert "el_jax.train needs the 'train' extra" in result["message"]
  assert "pip install 'el_jax[train]'" in result["message"]
  freeze = subprocess.run([python, "-m", "pip", "freeze"], check=True, capture_output=True, text=True, env=env).stdout
  assert "flax" not in freeze and "tensorflow" not in freeze  # nothing of the extras came with the core
