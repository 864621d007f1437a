"""Translation end to end: configs/encouraging_loss/iwslt.py trains through the trainer, a tiny Transformer learning
the stand-in and the smoke versions running (its variants are tested in tests/configs/test_encouraging_loss.py)."""

import importlib
import json
import math

import pytest

from el_jax.data import token_batches
from el_jax.train import loop, setup

iwslt = importlib.import_module("el_jax.configs.encouraging_loss.iwslt")


def _run(config, tmp_path):
  metrics = loop.train_and_evaluate(config, str(tmp_path))
  log = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  return metrics, log


def _tiny_config(steps: int, **loss):
  """The EL translation config (label smoothing 0.1, LE = 0.5) on a one-layer tiny Transformer, `steps` updates."""
  config = iwslt.get_config("pair=de_en,loss=el,batching=sentences,smoke")
  config.model.update(name="transformer_tiny", layers=1, dropout=0.0)
  config.loss.update(loss)
  config.dataset.options.max_source_length = config.dataset.options.max_target_length = 24
  config.dataset.train_subset, config.dataset.eval_subset = 16 * steps, 20
  config.batch_size, config.eval_batch_size, config.num_epochs, config.log_every_steps = 16, 10, 1, 10
  config.optimizer.warmup_steps = 30
  config.optimizer.learning_rate = 1e-2
  return config


def test_a_tiny_transformer_learns_the_stand_in_through_the_trainer(tmp_path):
  metrics, log = _run(_tiny_config(60), tmp_path)
  train = [entry for entry in log if "train/loss" in entry]
  assert [entry["step"] for entry in train] == [10, 20, 30, 40, 50, 60]
  assert all(math.isfinite(v) for v in metrics.values())
  assert train[-1]["train/loss"] < train[0]["train/loss"] - 1.0  # from ~log(6632) = 8.8


def test_the_fused_output_follows_the_materialised_loss_curve(tmp_path):
  """`config.loss.fused_output=True` (the loss fused with the output projection) trains the same model as the
  materialised logits: 50 steps of Adam in float32 from the same initialisation, logged every 10, agree within
  1e-3 relative (float rounding, amplified by 50 updates; a wrong gradient moves the curve by far more)."""
  reference, materialised = _run(_tiny_config(50), tmp_path / "materialised")
  metrics, fused = _run(_tiny_config(50, fused_output=True), tmp_path / "fused")
  train, fused_train = ([e for e in log if "train/loss" in e] for log in (materialised, fused))
  assert [e["step"] for e in fused_train] == [10, 20, 30, 40, 50]
  assert "train/accuracy" not in fused_train[0] and "train/accuracy" in train[0]
  assert train[-1]["train/loss"] < train[0]["train/loss"] - 1.0  # the curve moves: the comparison is not vacuous
  for a, b in zip(fused_train, train, strict=True):
    assert a["train/loss"] == pytest.approx(b["train/loss"], rel=1e-3), (a, b)
  assert metrics["eval/loss"] == pytest.approx(reference["eval/loss"], rel=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("arg", ["pair=de_en,loss=el", "pair=fr_en,loss=ce"])
def test_the_smoke_version_trains_end_to_end(arg, tmp_path):
  metrics, log = _run(iwslt.get_config(arg + ",smoke"), tmp_path)
  assert [entry["step"] for entry in log] == [1, 1]  # one training step, then the evaluation
  assert set(metrics) >= {"eval/loss", "eval/accuracy"}
  assert all(math.isfinite(v) for v in metrics.values()), metrics


def test_token_batches_train_through_the_trainer(tmp_path):
  """`batching=tokens`: an epoch is as many updates as the plan has batches (not `len(train) // batch_size`), every
  logged window counts the real sentence pairs it trained on, and the loss stays finite with empty rows present."""
  config = _tiny_config(1)
  config.max_tokens, config.dataset.train_subset, config.log_every_steps = 64, 30, 1
  config.dataset.options.max_source_length = config.dataset.options.max_target_length = 16  # buckets 8 and 16
  config.batch_size = 8  # unused by token batches; 30 // 8 = 3 steps would be the sentence batches' epoch
  source = setup.Inputs.from_config(config.dataset).train
  plan = token_batches.TokenBatches.for_source(source, max_tokens=64, seed=config.seed)
  assert plan.shapes == ((8, 8), (4, 16))
  metrics, log = _run(config, tmp_path)
  train = [entry for entry in log if "train/loss" in entry]
  assert plan.num_batches != 3 and [e["step"] for e in train] == list(range(1, plan.num_batches + 1))
  assert all(math.isfinite(e["train/loss"]) for e in train) and math.isfinite(metrics["eval/loss"])
