"""The installed commands, run from an empty folder outside the repository: `el-jax-train` with a shipped config's
name trains, `el-jax-evaluate` evaluates the run, `python -m el_jax.<part>` starts the same commands, and a config that
is neither a file nor a shipped name is refused with the list of names."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def _command(name: str) -> str:
  path = BIN / name
  if not path.is_file():
    pytest.fail(f"{path} is missing: the console scripts come with the install (make install, or pip install -e .)")
  return str(path)


def _run(argv, cwd, data_dir):
  env = dict(os.environ, EL_JAX_DATA_DIR=str(data_dir))
  return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_train_then_evaluate_from_an_empty_folder(fake_fashion_mnist_dir, tmp_path):
  empty = tmp_path / "empty"
  empty.mkdir()
  train = [
    _command("el-jax-train"),
    "--config",
    "quickstart:smoke",
    "--config.dataset.train_subset=256",
    "--config.dataset.eval_subset=250",
    "--config.num_epochs=1",
    "--workdir=run",
  ]
  out = _run(train, empty, fake_fashion_mnist_dir)
  assert out.returncode == 0, out.stderr[-3000:]
  assert (empty / "run" / "config.json").is_file()
  # the fake test split has 300 images; the cheap sections only
  evaluate = [_command("el-jax-evaluate"), "--workdir=run", "--test_subset=200", "--noprobe", "--nocorruptions"]
  evaluate += ["--fgsm_eps=", "--pgd_linf_eps=", "--pgd_l2_eps=", "--ood_count=100"]
  out = _run(evaluate, empty, fake_fashion_mnist_dir)
  assert out.returncode == 0, out.stderr[-3000:]
  report = json.loads((empty / "run" / "evaluation.json").read_text())
  assert report["accuracy"]["n"] == 200 if "n" in report["accuracy"] else 0.0 <= report["accuracy"]["top1"] <= 1.0
  assert sorted(p.name for p in empty.iterdir()) == ["run"]  # nothing written outside the workdir


def test_module_entry_points_answer_help(tmp_path):
  modules = (("el_jax.train", "--workdir"), ("el_jax.evaluate", "--compare"), ("el_jax.studies", "--jobs"))
  for module, flag in (*modules, ("el_jax.cli.average", "--last"), ("el_jax.cli.graph_protocol", "--splits")):
    out = subprocess.run([sys.executable, "-m", module, "--helpfull"], cwd=tmp_path, capture_output=True, text=True)
    assert flag in out.stdout, out.stderr[-2000:]  # absl prints the help, then exits with status 1
  command = [sys.executable, "-m", "el_jax.cli.graph_protocol", f"--runs_dir={tmp_path / 'graphs'}"]
  out = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
  assert out.returncode != 0 and "--data_dir is required" in out.stderr
  assert not (tmp_path / "graphs").exists()


def test_an_unknown_config_name_lists_the_shipped_ones(tmp_path):
  out = subprocess.run(
    [sys.executable, "-m", "el_jax.train", "--config", "quickstrat", "--workdir", "x"],
    cwd=tmp_path,
    capture_output=True,
    text=True,
  )
  assert out.returncode != 0
  assert "'quickstrat' is neither a file nor a config shipped with el_jax" in out.stderr
  assert "quickstart" in out.stderr and "hem/mnist" in out.stderr
  assert not (tmp_path / "x").exists()
