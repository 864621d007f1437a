"""configs/expectation_mixing/: the rows beyond Table 1-4's losses: Table 6's regularisation variants of CINIC-10,
Table 5's COT comparison, the gradient-norm-matched CE control and the UCI-121 reader's config; each builds with the
paper's setting and its smoke version trains on a stand-in."""

import math
import shutil

import ml_collections
import numpy as np
import pytest

from el_jax import losses
from el_jax.configs import losses as menus
from el_jax.data import pipeline
from el_jax.train import loop, setup
from tests.configs.paper_configs import (
  abstract_model,
  check_smoke_version_trains_end_to_end,
  check_variant_builds_with_a_valid_objective,
  get_config,
)

# ---- Table 6: regularisation on CINIC-10 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
  "regularization, augmentation, dropout",
  [
    ("none", "cifar", None),
    ("random_erasing", "cifar_random_erasing", None),
    ("color_jitter", "cifar_color_jitter", None),
    ("dropout", "cifar", 0.2),
  ],
)
def test_table6_regularizations_build_on_resnet34(regularization, augmentation, dropout):
  config = get_config("expectation_mixing.cinic10", f"model=resnet34,loss=ce,regularization={regularization}")
  assert config.dataset.augmentation == augmentation
  assert config.model.get("dropout") == dropout
  assert (config.num_epochs, tuple(config.optimizer.boundaries)) == (90, (30, 60))
  model = abstract_model(config)
  assert (model.dropout is None) if dropout is None else model.dropout.rate == dropout


def test_dropout_needs_a_network_with_a_dropout_layer_and_unknown_values_are_listed():
  with pytest.raises(ValueError, match="model='resnet32' has none.*model=resnet18 or model=resnet34"):
    get_config("expectation_mixing.cinic10", "regularization=dropout")
  with pytest.raises(ValueError, match="Unknown regularization='cutout'.*random_erasing, color_jitter, dropout"):
    get_config("expectation_mixing.cinic10", "regularization=cutout")


@pytest.mark.parametrize("regularization", ["random_erasing", "color_jitter"])
def test_regularized_stand_in_batches_are_augmented_images(regularization):
  config = get_config("expectation_mixing.cinic10", f"regularization={regularization},smoke")
  inputs = setup.Inputs.from_config(config.dataset)
  batch = pipeline.train_dataset(
    inputs.train, batch_size=8, seed=0, num_epochs=1, augment=inputs.train_transforms, normalization=None
  )[0]
  plain = pipeline.train_dataset(inputs.train, batch_size=8, seed=0, num_epochs=1)[0]
  assert batch["image"].shape == plain["image"].shape == (8, 32, 32, 3)
  assert 0 <= batch["image"].min() and batch["image"].max() <= 1 and not np.array_equal(batch["image"], plain["image"])


@pytest.mark.parametrize("regularization", ["random_erasing", "color_jitter"])
def test_regularized_stand_in_trains_through_the_loop(regularization, tmp_path):
  """The augmentation through the trainer; a small MLP stands in for the ResNets, whose smoke runs are elsewhere."""
  config = get_config("expectation_mixing.cinic10", f"regularization={regularization},smoke")
  config.model = ml_collections.ConfigDict({"name": "mlp", "depth": 1, "width": 8})
  metrics = loop.train_and_evaluate(config, str(tmp_path / "run"))
  assert all(math.isfinite(v) for v in metrics.values()), metrics


# ---- UCI-121 (Table 4's sets) -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
  "arg, splits",
  [("split=validation", ("train", "validation")), ("split=test,fold=3", ("fold3_train", "fold3_test"))],
)
def test_uci121_config_reads_the_release_splits_with_an_input_wide_hidden_layer(arg, splits):
  config = get_config("expectation_mixing.uci", f"data=uci121:abalone,{arg}")
  assert config.dataset.name == "uci121:abalone" and config.dataset.options.data_dir is None
  assert (config.dataset.train_split, config.dataset.eval_split) == splits
  assert (config.model.name, config.model.depth, config.model.width) == ("mlp", 1, None)
  assert (config.batch_size, config.num_epochs, config.optimizer.name) == (8, 50, "sgd")
  config.dataset.options.data_dir = "/data/uci121"  # settable from the command line
  with pytest.raises(ValueError, match="Unknown fold='4'.*0, 1, 2, 3"):
    get_config("expectation_mixing.uci", "data=uci121:abalone,split=test,fold=4")


def test_uci121_smoke_run_trains_on_the_stand_in(tmp_path):
  check_smoke_version_trains_end_to_end("expectation_mixing.uci", "data=uci121:abalone,loss=f0_to_05", tmp_path)


# ---- Table 5: COT -------------------------------------------------------------------------------------------------

COT_CASES = [
  f"dataset={d},model={m},loss={loss}"
  for d, ms in {
    "cifar100": ("resnet110", "preact_resnet18", "resnext29"),
    "tiny_imagenet": ("resnet50", "resnet101"),
    "imagenet": ("resnet50",),
  }.items()
  for m in ms
  for loss in ("ce", "f0_to_05", "cot", "cot_sum")
]


@pytest.mark.parametrize("arg", COT_CASES)
def test_cot_rows_build_with_chen_et_als_protocol(arg):
  check_variant_builds_with_a_valid_objective("expectation_mixing.cot", arg)
  config = get_config("expectation_mixing.cot", arg)
  assert (config.num_epochs, tuple(config.optimizer.boundaries), config.optimizer.decay_factor) == (
    200,
    (100, 150),
    0.1,
  )
  assert (config.optimizer.learning_rate, config.optimizer.momentum, config.optimizer.weight_decay) == (0.1, 0.9, 1e-4)


def test_cot_alternates_ce_and_the_complement_entropy_and_bad_rows_are_named():
  assert get_config("expectation_mixing.cot", "").loss.to_dict() == {
    "name": "cross_entropy",
    "alternate": {"name": "complement_entropy_loss"},
  }
  assert get_config("expectation_mixing.cot", "loss=cot_sum").loss.to_dict() == {"name": "cot_sum_loss"}
  with pytest.raises(ValueError, match="Unknown model='resnext29'.*Valid: resnet50"):
    get_config("expectation_mixing.cot", "dataset=imagenet,model=resnext29")
  with pytest.raises(ValueError, match="Unknown loss='f0'.*ce, f0_to_05, cot, cot_sum"):
    get_config("expectation_mixing.cot", "loss=f0")
  assert abstract_model(get_config("expectation_mixing.cot", "model=resnet110")) is not None


def _train_smoke_with_a_small_network(config, tmp_path):
  """The smoke config trained with a 1-hidden-layer MLP in place of its network: the loss, schedule and data path
  run through the training loop at a fraction of a ResNet's cost on a CPU."""
  config.model = ml_collections.ConfigDict({"name": "mlp", "depth": 1, "width": 16})
  try:
    metrics = loop.train_and_evaluate(config, str(tmp_path / "run"))
  finally:
    shutil.rmtree(tmp_path / "run", ignore_errors=True)
  assert all(math.isfinite(v) for v in metrics.values()) and "eval/accuracy" in metrics


def test_cot_smoke_config_trains_on_the_stand_in(tmp_path):
  _train_smoke_with_a_small_network(get_config("expectation_mixing.cot", "smoke"), tmp_path)


# ---- The gradient-norm-matched CE control -------------------------------------------------------------------------


def test_ce_matched_is_the_area_matched_control_at_strategy_3s_schedule():
  config = get_config("expectation_mixing.cinic10", "loss=ce_matched")
  assert config.loss.to_dict() == menus.MIXING["ce_matched"]
  objective = losses.get_objective("gradient_matched_cross_entropy", focus_schedule="F=0-0.5")
  z, y = np.array([[2.0, 0.0, -1.0]], np.float32), np.array([0])
  ce = -np.log(np.exp(2) / (np.exp(2) + 1 + np.exp(-1)))
  # M = alpha + beta / 3 with (alpha, beta) = (1, 1) at F = 0 and (0, 1) at F = 0.5 (the last sixth of training)
  np.testing.assert_allclose(objective(z, y, progress=0.0), 4 / 3 * ce, rtol=1e-6)
  np.testing.assert_allclose(objective(z, y, progress=0.9), 1 / 3 * ce, rtol=1e-6)


def test_ce_matched_smoke_run_trains_on_the_uci_stand_in(tmp_path):
  check_smoke_version_trains_end_to_end("expectation_mixing.uci", "data=uci121:abalone,loss=ce_matched", tmp_path)
