"""The metrics log: JSON lines and TensorBoard events, repaired on resume, failing loudly when a write fails."""

import errno
import glob
import json
import os
import struct

import pytest
from tensorboardX.proto import event_pb2

from el_jax.train.metrics_log import MetricsLog


def _events(workdir):
  """Every event of the run's event files, in file order (TFRecord framing: length, its crc, payload, crc)."""
  events = []
  for path in sorted(glob.glob(os.path.join(workdir, "tensorboard", "events.out.tfevents.*"))):
    with open(path, "rb") as f:
      while header := f.read(12):
        (length,) = struct.unpack("<Q", header[:8])
        events.append(event_pb2.Event.FromString(f.read(length)))
        f.read(4)
  return events


def test_records_go_to_both_files(tmp_path):
  log = MetricsLog(str(tmp_path))
  log.write(10, 0.5, {"train/loss": 1.25})
  log.write(20, 1.0, {"eval/accuracy": 0.75})
  log.close()
  with open(tmp_path / "metrics.jsonl") as f:
    records = [json.loads(line) for line in f]
  assert records == [
    {"step": 10, "epoch": 0.5, "train/loss": 1.25},
    {"step": 20, "epoch": 1.0, "eval/accuracy": 0.75},
  ]
  scalars = {(v.tag, e.step): v.simple_value for e in _events(tmp_path) for v in e.summary.value}
  assert scalars == {("epoch", 10): 0.5, ("train/loss", 10): 1.25, ("epoch", 20): 1.0, ("eval/accuracy", 20): 0.75}


def test_resume_drops_later_records_and_damaged_lines_with_a_warning(tmp_path):
  lines = [json.dumps({"step": s, "epoch": s / 10, "train/loss": 1.0}) + "\n" for s in (10, 20, 30)]
  (tmp_path / "metrics.jsonl").write_text(lines[0] + '{"step": 15, "epo\n' + lines[1] + lines[2] + '{"step": 40, "ep')
  with pytest.warns(UserWarning, match=r"metrics\.jsonl: dropped line\(s\) \[2, 5\] that do not parse"):
    log = MetricsLog(str(tmp_path), resume_step=20)
  log.close()
  assert (tmp_path / "metrics.jsonl").read_text() == lines[0] + lines[1]
  purge = [e for e in _events(tmp_path) if e.HasField("session_log")]
  assert [(e.step, e.session_log.status) for e in purge] == [(21, event_pb2.SessionLog.START)]


def test_a_failed_write_raises_in_the_caller(tmp_path):
  if not os.path.exists("/dev/full"):
    pytest.skip("no /dev/full on this system to simulate a full disk")
  log = MetricsLog(str(tmp_path))
  os.symlink("/dev/full", tmp_path / "metrics.jsonl")  # every write: ENOSPC, as on a full disk
  with pytest.raises(OSError) as info:
    log.write(1, 0.1, {"train/loss": 1.0})
  assert info.value.errno == errno.ENOSPC
  log.close()


def test_other_processes_write_nothing(tmp_path):
  log = MetricsLog(str(tmp_path), enabled=False)
  log.write(1, 0.1, {"train/loss": 1.0})
  log.close()
  assert os.listdir(tmp_path) == []


def test_writers_are_chosen_by_name(tmp_path):
  log = MetricsLog(str(tmp_path), writers=("jsonl",))
  log.write(1, 0.1, {"train/loss": 1.0})
  log.close()
  assert sorted(os.listdir(tmp_path)) == ["metrics.jsonl"]
  with pytest.raises(ValueError, match=r"Unknown metrics writer 'csv'\. Valid: jsonl, tensorboard, wandb\."):
    MetricsLog(str(tmp_path), writers=("jsonl", "csv"), enabled=False)


def test_a_missing_wandb_names_its_extra(tmp_path, monkeypatch):
  from el_jax import _extras

  monkeypatch.setattr(_extras, "_installed", lambda module: module != "wandb")
  with pytest.raises(ImportError, match=r"needs the 'wandb' extra .*pip install 'el_jax\[wandb\]'"):
    MetricsLog(str(tmp_path), writers=("jsonl", "tensorboard", "wandb"))


def test_a_resumed_run_continues_the_same_wandb_run(tmp_path, offline_wandb):
  config = {"seed": 3, "wandb": {"project": "tests", "mode": "offline", "tags": ("a",)}}
  workdir = tmp_path / "my_run"
  workdir.mkdir()
  for resume_step in (0, 10):
    log = MetricsLog(str(workdir), resume_step=resume_step, writers=("jsonl", "wandb"), config=config)
    log.write(resume_step + 10, 1.0, {"train/loss": 0.5})
    log.close()
  run_id = (workdir / "wandb_run_id.txt").read_text().strip()
  # One folder per attempt (offline-run-<time>-<id>[-<n>]), each holding the log of the same run: run-<id>.wandb.
  attempts = glob.glob(os.path.join(workdir, "wandb", "offline-run-*"))
  assert len(attempts) == 2 and all(os.path.isfile(os.path.join(a, f"run-{run_id}.wandb")) for a in attempts)
