"""The trainer across device meshes, processes and interruptions, run as `train.py` subprocesses on CPU devices."""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# 512 synthetic training examples in batches of 32: 16 steps an epoch.
BASE_FLAGS = (
  "--config=configs/quickstart.py:smoke",
  "--config.dataset.train_subset=512",
  "--config.dataset.eval_subset=300",
  "--config.batch_size=32",
  "--config.eval_batch_size=100",
  "--config.log_every_steps=1",
)

pytestmark = pytest.mark.slow


def _command(workdir, *flags):
  return [sys.executable, "train.py", *BASE_FLAGS, f"--workdir={workdir}", *flags]


def _env(data_dir):
  return dict(os.environ, EL_JAX_DATA_DIR=str(data_dir), JAX_PLATFORMS="cpu")


def _train(data_dir, workdir, *flags):
  out = subprocess.run(_command(workdir, *flags), cwd=ROOT, env=_env(data_dir), capture_output=True, text=True)
  assert out.returncode == 0, out.stderr[-3000:]
  return _records(workdir)


def _records(workdir):
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [json.loads(line) for line in f]


def _curve(records):
  return np.array([r["train/loss"] for r in records if "train/loss" in r])


def _final_eval(records):
  return [r for r in records if "eval/loss" in r][-1]


def _free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def test_one_device_and_four_device_meshes_agree(fake_fashion_mnist_dir, tmp_path):
  flags = ("--config.num_epochs=2",)
  one = _train(fake_fashion_mnist_dir, tmp_path / "one", "--cpu_devices=1", *flags)
  four = _train(fake_fashion_mnist_dir, tmp_path / "four", "--cpu_devices=4", *flags)
  # FSDP: parameters (those with >= 64 elements) split over 2 devices, batch over all 4.
  fsdp = _train(
    fake_fashion_mnist_dir,
    tmp_path / "fsdp",
    "--cpu_devices=4",
    "--config.mesh.fsdp=2",
    "--config.mesh.fsdp_min_size=64",
    *flags,
  )
  assert len(_curve(one)) == 32
  # Summation order differs between meshes: the curves agree to float32 rounding, not bit for bit.
  np.testing.assert_allclose(_curve(four), _curve(one), rtol=2e-4, atol=2e-5)
  np.testing.assert_allclose(_curve(fsdp), _curve(one), rtol=2e-4, atol=2e-5)
  for other in (four, fsdp):
    assert _final_eval(other)["eval/accuracy"] == _final_eval(one)["eval/accuracy"]
    np.testing.assert_allclose(_final_eval(other)["eval/loss"], _final_eval(one)["eval/loss"], rtol=1e-4)


def test_two_processes_match_one_process(fake_fashion_mnist_dir, tmp_path):
  flags = ("--config.num_epochs=1",)
  single = _train(fake_fashion_mnist_dir, tmp_path / "single", "--cpu_devices=4", *flags)
  port = _free_port()
  workdir = tmp_path / "multi"
  procs = [
    subprocess.Popen(
      _command(
        workdir,
        "--cpu_devices=2",
        f"--coordinator_address=127.0.0.1:{port}",
        "--num_processes=2",
        f"--process_id={i}",
        *flags,
      ),
      cwd=ROOT,
      env=_env(fake_fashion_mnist_dir),
      stdout=subprocess.PIPE,
      stderr=subprocess.PIPE,
      text=True,
    )
    for i in range(2)
  ]
  outputs = [p.communicate(timeout=240) for p in procs]
  for p, (_, err) in zip(procs, outputs, strict=True):
    assert p.returncode == 0, err[-3000:]
  multi = _records(workdir)  # written by process 0 only
  assert _final_eval(multi)["eval/accuracy"] == _final_eval(single)["eval/accuracy"]
  np.testing.assert_allclose(_final_eval(multi)["eval/loss"], _final_eval(single)["eval/loss"], rtol=1e-5)
  np.testing.assert_allclose(_curve(multi), _curve(single), rtol=1e-4, atol=1e-5)


def _committed_steps(workdir):
  folder = os.path.join(workdir, "checkpoints")
  return sorted(int(name) for name in os.listdir(folder) if name.isdigit()) if os.path.isdir(folder) else []


def _start(data_dir, workdir, *flags):
  return subprocess.Popen(
    _command(workdir, *flags), cwd=ROOT, env=_env(data_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
  )


def _wait_for_checkpoint(proc, workdir, timeout=120):
  deadline = time.time() + timeout
  while not _committed_steps(workdir):
    assert proc.poll() is None, "the run ended before writing a checkpoint"
    assert time.time() < deadline, "no checkpoint appeared"
    time.sleep(0.05)


def test_kill_9_then_rerun_equals_an_uninterrupted_run(fake_fashion_mnist_dir, tmp_path):
  flags = ("--config.num_epochs=6", "--config.checkpoint_every_steps=5")
  reference = _final_eval(_train(fake_fashion_mnist_dir, tmp_path / "reference", *flags))
  delay = random.Random().uniform(0.0, 0.5)
  workdir = tmp_path / "killed"
  proc = _start(fake_fashion_mnist_dir, workdir, *flags)
  _wait_for_checkpoint(proc, workdir)
  time.sleep(delay)
  assert proc.poll() is None, f"the run finished before the kill (delay {delay:.3f} s)"
  proc.kill()  # SIGKILL: no chance to save
  proc.wait()
  killed_at = _committed_steps(workdir)
  assert killed_at and killed_at[-1] < 96
  resumed = _final_eval(_train(fake_fashion_mnist_dir, workdir, *flags))
  assert resumed["eval/loss"] == reference["eval/loss"], f"killed after checkpoint {killed_at}, delay {delay:.3f} s"
  assert resumed["eval/accuracy"] == reference["eval/accuracy"]
  # The log reads as if never interrupted: one line per step, in order.
  steps = [r["step"] for r in _records(workdir) if "train/loss" in r]
  assert steps == list(range(1, 97))


@pytest.mark.parametrize(("signal_number", "exit_status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_stop_signal_checkpoints_the_current_step_and_the_rerun_continues(
  fake_fashion_mnist_dir, tmp_path, signal_number, exit_status
):
  flags = ("--config.num_epochs=6",)  # checkpoints only at epoch ends (every 16 steps)
  workdir = tmp_path / "preempted"
  proc = _start(fake_fashion_mnist_dir, workdir, *flags)
  _wait_for_checkpoint(proc, workdir)
  proc.send_signal(signal_number)
  _, err = proc.communicate(timeout=120)
  assert proc.returncode == exit_status, err[-3000:]
  saved = _committed_steps(workdir)[-1]
  assert f"checkpoint saved at step {saved}" in err
  # The checkpoint is that of the step the signal stopped (its metrics were flushed there), mid-epoch or not: on a
  # loaded machine the signal may land on an epoch's end.
  assert [r["step"] for r in _records(workdir) if "train/loss" in r][-1] == saved
  out = subprocess.run(
    _command(workdir, *flags), cwd=ROOT, env=_env(fake_fashion_mnist_dir), capture_output=True, text=True
  )
  assert out.returncode == 0, out.stderr[-3000:]
  assert f"resuming from the checkpoint at step {saved}" in out.stdout
  assert _committed_steps(workdir)[-1] == 96
