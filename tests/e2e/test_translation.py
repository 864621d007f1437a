"""Translation end to end: configs/encouraging_loss/iwslt.py trains through the trainer, a tiny Transformer learning
the stand-in and the smoke versions running (its variants are tested in tests/configs/test_encouraging_loss.py)."""

import importlib
import json
import math

import pytest

from el_jax.train import loop

iwslt = importlib.import_module("el_jax.configs.encouraging_loss.iwslt")


def _run(config, tmp_path):
  metrics = loop.train_and_evaluate(config, str(tmp_path))
  log = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  return metrics, log


def test_a_tiny_transformer_learns_the_stand_in_through_the_trainer(tmp_path):
  config = iwslt.get_config("pair=de_en,loss=el,smoke")
  config.model.update(name="transformer_tiny", layers=1, dropout=0.0)
  config.dataset.options.max_source_length = config.dataset.options.max_target_length = 24
  config.dataset.train_subset, config.dataset.eval_subset = 16 * 60, 20
  config.batch_size, config.eval_batch_size, config.num_epochs, config.log_every_steps = 16, 10, 1, 10
  config.optimizer.warmup_steps = 30
  config.optimizer.learning_rate = 1e-2
  metrics, log = _run(config, tmp_path)
  train = [entry for entry in log if "train/loss" in entry]
  assert [entry["step"] for entry in train] == [10, 20, 30, 40, 50, 60]
  assert all(math.isfinite(v) for v in metrics.values())
  assert train[-1]["train/loss"] < train[0]["train/loss"] - 1.0  # from ~log(6632) = 8.8


@pytest.mark.slow
@pytest.mark.parametrize("arg", ["pair=de_en,loss=el", "pair=fr_en,loss=ce"])
def test_the_smoke_version_trains_end_to_end(arg, tmp_path):
  metrics, log = _run(iwslt.get_config(arg + ",smoke"), tmp_path)
  assert [entry["step"] for entry in log] == [1, 1]  # one training step, then the evaluation
  assert set(metrics) >= {"eval/loss", "eval/accuracy"}
  assert all(math.isfinite(v) for v in metrics.values()), metrics
