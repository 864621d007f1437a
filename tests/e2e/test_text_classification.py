"""Text classification end to end: the mixing paper's text configs (configs/expectation_mixing/reviews.py and
glue.py) train through `el_jax.train.train_and_evaluate`, from scratch or from a pretrained BERT checkpoint (their
variants are tested in tests/configs/test_expectation_mixing.py)."""

import importlib
import json
import math

import numpy as np
import pytest

from el_jax.train import loop


def _config(module: str, arg: str = ""):
  return importlib.import_module(f"el_jax.configs.expectation_mixing.{module}").get_config(arg)


def _train(config, workdir):
  metrics = loop.train_and_evaluate(config, str(workdir))
  with open(workdir / "metrics.jsonl") as f:
    records = [json.loads(line) for line in f]
  return metrics, records


def test_reviews_smoke_version_trains_end_to_end(tmp_path):
  config = _config("reviews", "arch=4,smoke")
  metrics, records = _train(config, tmp_path)
  assert all(math.isfinite(v) for v in metrics.values()), metrics
  assert [r["step"] for r in records if "train/loss" in r] == [1, 2, 3, 4]


def test_the_lstm_learns_the_stand_in(tmp_path):
  """With CE, 96 steps on 1,024 stand-in reviews bring the held-out cross-entropy well below chance's log 5."""
  config = _config("reviews", "arch=1,loss=ce,smoke")
  config.dataset.train_subset, config.dataset.eval_subset = 1024, 256
  config.batch_size, config.eval_batch_size, config.num_epochs, config.log_every_steps = 32, 256, 3, 16
  metrics, _ = _train(config, tmp_path)
  assert metrics["eval/cross_entropy"] < 0.8 * math.log(5) and metrics["eval/accuracy"] > 0.5, metrics


def test_glue_trains_end_to_end_with_the_tiny_bert(tmp_path):
  config = _config("glue", "task=mrpc,smoke")
  config.model.name = "bert_tiny"
  config.dataset.train_subset, config.dataset.eval_subset, config.batch_size, config.eval_batch_size = 16, 8, 8, 8
  metrics, records = _train(config, tmp_path)
  assert all(math.isfinite(v) for v in metrics.values()), metrics
  assert [r["step"] for r in records if "train/loss" in r] == [1, 2]


@pytest.mark.slow
@pytest.mark.parametrize("task", ["rte", "mnli"])
def test_glue_smoke_version_trains_bert_base(task, tmp_path):
  metrics, records = _train(_config("glue", f"task={task},smoke"), tmp_path)
  assert all(math.isfinite(v) for v in metrics.values()), metrics
  assert [r["step"] for r in records if "train/loss" in r] == [1]


def test_the_trainer_starts_from_a_pretrained_checkpoint(tmp_path):
  from el_jax.train.workdir import Workdir
  from tests.models.test_bert import _state_dict, _tiny

  arrays = _state_dict(_tiny(), np.random.default_rng(1))
  np.savez(tmp_path / "bert.npz", **arrays)
  config = _config("glue", "task=mrpc,smoke")
  config.model.name, config.model.checkpoint = "bert_tiny", str(tmp_path / "bert.npz")
  config.dataset.train_subset, config.dataset.eval_subset, config.batch_size, config.eval_batch_size = 16, 8, 8, 8
  config.optimizer.learning_rate = 0.0  # the trained parameters stay the checkpoint's
  workdir = tmp_path / "run"
  loop.train_and_evaluate(config, str(workdir))
  model, _ = Workdir(str(workdir)).load_model()
  np.testing.assert_array_equal(model.token_embedding.embedding[...], arrays["bert.embeddings.word_embeddings.weight"])
  np.testing.assert_array_equal(model.pooler.kernel[...], arrays["bert.pooler.dense.weight"].T)
