"""The run folder: its files, and the lock that keeps a second trainer out of it."""

import json
import os
import socket
import subprocess
import sys

import pytest

from el_jax.train import setup
from el_jax.train.workdir import LOCK_NAME, Workdir, WorkdirLocked


def _write_lock(workdir, **record):
  os.makedirs(workdir, exist_ok=True)
  with open(os.path.join(workdir, LOCK_NAME), "w") as f:
    json.dump(record, f)


def _dead_pid() -> int:
  child = subprocess.Popen([sys.executable, "-c", "pass"])
  child.wait()
  return child.pid


def test_the_lock_is_held_during_the_block_and_released_after(tmp_path):
  workdir = Workdir(tmp_path / "run")
  with workdir.lock():
    with open(workdir.join(LOCK_NAME)) as f:
      assert json.load(f) == {"host": socket.gethostname(), "pid": os.getpid()}
    with pytest.raises(WorkdirLocked, match=rf"in use by another trainer .*'pid': {os.getpid()}"):
      with workdir.lock():
        pass
  assert not os.path.exists(workdir.join(LOCK_NAME))
  with pytest.raises(RuntimeError, match="inside"), workdir.lock():
    raise RuntimeError("inside")  # released on an error too
  assert not os.path.exists(workdir.join(LOCK_NAME))


def test_a_live_holder_or_another_hosts_lock_refuses_at_once(tmp_path):
  holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
  try:
    _write_lock(tmp_path, host=socket.gethostname(), pid=holder.pid)
    with pytest.raises(WorkdirLocked, match=rf"'pid': {holder.pid}"), Workdir(tmp_path).lock():
      pass
  finally:
    holder.kill()
    holder.wait()
  _write_lock(tmp_path, host="some-other-host", pid=_dead_pid())  # its process cannot be checked from here
  with pytest.raises(WorkdirLocked, match="some-other-host"), Workdir(tmp_path).lock():
    pass
  (tmp_path / LOCK_NAME).write_text("{not json")
  with pytest.raises(WorkdirLocked, match="an unreadable lock"), Workdir(tmp_path).lock():
    pass


def test_a_lock_of_a_dead_process_on_this_host_is_taken_over_with_a_warning(tmp_path):
  dead = _dead_pid()
  _write_lock(tmp_path, host=socket.gethostname(), pid=dead)
  with pytest.warns(UserWarning, match=f"taking over the lock of process {dead}"), Workdir(tmp_path).lock():
    with open(tmp_path / LOCK_NAME) as f:
      assert json.load(f)["pid"] == os.getpid()
  assert not (tmp_path / LOCK_NAME).exists()


def test_a_second_trainer_fails_before_reading_any_data(tmp_path, monkeypatch):
  from el_jax import train
  from el_jax.configs import quickstart

  monkeypatch.setenv("EL_JAX_DATA_DIR", str(tmp_path / "no_data_here"))  # reading data would fail differently
  holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
  try:
    _write_lock(tmp_path / "run", host=socket.gethostname(), pid=holder.pid)
    with pytest.raises(WorkdirLocked, match="in use by another trainer"):
      train.train_and_evaluate(quickstart.get_config("smoke"), str(tmp_path / "run"))
  finally:
    holder.kill()
    holder.wait()
  assert os.listdir(tmp_path / "run") == [LOCK_NAME]  # nothing written


def test_json_files_are_replaced_whole_and_a_missing_one_is_named(tmp_path):
  workdir = Workdir(tmp_path)
  workdir.write_json("result.json", {"a": 1})
  workdir.write_json("result.json", {"a": 2})
  assert workdir.read_json("result.json") == {"a": 2} and sorted(os.listdir(tmp_path)) == ["result.json"]
  with pytest.raises(FileNotFoundError, match="config.json not found: .* is not a workdir written by train.py"):
    workdir.read_config()


def test_start_records_the_config_and_the_model_for_evaluation(tmp_path):
  inputs = setup.Inputs.from_config({"name": "uci_iris"})
  spec = setup.ModelSpec.from_config({"name": "mlp", "depth": 1, "width": 5}, inputs)
  workdir = Workdir(tmp_path / "run")
  workdir.start({"seed": 3, "model": {"name": "mlp"}}, spec)
  assert workdir.read_config() == {"seed": 3, "model": {"name": "mlp"}}
  assert workdir.model_spec() == spec
  Workdir(tmp_path / "other").start({"seed": 3}, spec, chief=False)  # other processes write nothing
  assert os.listdir(tmp_path / "other") == []
  with pytest.raises(FileNotFoundError, match="holds no checkpoint"):
    workdir.load_model()


def test_a_damaged_record_is_named(tmp_path):
  (tmp_path / "model.json").write_text('{"name": "lenet", "num_cl')
  with pytest.raises(ValueError, match=r"model\.json is damaged .*rerun train\.py"):
    Workdir(tmp_path).model_spec()
