"""Training on named, non-image inputs with per-token labels: the batch contract of `el_jax.train.step`."""

import dataclasses
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from el_jax import data, models, train
from el_jax.configs import common
from el_jax.data import pipeline
from el_jax.train import step

VOCAB, CLASSES, LENGTH = 11, 4, 6


@dataclasses.dataclass(frozen=True)
class TokenSource:
  """Right-padded token sequences labelled per token (`label = 3 * token mod K`) with a mask on the padding."""

  name: str
  size: int
  seed: int = 0
  num_classes: int = CLASSES

  @property
  def input_shape(self):
    return {"tokens": (LENGTH,)}

  def __len__(self):
    return self.size

  def __getitem__(self, index):
    rng = np.random.default_rng((self.seed, index))
    length = int(rng.integers(2, LENGTH + 1))
    tokens = np.zeros(LENGTH, np.int32)
    tokens[:length] = rng.integers(1, VOCAB, length)
    return {"tokens": tokens, "label": (3 * tokens) % CLASSES, "label_mask": np.arange(LENGTH) < length}

  def take(self, count):
    return self if count is None else dataclasses.replace(self, size=count)


class TokenTagger(nnx.Module):
  """Logits `[B, T, K]` from a per-token embedding: a model with a named input."""

  def __init__(self, *, num_classes, input_shape, rngs):
    assert set(input_shape) == {"tokens"}
    self.embed = nnx.Embed(VOCAB, num_classes, rngs=rngs)

  def __call__(self, tokens):
    return self.embed(tokens)


@pytest.fixture
def token_task(monkeypatch):
  sources = {"train": TokenSource("tokens/train", 96, seed=0), "test": TokenSource("tokens/test", 37, seed=1)}
  monkeypatch.setattr(data, "load", lambda name, split, **options: sources[split])
  monkeypatch.setitem(models._NAMED_INPUT_MODELS, "token_tagger", TokenTagger)
  return sources


def _config(num_epochs, learning_rate, patience=None):
  config = common.base_config()
  config.dataset.name = "text:tokens"
  config.model.name = "token_tagger"
  config.optimizer.learning_rate = learning_rate
  config.batch_size, config.eval_batch_size = 16, 10  # 37 test sequences: the last eval batch is padded
  config.num_epochs = num_epochs
  config.early_stopping_patience = patience
  return config


def test_eval_batches_pad_every_key_and_mask_the_padding():
  source = TokenSource("tokens", 7)
  batches = list(pipeline.eval_batches(source, batch_size=4))
  assert [b["mask"].tolist() for b in batches] == [[True] * 4, [True] * 3 + [False]]
  last = batches[-1]
  assert last["tokens"].shape == (4, LENGTH) and last["tokens"].dtype == np.int32
  np.testing.assert_array_equal(last["tokens"][:3], np.stack([source[i]["tokens"] for i in (4, 5, 6)]))
  assert not last["tokens"][3].any() and not last["label_mask"][3].any()


def test_eval_metrics_are_means_over_the_unmasked_tokens(token_task, tmp_path):
  # Learning rate 0: the evaluated model is the initial one, which the reference rebuilds from the same seed.
  metrics = train.train_and_evaluate(_config(num_epochs=1, learning_rate=0.0), str(tmp_path))
  model = TokenTagger(num_classes=CLASSES, input_shape={"tokens": (LENGTH,)}, rngs=nnx.Rngs(0))
  table = np.asarray(model.embed.embedding[...], np.float64)
  test = token_task["test"]
  log_p, correct = [], []
  for i in range(len(test)):
    record = test[i]
    logits = table[record["tokens"]][record["label_mask"]]
    labels = record["label"][record["label_mask"]]
    log_softmax = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    log_p.extend(log_softmax[np.arange(len(labels)), labels])
    correct.extend(logits.argmax(-1) == labels)
  np.testing.assert_allclose(metrics["eval/cross_entropy"], -np.mean(log_p), rtol=1e-5)
  np.testing.assert_allclose(metrics["eval/loss"], -np.mean(log_p), rtol=1e-5)
  assert metrics["eval/accuracy"] == pytest.approx(np.mean(correct))


def test_training_on_token_labels_learns_the_mapping(token_task, tmp_path):
  metrics = train.train_and_evaluate(_config(num_epochs=12, learning_rate=0.1), str(tmp_path))
  assert metrics["eval/accuracy"] == 1.0


def test_early_stopping_ends_training_and_a_rerun_does_not_train_on(token_task, tmp_path, capsys):
  config = _config(num_epochs=10, learning_rate=0.0, patience=2)  # a constant eval loss never improves
  train.train_and_evaluate(config, str(tmp_path))
  with open(os.path.join(tmp_path, "metrics.jsonl")) as f:
    epochs = [r["epoch"] for r in map(json.loads, f) if "eval/loss" in r]
  assert epochs == [1.0, 2.0, 3.0]  # the best at epoch 1, then two epochs without improvement
  assert "early stopping" in capsys.readouterr().out
  train.train_and_evaluate(config, str(tmp_path))
  assert "training already complete" in capsys.readouterr().out


def test_bad_patience_is_a_clear_error(token_task, tmp_path):
  with pytest.raises(ValueError, match="early_stopping_patience must be None or at least 1"):
    train.train_and_evaluate(_config(num_epochs=1, learning_rate=0.0, patience=0), str(tmp_path))


def test_image_options_on_named_inputs_are_a_clear_error(token_task, tmp_path):
  config = _config(num_epochs=1, learning_rate=0.0)
  config.dataset.augmentation = "cifar"
  with pytest.raises(ValueError, match="has no images"):
    train.train_and_evaluate(config, str(tmp_path))


def test_bfloat16_casts_float_inputs_and_keeps_integer_ones():
  seen = {}

  class Probe(nnx.Module):
    def __init__(self):
      self.w = nnx.Param(jnp.ones((3,)))

    def __call__(self, tokens, weights):
      seen.update(tokens=tokens.dtype, weights=weights.dtype)
      return weights * self.w[...] + tokens

  model_parts, params, model_state = step.split_model(Probe())
  inputs = {"tokens": jnp.ones((2, 3), jnp.int32), "weights": jnp.ones((2, 3), jnp.float32)}
  jax.jit(
    lambda p: step.apply_model(model_parts.eval, model_parts, p, model_state, inputs, compute_dtype=jnp.bfloat16)
  )(params)
  assert seen == {"tokens": jnp.int32, "weights": jnp.bfloat16}


def test_early_stopping_on_accuracy_keeps_the_best_step(token_task, tmp_path, capsys):
  config = _config(num_epochs=10, learning_rate=0.0, patience=1)
  config.early_stopping_metric = "accuracy"
  train.train_and_evaluate(config, str(tmp_path))
  out = capsys.readouterr().out
  # A constant accuracy: the best is the first epoch's (96 sequences / 16 a step: step 6), and training stops after
  # the second.
  assert "eval accuracy has not improved for 1 epochs" in out and "at step 6)" in out
  with open(os.path.join(tmp_path, "metrics.jsonl")) as f:
    assert [r["epoch"] for r in map(json.loads, f) if "eval/loss" in r] == [1.0, 2.0]


def test_an_unknown_early_stopping_metric_is_a_clear_error(token_task, tmp_path):
  config = _config(num_epochs=1, learning_rate=0.0, patience=1)
  config.early_stopping_metric = "ece"
  with pytest.raises(ValueError, match="early_stopping_metric must be 'loss' or 'accuracy'"):
    train.train_and_evaluate(config, str(tmp_path))
