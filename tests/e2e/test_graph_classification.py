"""Graph classification end to end: configs/encouraging_loss/graphs.py's smoke version trains through the trainer on
graphs of the real padded size, and the real-data config reads TU files from data_dir (its variants are tested in
tests/configs/test_encouraging_loss.py)."""

import json

import numpy as np
import pytest

from el_jax.configs.encouraging_loss import graphs as graphs_config
from el_jax.train import loop
from tests.data import tu_files


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
