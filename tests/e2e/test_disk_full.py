"""A disk that fills up during training: the trainer stops with the error, never hangs, and keeps what it committed."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def small_disk(tmp_path):
  """A 700 kB tmpfs: room for the run's records and a checkpoint or two of the smoke run's LeNet (about 250 kB each)."""
  folder = tmp_path / "disk"
  folder.mkdir()
  mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=700k", "tmpfs", str(folder)], capture_output=True)
  if mounted.returncode:
    pytest.skip(f"cannot mount a small tmpfs here (needs root): {mounted.stderr.decode().strip()}")
  yield folder
  subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.mark.slow
def test_a_full_disk_stops_training_with_the_error(fake_fashion_mnist_dir, small_disk):
  workdir = small_disk / "run"
  command = [
    sys.executable,
    "train.py",
    "--config=configs/quickstart.py:smoke",
    "--config.dataset.train_subset=256",
    "--config.dataset.eval_subset=100",
    "--config.batch_size=32",
    "--config.eval_batch_size=100",
    "--config.num_epochs=20",
    "--config.checkpoint_keep=20",  # keep every epoch's checkpoint until the disk is full
    f"--workdir={workdir}",
  ]
  env = dict(os.environ, EL_JAX_DATA_DIR=str(fake_fashion_mnist_dir), JAX_PLATFORMS="cpu")
  out = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)  # never hangs
  assert out.returncode == 1, out.stderr[-3000:]
  assert "No space left on device" in out.stderr, out.stderr[-3000:]
  committed = [name for name in os.listdir(workdir / "checkpoints") if name.isdigit()]
  assert committed, "the checkpoints committed before the disk filled up are kept"
