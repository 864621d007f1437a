"""The language model end to end: configs/language_model.py trains through the trainer on the Markov token stream, its
fused output layer following the materialised logits' loss curve, and the model learning the chain (its variants are
tested in tests/configs/test_language_model.py)."""

import json
import math

import pytest

from el_jax.configs import language_model
from el_jax.train import loop

VOCAB = 64  # 63 states: log 63 = 4.14 nats without context; the entropy rate is 1.75 ln 2 = 1.213 nats


def _run(config, tmp_path):
  metrics = loop.train_and_evaluate(config, str(tmp_path))
  log = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  return metrics, [entry for entry in log if "train/loss" in entry]


def _config(fused_output: bool):
  """The smoke config (EL, LE = 0.5; one layer of width 64, windows of 32 tokens) on a 64-token chain, 160 updates of
  16 windows, logged every 20."""
  config = language_model.get_config(f"loss=el,vocab={VOCAB},smoke")
  config.loss.fused_output = fused_output
  config.dataset.train_subset, config.dataset.eval_subset = 160 * 16, 64
  config.log_every_steps = 20
  config.writers = ("jsonl",)
  return config


def test_the_fused_output_follows_the_materialised_loss_curve_and_the_model_learns_the_chain(tmp_path):
  """`fused_output=True` (the config's default) trains the same model as the materialised logits: 160 steps of Adam
  in float32 from the same initialisation agree within 1e-3 relative at every logged step (float rounding, amplified
  by the updates; a wrong gradient moves the curve by far more). The model learns the chain: its evaluation
  cross-entropy falls from log 63 = 4.14 nats towards the entropy rate 1.213, and its accuracy towards the 1/2 of
  always predicting the most probable successor (the best possible)."""
  fused_metrics, fused = _run(_config(True), tmp_path / "fused")
  metrics, materialised = _run(_config(False), tmp_path / "materialised")
  assert [e["step"] for e in fused] == [20, 40, 60, 80, 100, 120, 140, 160]
  assert "train/accuracy" not in fused[0] and "train/accuracy" in materialised[0]
  for a, b in zip(fused, materialised, strict=True):
    assert a["train/loss"] == pytest.approx(b["train/loss"], rel=1e-3), (a, b)
  assert fused_metrics["eval/loss"] == pytest.approx(metrics["eval/loss"], rel=1e-3)
  entropy_rate, unigram = 1.75 * math.log(2), math.log(VOCAB - 1)
  assert materialised[0]["train/loss"] > unigram - 0.5  # the curve starts near log V: the comparison is not vacuous
  assert metrics["eval/cross_entropy"] < entropy_rate + 0.5 < unigram - 2.0, metrics
  assert 0.4 < metrics["eval/accuracy"] <= 0.5 + 0.02, metrics  # 1/2 is the Bayes accuracy (up to sampling noise)
