"""The mixing paper's text configs: every variant builds with the paper's settings, its model builds for the data's
shapes, and the smoke versions train through `el_jax.train.train_and_evaluate`."""

import importlib
import json
import math

import jax
import numpy as np
import pytest
from flax import nnx

from configs import losses
from el_jax import models
from el_jax.train import loop, setup

MIXING_LOSSES = ("ce", "f0", "f0_05", "f0_to_05")
GLUE_TASKS = ("cola", "sst2", "mrpc", "qqp", "mnli", "qnli", "rte")
# arch -> (LSTM layers, H_d, E_d): the paper's five configurations.
ARCHITECTURES = {"1": (1, 50, 50), "2": (1, 75, 75), "3": (1, 100, 100), "4": (2, 50, 50), "5": (2, 100, 100)}


def _config(module: str, arg: str = ""):
  return importlib.import_module(f"configs.expectation_mixing.{module}").get_config(arg)


@pytest.mark.parametrize("arch", ARCHITECTURES)
@pytest.mark.parametrize("loss", MIXING_LOSSES)
def test_reviews_variants(arch, loss):
  config, smoke = _config("reviews", f"arch={arch},loss={loss}"), _config("reviews", f"arch={arch},loss={loss},smoke")
  layers, hidden, embed = ARCHITECTURES[arch]
  model = config.model
  assert (model.name, model.num_layers, model.hidden_dim, model.embed_dim) == ("lstm", layers, hidden, embed)
  assert model.vocab_size == config.dataset.options.vocab_size
  assert config.loss.to_dict() == losses.MIXING[loss]
  assert config.dataset.name == "text:reviews" and not config.dataset.normalize
  assert smoke.model == config.model and smoke.loss == config.loss and smoke.optimizer == config.optimizer
  assert smoke.dataset.name == "text:synthetic:reviews"


def test_reviews_vocabulary_size_is_one_setting_for_data_and_model():
  config = _config("reviews")
  config.dataset.options.vocab_size = 5000
  assert config.model.vocab_size == 5000
  config.model.vocab_size = 7000
  assert config.to_dict()["dataset"]["options"]["vocab_size"] == 7000


@pytest.mark.parametrize("task", GLUE_TASKS)
@pytest.mark.parametrize("loss", MIXING_LOSSES)
def test_glue_variants_have_the_papers_settings(task, loss):
  config, smoke = _config("glue", f"task={task},loss={loss}"), _config("glue", f"task={task},loss={loss},smoke")
  assert config.dataset.name == f"text:glue/{task}" and config.dataset.options.max_length == 64
  assert config.dataset.eval_split == ("validation_matched" if task == "mnli" else "validation")
  assert (config.optimizer.learning_rate, config.num_epochs) == (2e-5, 6)
  assert config.model.name == "bert_base" and config.model.checkpoint is None
  assert config.loss.to_dict() == losses.MIXING[loss]
  assert smoke.model == config.model and smoke.loss == config.loss and smoke.optimizer == config.optimizer
  assert smoke.dataset.name == f"text:synthetic:glue/{task}"


@pytest.mark.parametrize("module, key", [("reviews", "arch=6"), ("glue", "task=wnli"), ("glue", "loss=focal")])
def test_unknown_variants_list_the_valid_ones(module, key):
  with pytest.raises(ValueError, match="Valid"):
    _config(module, key)


def _stand_in(config):
  dataset = config.dataset.to_dict()
  return setup.Inputs.from_config(dataset).train


def _build(config, source, *, abstract=False):
  kwargs = {k: v for k, v in config.model.to_dict().items() if k != "name"}

  def make():
    return models.create(
      config.model.name, num_classes=source.num_classes, input_shape=source.input_shape, seed=0, **kwargs
    )

  return nnx.eval_shape(make) if abstract else make()


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_the_lstm_builds_for_the_stand_in_with_the_architectures_size(arch):
  config = _config("reviews", f"arch={arch},smoke")
  source = _stand_in(config)
  layers, hidden, embed = ARCHITECTURES[arch]
  model = _build(config, source, abstract=True)
  count = sum(int(np.prod(p.shape)) for p in jax.tree.leaves(nnx.state(model, nnx.Param)))
  lstm_params = sum(4 * hidden * (n_in + hidden) + 4 * hidden for n_in in [embed] + [hidden] * (layers - 1))
  assert count == 10_000 * embed + lstm_params + hidden * 5 + 5


def test_the_two_layer_lstm_gives_logits_for_stand_in_rows():
  config = _config("reviews", "arch=5,smoke")
  source = _stand_in(config)
  tokens = np.stack([source[i]["tokens"] for i in range(3)])
  assert _build(config, source)(tokens).shape == (3, 5)


@pytest.mark.parametrize("task, classes", [("rte", 2), ("mnli", 3)])
def test_bert_base_builds_for_the_stand_in(task, classes):
  config = _config("glue", f"task={task},smoke")
  source = _stand_in(config)
  assert source.num_classes == classes and source.input_shape == {"tokens": (64,), "segments": (64,)}
  model = _build(config, source, abstract=True)
  count = sum(int(np.prod(p.shape)) for p in jax.tree.leaves(nnx.state(model, nnx.Param)))
  assert count == 109_483_778 + (classes - 2) * 769  # one more 768-wide row and bias per class


def test_a_missing_checkpoint_is_named_when_the_model_is_built(tmp_path):
  config = _config("glue", "smoke")
  config.model.checkpoint = str(tmp_path / "bert_base_uncased.npz")
  with pytest.raises(FileNotFoundError, match="config.model.checkpoint"):
    _build(config, _stand_in(config), abstract=True)


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
  from tests.text.test_bert import _state_dict, _tiny

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
