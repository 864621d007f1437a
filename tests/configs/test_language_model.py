"""configs/language_model.py: its variants (loss, vocabulary, smoke) and settings, the model and data it names fitting
together, and bad arguments named; its training runs are in tests/e2e/test_language_model.py."""

import math

import pytest
from flax import nnx

from el_jax import configs, losses
from el_jax.configs import language_model
from el_jax.data import pipeline
from el_jax.train import optimizer, setup


@pytest.mark.parametrize("loss", ["ce", "el"])
def test_the_losses_and_the_fused_output(loss):
  config = language_model.get_config(f"loss={loss}")
  expected = {"name": "cross_entropy", "fused_output": True, "fused_blocks": None}
  if loss == "el":  # the EL paper's conservative bonus of its translation runs, without label smoothing
    expected = {"name": "encouraging_loss", "log_end": 0.5, "fused_output": True, "fused_blocks": None}
  assert config.loss.to_dict() == expected
  assert config.loss.name in losses.LINEAR_LOSSES  # the fused path computes it


@pytest.mark.parametrize("arg, vocab", [("", 4096), ("vocab=32768", 32768), ("smoke", 512), ("smoke,vocab=64", 64)])
def test_the_vocabulary_reaches_the_data_and_the_model(arg, vocab):
  config = language_model.get_config(arg)
  inputs = setup.Inputs.from_config(config.dataset)
  length = 32 if "smoke" in arg else 128
  assert (inputs.name, inputs.num_classes, inputs.input_shape) == ("markov_tokens", vocab, {"tokens": [length]})
  spec = setup.ModelSpec.from_config(config.model, inputs)
  model = nnx.eval_shape(lambda: spec.create(config.seed))
  assert setup.fused_output(config.loss, model)  # the model hands the loss its hidden states and projection
  assert model.embedding.embedding.shape == (vocab, config.model.dim)  # tied with the output projection
  assert inputs.eval.name == "markov_tokens/validation" and len(inputs.eval) == config.dataset.eval_subset


def test_the_run_length_and_schedule():
  config = language_model.get_config("")
  steps_per_epoch = pipeline.steps_per_epoch(config.dataset.train_subset, config.batch_size)
  assert (steps_per_epoch, config.num_epochs, config.batch_size) == (500, 4, 32)
  schedule = optimizer.learning_rate_schedule(config.optimizer, steps_per_epoch=500, num_epochs=4)
  assert float(schedule(100)) == pytest.approx(3e-3)  # the peak after 100 warm-up updates
  assert float(schedule(1050)) == pytest.approx(3e-3 * 0.5 * (1 + math.cos(math.pi * 950 / 1900)), rel=1e-5)
  smoke = language_model.get_config("smoke")
  assert pipeline.steps_per_epoch(smoke.dataset.train_subset, smoke.batch_size) * smoke.num_epochs == 300
  assert smoke.loss == config.loss and smoke.model.name == config.model.name


def test_it_is_shipped_by_name_and_bad_arguments_are_named():
  assert "language_model" in configs.names()
  assert configs.resolve("language_model:smoke").endswith("language_model.py:smoke")
  with pytest.raises(ValueError, match="Unknown config argument 'vocabulary'"):
    language_model.get_config("vocabulary=10")
  with pytest.raises(ValueError, match="Unknown loss='focal'.*Valid: ce, el"):
    language_model.get_config("loss=focal")
  with pytest.raises(ValueError, match="vocab=2 is too small"):
    language_model.get_config("vocab=2")
