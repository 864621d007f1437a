"""Continual learning end to end: `el_jax.continual.train_episodes` on short Split MNIST runs of the offline digits
(and the smoke configs of configs/hem/continual.py), their results, resume after a finished episode and after
SIGTERM, and the command line."""

import json
import math
import os
import shutil
import signal
import subprocess
import sys

import jax
import numpy as np
import pytest
from flax import nnx

from el_jax import continual
from el_jax.configs.hem import continual as continual_config
from el_jax.continual import tasks
from el_jax.train import loop, setup
from el_jax.train.workdir import Workdir

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIMING = ("train/examples_per_second", "train/data_wait_fraction")  # vary from run to run


def _config(strategy: str, *, num_tasks: int = 2, **settings):
  """Split MNIST on the offline digits in `num_tasks` episodes of 3 steps, a small MLP, cross-entropy."""
  config = continual_config.get_config(f"task=split_mnist,strategy={strategy},data=mnist_digits,loss=ce,smoke")
  config.continual.num_tasks = num_tasks
  config.dataset.train_subset = 400
  config.dataset.eval_subset = 200
  config.model.width = 32
  for key, value in settings.items():
    config.continual[strategy][key] = value
  return config


def _records(workdir):
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [json.loads(line) for line in f]


def _without_timing(records):
  return [{k: v for k, v in r.items() if k not in TIMING} for r in records]


def _final_params(workdir):
  model, _ = Workdir(workdir).load_model()
  return jax.tree.map(np.asarray, nnx.state(model, nnx.Param))


def _assert_same_params(a, b):
  assert jax.tree.all(jax.tree.map(np.array_equal, a, b))


def test_episodes_fill_the_accuracy_matrix_of_the_final_models_and_a_rerun_trains_nothing(tmp_path):
  config = _config("lfl")
  workdir = str(tmp_path / "run")
  result = continual.train_episodes(config, workdir)
  matrix = result["accuracy_matrix"]
  assert len(matrix) == 2 and matrix[0][1] is None and result["task_accuracies"] == matrix[1]
  assert result["mean_accuracy"] == np.mean(matrix[1]) and result["forgetting"] == matrix[0][0] - matrix[1][0]
  with open(os.path.join(workdir, "continual_results.json")) as f:
    assert json.load(f) == result

  # Row t is the accuracy of the model after episode t on the test sets of episodes 0..t, recomputed here from the
  # model of each checkpoint, on the same task split.
  inputs = setup.Inputs.from_config(config.dataset)
  _, test_tasks = tasks.build(inputs.train, inputs.eval, config.continual.to_dict(), seed=config.seed)
  mean, std = (np.asarray(v, np.float32) for v in inputs.normalization)
  for episode in (1, 2):
    model, _ = Workdir(workdir).load_model(episode)
    for j in range(episode):
      images = test_tasks[j].images.astype(np.float32)
      images = ((images / 255.0 if test_tasks[j].images.dtype == np.uint8 else images) - mean) / std
      hits = np.argmax(np.asarray(model(images)), axis=-1) == test_tasks[j].labels
      assert matrix[episode - 1][j] == pytest.approx(hits.mean(), abs=1e-12)
  assert type(model).__name__ == "MLP" and model.head.out_features == 10

  records = _records(workdir)
  evals = [r for r in records if "eval/mean_accuracy" in r]
  steps = config.continual.max_steps_per_episode
  assert [(r["step"], r["episode"], r["epoch"]) for r in evals] == [(steps, 0, 1.0), (2 * steps, 1, 2.0)]
  assert evals[1]["eval/task1/accuracy"] == matrix[1][1] and evals[0]["eval/task0/accuracy"] == matrix[0][0]
  train = [r for r in records if "train/loss" in r]
  assert [r["step"] for r in train] == [2, 3, 5, 6]  # every 2 steps and at the end of each episode
  assert {"train/penalty", "train/task_loss", "train/param_norm", *TIMING} <= set(train[0])
  assert train[0]["train/penalty"] == 0 and train[-1]["train/penalty"] > 0  # LFL's distance from episode 1 on
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == ["1", "2"]
  assert Workdir(workdir).model_spec().name == "mlp"

  again = continual.train_episodes(config, workdir)
  assert again == result
  assert _records(workdir) == records  # nothing trained or logged again


def test_sigterm_during_an_episode_stops_it_and_the_rerun_resumes_to_the_uninterrupted_result(tmp_path, monkeypatch):
  config = _config("replay")
  reference = continual.train_episodes(config, str(tmp_path / "reference"))

  class Interrupted(loop.MetricsWindow):
    """Sends this process SIGTERM after the 5th train step: the second step of the second episode."""

    steps = 0

    def add(self, step_metrics, **kwargs):
      super().add(step_metrics, **kwargs)
      Interrupted.steps += 1
      if Interrupted.steps == 5:
        os.kill(os.getpid(), signal.SIGTERM)

  workdir = str(tmp_path / "interrupted")
  with monkeypatch.context() as patch:
    patch.setattr(loop, "MetricsWindow", Interrupted)
    with pytest.raises(loop.Preempted, match="preempted during episode 2") as stopped:
      continual.train_episodes(config, workdir)
  assert isinstance(stopped.value, continual.EpisodePreempted) and stopped.value.step == 1
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == ["1"]
  assert max(r["step"] for r in _records(workdir)) == 5  # logged up to the signal
  assert signal.getsignal(signal.SIGTERM) is not None  # the handler of before is back

  resumed = continual.train_episodes(config, workdir)
  assert resumed == reference
  _assert_same_params(_final_params(workdir), _final_params(str(tmp_path / "reference")))
  assert _without_timing(_records(workdir)) == _without_timing(_records(str(tmp_path / "reference")))


@pytest.mark.slow
@pytest.mark.parametrize(
  ("strategy", "settings"), [("ewc", {}), ("si", {"strength": 1e3, "max_importance": None}), ("lwf", {})]
)
def test_what_a_strategy_retains_comes_back_from_the_checkpoint_of_an_episode(tmp_path, strategy, settings):
  # EWC's anchors, SI's importance and anchor, and LwF's previous network: the rerun of the last episode from the
  # checkpoint of the one before logs the same losses and penalties and ends with the same parameters.
  config = _config(strategy, **settings)
  workdir = str(tmp_path / strategy)
  full = continual.train_episodes(config, workdir)
  records, params = _records(workdir), _final_params(workdir)
  assert max(r["train/penalty"] for r in records if r.get("episode") == 1 and "train/penalty" in r) > 0
  shutil.rmtree(os.path.join(workdir, "checkpoints", "2"))  # as if stopped during the second episode
  assert continual.train_episodes(config, workdir) == full
  assert _without_timing(_records(workdir)) == _without_timing(records)
  _assert_same_params(_final_params(workdir), params)


def test_resuming_another_experiment_is_refused(tmp_path):
  workdir = str(tmp_path / "run")
  config = _config("ewc")
  config.continual.num_tasks = 2
  config.continual.max_steps_per_episode = 1
  continual.train_episodes(config, workdir)
  config.continual.ewc.strength = 5.0
  with pytest.raises(ValueError, match=r"different experiment \(continual.ewc.strength: checkpoint 1.0, now 5.0\)"):
    continual.train_episodes(config, workdir)


def _smoke(task, strategy, tmp_path, data=""):
  config = continual_config.get_config(f"task={task},strategy={strategy},smoke" + (f",data={data}" if data else ""))
  result = continual.train_episodes(config, str(tmp_path))
  matrix = result["accuracy_matrix"]
  assert len(matrix) == 5 and all(row[t + 1 :] == [None] * (4 - t) for t, row in enumerate(matrix))
  assert all(0 <= a <= 1 for row in matrix for a in row if a is not None)
  assert math.isfinite(result["mean_accuracy"]) and len(result["task_accuracies"]) == 5
  return config


@pytest.mark.slow
def test_smoke_permuted_mnist_on_the_synthetic_stand_in(tmp_path):
  config = _smoke("permuted_mnist", "lfl", tmp_path)
  assert config.dataset.name == "synthetic:mnist"


@pytest.mark.slow
def test_smoke_split_mnist_on_the_offline_digits(tmp_path):
  _smoke("split_mnist", "lwf", tmp_path, data="mnist_digits")


@pytest.mark.slow
@pytest.mark.parametrize(("task", "strategy"), [("split_cifar10", "replay"), ("split_cifar100", "si")])
def test_smoke_split_cifar_with_resnet18(task, strategy, tmp_path):
  config = _smoke(task, strategy, tmp_path)
  assert config.dataset.name == f"synthetic:{task.removeprefix('split_')}"


def _train_py(workdir, *flags, strategy="si"):
  config = f"--config=configs/hem/continual.py:task=split_mnist,strategy={strategy},data=mnist_digits,loss=ce,smoke"
  command = [sys.executable, "train.py", config, "--config.continual.num_tasks=2", f"--workdir={workdir}", *flags]
  env = dict(os.environ, JAX_PLATFORMS="cpu")
  out = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
  assert out.returncode == 0, out.stderr[-3000:]
  return out


@pytest.mark.slow
def test_train_py_runs_a_continual_config_and_a_rerun_resumes_after_the_last_episode(tmp_path):
  _train_py(tmp_path / "cli")
  with open(tmp_path / "cli" / "continual_results.json") as f:
    assert json.load(f)["episodes_done"] == 2
  assert "resuming after episode 2 of 2" in _train_py(tmp_path / "cli").stdout


@pytest.mark.slow
def test_two_devices_train_the_same_run_as_one_up_to_float_rounding(tmp_path):
  # The batches split over a two-device mesh, replay's memory batches among them; the episode inputs on the mesh.
  _train_py(tmp_path / "one", strategy="replay")
  _train_py(tmp_path / "two", "--cpu_devices=2", strategy="replay")
  one, two = (Workdir(str(tmp_path / name)).read_json("continual_results.json") for name in ("one", "two"))
  np.testing.assert_allclose(np.array(two["accuracy_matrix"], float), np.array(one["accuracy_matrix"], float))
  jax.tree.map(
    lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6),
    _final_params(str(tmp_path / "two")),
    _final_params(str(tmp_path / "one")),
  )
