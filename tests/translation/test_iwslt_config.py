"""configs/encouraging_loss/iwslt.py: every variant builds with the released scripts' settings, the model and data
it names fit together, and its smoke version trains through the trainer."""

import importlib
import json
import math

import numpy as np
import pytest
from flax import nnx

from el_jax import data, losses, models
from el_jax.train import loop, optimizer

iwslt = importlib.import_module("configs.encouraging_loss.iwslt")

VARIANTS = [f"pair={pair},loss={loss}" for pair in ("de_en", "fr_en") for loss in ("ce", "el")]
# pair -> (dataset, layers, dropout, peak lr, weight decay, sentences per update, updates, shared embeddings), from
# the authors' translation/readme.sh; 160 sentences ~ fairseq's 4,096 tokens (De-En: --update-freq 4).
RELEASED = {
  "de_en": ("translation:iwslt14_de_en", 6, 0.4, 1e-3, 1e-4, 640, 20_000, False),
  "fr_en": ("translation:iwslt17_fr_en", 2, 0.3, 5e-4, 1e-3, 160, 100_000, True),
}
TRAIN_PAIRS = {"de_en": 160_239, "fr_en": 233_000}


@pytest.mark.parametrize("arg", VARIANTS)
def test_every_variant_has_the_released_settings(arg):
  config = iwslt.get_config(arg)
  pair, loss = arg.split(",")[0][5:], arg.split(",")[1][5:]
  dataset, layers, dropout, lr, wd, batch, updates, shared = RELEASED[pair]
  assert config.dataset.name == dataset and config.model.name == "transformer_iwslt"
  assert (config.model.layers, config.model.dropout, config.model.share_all_embeddings) == (layers, dropout, shared)
  opt = config.optimizer
  assert (opt.name, opt.b1, opt.b2, opt.schedule, opt.warmup_steps) == ("adam", 0.9, 0.98, "inverse_sqrt", 4000)
  assert opt.learning_rate == pytest.approx(lr) and opt.weight_decay == pytest.approx(wd)
  assert opt.weight_decay_mode == "decoupled"
  expected_loss = {"name": "cross_entropy", "label_smoothing": 0.1}
  if loss == "el":
    expected_loss = {"name": "encouraging_loss", "log_end": 0.5, "label_smoothing": 0.1}
  assert config.loss.to_dict() == expected_loss
  # The update budget in whole epochs: at least the paper's updates, less than one epoch more.
  steps_per_epoch = TRAIN_PAIRS[pair] // config.batch_size
  assert config.batch_size == batch
  assert updates <= config.num_epochs * steps_per_epoch < updates + steps_per_epoch
  schedule = optimizer.learning_rate_schedule(opt, steps_per_epoch=steps_per_epoch, num_epochs=config.num_epochs)
  assert float(schedule(4000)) == pytest.approx(lr)
  smoke = iwslt.get_config(arg + ",smoke")
  assert smoke.model == config.model and smoke.loss == config.loss and smoke.optimizer == config.optimizer


def test_the_loss_is_a_token_objective_that_ignores_padding():
  config = iwslt.get_config("loss=el")
  objective = losses.get_objective(config.loss.name, **{k: v for k, v in config.loss.items() if k != "name"})
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(2, 4, 7)).astype(np.float32)
  labels = np.array([[3, 4, 2, 0], [5, 2, 0, 0]])
  mask = labels != 0
  full = float(objective(logits, labels, where=mask))
  logits[~mask] = 100.0  # padding positions do not count
  assert float(objective(logits, labels, where=mask)) == pytest.approx(full)
  assert math.isfinite(full)


@pytest.mark.parametrize("pair, expected", [("de_en", 39_469_056 + 6632 * 512), ("fr_en", None)])
def test_the_model_builds_for_the_datasets_vocabularies(pair, expected):
  config = iwslt.get_config(f"pair={pair},smoke")
  source = data.load(config.dataset.name, "train")  # the stand-in, with the real vocabularies
  kwargs = {k: v for k, v in config.model.items() if k != "name"}
  model = nnx.eval_shape(
    lambda: models.create(
      config.model.name, num_classes=source.num_classes, input_shape=source.input_shape, seed=0, **kwargs
    )
  )
  assert len(source.source_dictionary) == config.model.source_vocab_size
  if expected is None:  # two layers per stack, one joint 16,240 x 512 table
    d = 512
    layer_pair = (4 * (d * d + d)) * 3 + 2 * (2 * d * 1024 + 1024 + d) + 5 * 2 * d
    expected = 2 * layer_pair + 16240 * d
  assert models.count_params(model) == expected


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
