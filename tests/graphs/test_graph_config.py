"""configs/encouraging_loss/graphs.py: every variant builds with EXPERIMENTS.md's settings (Adam 5e-4, batch 128,
early stopping with patience 50, LE = 0.5) and the released code's (weight decay 1e-4, hidden 128, ratio 0.5,
dropout 0.5, deferred bonus), and the smoke version trains through the trainer on graphs of the real padded size."""

import itertools
import json

import numpy as np
import pytest
from flax import nnx

from configs.encouraging_loss import graphs as graphs_config
from el_jax import data, losses, models
from el_jax.train import loop, optimizer
from tests.graphs import tu_files

DATA = {"proteins": ((620, 3), 26), "nci1": ((111, 37), 131)}  # padded (N, F), epochs of CE before EL's bonus
VARIANTS = [f"data={d},loss={loss}" for d, loss in itertools.product(DATA, ("ce", "el"))]


@pytest.mark.parametrize("arg", VARIANTS)
def test_every_variant_has_the_papers_settings(arg):
  config, smoke = graphs_config.get_config(arg), graphs_config.get_config(arg + ",smoke")
  dataset = arg.split(",")[0].removeprefix("data=")
  assert config.dataset.name == f"graphs:{dataset}" and config.dataset.eval_split == "validation"
  assert (config.optimizer.name, config.optimizer.learning_rate) == ("adam", 5e-4)
  assert (config.optimizer.weight_decay, config.optimizer.weight_decay_mode) == (1e-4, "coupled")
  assert config.optimizer.schedule == "constant" and config.batch_size == 128
  assert config.early_stopping_patience == 50 and config.num_epochs == 1000
  assert config.early_stopping_metric == "accuracy"
  assert config.model.to_dict() == {"name": "gcn_sagpool", "hidden": 128, "ratio": 0.5, "dropout": 0.5, "num_blocks": 3}
  if arg.endswith("loss=el"):
    assert config.loss.name == "encouraging_loss" and config.loss.log_end == 0.5
    assert config.loss.bonus_defer * config.num_epochs == pytest.approx(DATA[dataset][1])
  else:
    assert config.loss.to_dict() == {"name": "cross_entropy"}
  assert smoke.loss == config.loss and smoke.optimizer == config.optimizer and smoke.model == config.model
  assert smoke.dataset.name == f"graphs:synthetic:{dataset}"
  objective = losses.get_objective(config.loss.name, **{k: v for k, v in config.loss.items() if k != "name"})
  assert np.isfinite(objective(np.array([[2.0, -1.0], [0.3, 0.1]], np.float32), np.array([0, 1]), progress=0.5))
  optimizer.create(config.optimizer, steps_per_epoch=7, num_epochs=config.num_epochs)


@pytest.mark.parametrize("dataset", DATA)
def test_the_model_builds_for_the_stand_ins_real_shape(dataset):
  config = graphs_config.get_config(f"data={dataset},smoke")
  source = data.load(config.dataset.name, config.dataset.train_split, **config.dataset.options.to_dict())
  (n, f), _ = DATA[dataset]
  assert source.input_shape == {"nodes": (n, f), "adjacency": (n, n), "node_mask": (n,)} and source.num_classes == 2
  kwargs = {k: v for k, v in config.model.to_dict().items() if k != "name"}
  model = nnx.eval_shape(
    lambda: models.create(config.model.name, num_classes=2, input_shape=source.input_shape, **kwargs)
  )
  h = 128
  assert models.count_params(model) == f * h + h + 2 * (h * h + h) + 3 * (h + 1) + 2 * h * h + h + h * 64 + 64 + 130


def test_split_seed_reaches_the_loader_and_bad_arguments_are_named():
  config = graphs_config.get_config("split_seed=17")
  assert config.dataset.options.split_seed == 17 and config.dataset.options.data_dir is None
  with pytest.raises(ValueError, match="Unknown data='dd'.*proteins, nci1"):
    graphs_config.get_config("data=dd")
  with pytest.raises(ValueError, match="Unknown loss='focal'"):
    graphs_config.get_config("loss=focal")


@pytest.mark.parametrize("dataset", ["nci1", pytest.param("proteins", marks=pytest.mark.slow)])  # 620-node padding
def test_smoke_config_trains_through_the_trainer(dataset, tmp_path):
  config = graphs_config.get_config(f"data={dataset},loss=el,smoke")
  metrics = loop.train_and_evaluate(config, str(tmp_path))
  assert np.isfinite(metrics["eval/loss"]) and 0.0 <= metrics["eval/accuracy"] <= 1.0
  lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  steps = {line["step"] for line in lines}
  assert max(steps) == config.dataset.train_subset // config.batch_size


@pytest.mark.slow
def test_the_real_data_config_reads_the_tu_files_of_data_dir(tmp_path):
  tu_files.write_path_graphs(tmp_path / "data" / "PROTEINS", num_graphs=40)
  config = graphs_config.get_config("data=proteins,loss=ce,split_seed=2")
  config.dataset.options.data_dir = str(tmp_path / "data")
  config.batch_size, config.eval_batch_size, config.num_epochs = 8, 8, 2
  metrics = loop.train_and_evaluate(config, str(tmp_path / "run"))
  assert np.isfinite(metrics["eval/loss"])
  spec = json.loads((tmp_path / "run" / "model.json").read_text())
  assert spec["input_shape"] == {"nodes": [6, 3], "adjacency": [6, 6], "node_mask": [6]}
  lines = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
  assert [line["step"] for line in lines if "eval/loss" in line] == [4, 8]  # 32 training graphs / 8 per step
