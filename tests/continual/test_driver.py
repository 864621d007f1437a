import json
import os
import shutil

import numpy as np

from el_jax import continual
from el_jax.train.workdir import Workdir


def _records(workdir):
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [json.loads(line) for line in f]


def test_episodes_give_a_lower_triangular_accuracy_matrix_and_a_rerun_trains_nothing(tiny_config, tmp_path):
  config = tiny_config("lfl")
  workdir = str(tmp_path / "run")
  result = continual.train_and_evaluate(config, workdir)
  matrix = result["accuracy_matrix"]
  assert len(matrix) == 2 and all(len(row) == 2 for row in matrix)
  assert matrix[0][1] is None and all(0.0 <= a <= 1.0 for a in (matrix[0][0], *matrix[1]))
  assert result["task_accuracies"] == matrix[1]
  assert result["mean_accuracy"] == np.mean(matrix[1])
  assert result["forgetting"] == matrix[0][0] - matrix[1][0]
  # The accuracy on the first task after the first episode is that of the model on its test split.
  records = _records(workdir)
  evals = [r for r in records if "eval/mean_accuracy" in r]
  assert [r["episode"] for r in evals] == [0, 1]
  assert evals[1]["eval/task1/accuracy"] == matrix[1][1] and evals[0]["eval/task0/accuracy"] == matrix[0][0]
  steps = config.continual.max_steps_per_episode
  assert [r["step"] for r in evals] == [steps, 2 * steps]
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == ["1", "2"]
  model, episode = Workdir(workdir).load_model()
  assert episode == 2 and type(model).__name__ == "MLP" and model.head.out_features == 10
  with open(os.path.join(workdir, "continual_results.json")) as f:
    assert json.load(f) == result

  again = continual.train_and_evaluate(config, workdir)
  assert again == result
  assert _records(workdir) == records  # nothing trained or logged again


def test_resuming_after_the_first_episode_reproduces_the_uninterrupted_run(tiny_config, tmp_path):
  config = tiny_config("ewc")
  workdir = str(tmp_path / "run")
  full = continual.train_and_evaluate(config, workdir)
  first_episode = [r for r in _records(workdir) if r["episode"] == 0]
  shutil.rmtree(os.path.join(workdir, "checkpoints", "2"))  # as if stopped during the second episode
  resumed = continual.train_and_evaluate(config, workdir)
  np.testing.assert_allclose(resumed["accuracy_matrix"][1], full["accuracy_matrix"][1], atol=1e-6)
  assert resumed["accuracy_matrix"][0] == full["accuracy_matrix"][0]
  assert [r for r in _records(workdir) if r["episode"] == 0] == first_episode  # episode 0 not trained again
