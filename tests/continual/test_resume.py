import json
import os
import shutil

import numpy as np
import pytest

from el_jax import continual


def _train_records(workdir, episode):
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    records = [json.loads(line) for line in f]
  return [r for r in records if r["episode"] == episode and "train/loss" in r]


@pytest.mark.parametrize(("strategy", "overrides"), [("si", {"strength": 1e3, "max_importance": None}), ("replay", {})])
def test_a_strategy_carries_its_state_through_a_checkpoint(tiny_config, tmp_path, strategy, overrides):
  # SI's importance and anchor, and Replay's memory, come back from the first episode's checkpoint: the resumed
  # second episode logs the same losses and penalties as the uninterrupted one.
  config = tiny_config(strategy, **overrides)
  workdir = str(tmp_path / strategy)
  full = continual.train_and_evaluate(config, workdir)
  second = _train_records(workdir, 1)
  shutil.rmtree(os.path.join(workdir, "checkpoints", "2"))
  resumed = continual.train_and_evaluate(config, workdir)
  np.testing.assert_allclose(resumed["accuracy_matrix"][1], full["accuracy_matrix"][1], atol=1e-6)
  again = _train_records(workdir, 1)
  assert [r["step"] for r in again] == [r["step"] for r in second]
  for key in ("train/loss", "train/penalty", "train/task_loss"):
    np.testing.assert_allclose([r[key] for r in again], [r[key] for r in second], rtol=1e-5, atol=1e-7)
  if strategy == "si":
    assert min(r["train/penalty"] for r in second) > 0
