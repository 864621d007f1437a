"""configs/hem/: every variant builds with the hyper-parameters of EXPERIMENTS.md's tables for the HEM paper, the
models it names build (and have the sizes of the paper's Table 2), its loss menus, bad variants are named, and the
smoke versions train."""

import itertools
import math

import numpy as np
import pytest

from el_jax import models
from tests.configs.paper_configs import (
  ALL_VARIANTS,
  DATASET_VARIANTS,
  DISTINCT_MODELS,
  SGD,
  SMOKE_RUNS,
  UNKNOWN_VALUES,
  abstract_model,
  check_an_unknown_variant_value_lists_the_valid_ones,
  check_hyper_parameters,
  check_named_model_builds,
  check_smoke_stand_in_has_the_real_shape_and_classes,
  check_smoke_version_trains_end_to_end,
  check_variant_builds_with_a_valid_objective,
  get_config,
  ids,
  lr_at,
  of_paper,
  resolve,
)

PAPER = "hem"


# ---- Every variant builds; its loss is a valid objective ------------------------------------------------------------

VARIANT_CASES = of_paper(PAPER, ALL_VARIANTS)


@pytest.mark.parametrize("module, arg", VARIANT_CASES, ids=ids(VARIANT_CASES))
def test_every_variant_builds_with_a_valid_objective(module, arg):
  check_variant_builds_with_a_valid_objective(module, arg)


# ---- The models the configs name build, for their dataset's shape ---------------------------------------------------

MODEL_CASES = of_paper(PAPER, DISTINCT_MODELS)


@pytest.mark.parametrize("module, arg", MODEL_CASES, ids=ids(MODEL_CASES))
def test_the_named_model_builds_for_the_datasets_shape(module, arg):
  check_named_model_builds(module, arg)


DATASET_CASES = of_paper(PAPER, DATASET_VARIANTS)


@pytest.mark.parametrize("module, arg", DATASET_CASES, ids=ids(DATASET_CASES))
def test_the_smoke_stand_in_has_the_real_shape_and_classes(module, arg):
  check_smoke_stand_in_has_the_real_shape_and_classes(module, arg)


# ---- Table 2 of the HEM paper: trainable parameters -----------------------------------------------------------------


@pytest.mark.parametrize(
  "module, arg, overrides, expected",
  [
    ("hem.mnist", "model=convnet", {}, 30_954),
    ("hem.mnist", "model=mlp", {}, 239_410),
    ("hem.cifar10", "model=resnet32", {}, 464_154),
    ("hem.cifar10", "model=mobilenet_v3_small", {}, 1_528_106),
    ("hem.cifar10", "model=wrn22_10", {"unused_first_group": True}, 27_977_146),
    ("hem.cifar100", "model=mobilenet_v3_large", {}, 4_330_132),
    ("hem.cifar100", "model=preact_resnet18", {}, 11_218_340),
    ("hem.tiny_imagenet", "model=wrn28_10", {"unused_first_group": True}, 38_241_656),
    ("hem.imagenet", "model=resnet50", {}, 25_557_032),
    ("hem.imagenet", "model=vit_b16", {}, 86_567_656),
    # Table 2 gives ResNet-18's 10-class count (11,173,962) for CIFAR-100 and TinyImageNet too; a 512-feature head
    # adds 513 parameters per extra class.
    ("hem.cifar100", "model=resnet18", {}, 11_173_962 + 90 * 513),
    ("hem.tiny_imagenet", "model=resnet18", {}, 11_173_962 + 190 * 513),
    ("hem.long_tail", "dataset=cifar10", {}, 464_154),
  ],
)
def test_hem_models_have_table_2_sizes(module, arg, overrides, expected):
  config = get_config(module, arg)
  config.model.update(overrides)
  assert models.count_params(abstract_model(config)) == expected


# ---- Hyper-parameters of EXPERIMENTS.md -----------------------------------------------------------------------------

# (module, arg) -> (model, batch, epochs, optimiser settings); optimiser keys not listed must be absent or default.
TABLE = [
  *[
    ("hem.mnist", f"model={model}", model, 128, 20, {"name": "adam", "learning_rate": 1e-3, "schedule": "constant"})
    for model in ("lenet", "convnet", "mlp")
  ],
  *[
    (
      f"hem.{dataset}",
      f"model={model}",
      model,
      128,
      110,
      {**SGD, "learning_rate": lr, "weight_decay": 5e-4, "boundaries": (100, 105), "decay_factor": 0.1},
    )
    for dataset, model, lr in [
      ("cifar10", "resnet32", 0.1),
      ("cifar10", "mobilenet_v3_small", 0.02),
      ("cifar10", "wrn22_10", 0.1),
      ("cifar100", "mobilenet_v3_large", 0.02),
      ("cifar100", "resnet18", 0.1),
      ("cifar100", "preact_resnet18", 0.1),
    ]
  ],
  *[
    (
      "hem.tiny_imagenet",
      f"model={model}",
      model,
      128,
      200,
      {**SGD, "learning_rate": 0.1, "weight_decay": 5e-4, "boundaries": (50, 100, 150), "decay_factor": 0.1},
    )
    for model in ("resnet18", "inception_v3", "wrn28_10")
  ],
  (
    "hem.imagenet",
    "model=resnet50",
    "resnet50",
    512,
    100,
    {**SGD, "learning_rate": 0.1, "weight_decay": 1e-4, "boundaries": (25, 50, 75), "decay_factor": 0.1},
  ),
  *[
    (
      "hem.imagenet",
      f"model={model},loss={loss}",
      model,
      256,
      100,
      {"name": "adamw", "learning_rate": 1e-3, "schedule": "constant", "warmup": "exponential", "warmup_epochs": w},
    )
    for model, loss, w in [("swin_t", "hem", 5), ("swin_t", "ce", 10), ("vit_b16", "hem", 10), ("vit_b16", "ce", 10)]
  ],
  *[
    (
      "hem.long_tail",
      f"dataset={dataset},ratio={ratio}",
      model,
      128,
      200,
      {**SGD, "learning_rate": 0.1, "weight_decay": 2e-4, "boundaries": (160, 180), "decay_factor": 0.01},
    )
    for (dataset, model), ratio in itertools.product([("cifar10", "resnet32"), ("cifar100", "resnet18")], ("100", "10"))
  ],
]


@pytest.mark.parametrize(
  "module, arg, model, batch_size, num_epochs, opt", TABLE, ids=[f"{r[0]}:{r[1]}" for r in TABLE]
)
def test_hyper_parameters_match_the_papers(module, arg, model, batch_size, num_epochs, opt):
  check_hyper_parameters(module, arg, model, batch_size, num_epochs, opt)


def test_hem_transformers_warm_up_exponentially_to_a_fixed_learning_rate():
  config = get_config("hem.imagenet", "model=swin_t")
  assert lr_at(config, 0) == pytest.approx(1e-6, rel=1e-4)
  assert lr_at(config, 2.5) == pytest.approx(1e-3 * 1e-3**0.5, rel=1e-3)  # geometric mid-point
  assert lr_at(config, 5) == lr_at(config, 99) == pytest.approx(1e-3)


def test_long_tail_steps_the_learning_rate_by_100_at_160_and_180():
  config = get_config("hem.long_tail")
  assert [lr_at(config, e) for e in (0, 159.9, 160, 179.9, 180)] == pytest.approx([0.1, 0.1, 1e-3, 1e-3, 1e-5])
  assert config.dataset.long_tail_ratio == 100


# ---- Loss menus -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
  "module, arg, expected",
  [
    ("hem.cifar10", "loss=logit_norm", {"name": "logit_norm_loss", "tau": 0.04}),
    ("hem.cifar10", "loss=mm", {"name": "multiclass_margin_loss", "margin": 1.0}),
    ("hem.cifar10", "loss=dice", {"name": "dice_loss"}),
    ("hem.cifar10", "loss=hem", {"name": "hem_loss", "margin": "hem"}),
    ("hem.long_tail", "loss=hem_plus", {"name": "hem_loss", "margin": "hem_plus"}),
    ("hem.long_tail", "loss=logit_adjusted", {"name": "logit_adjusted_loss", "class_counts": "train", "tau": 1.0}),
  ],
)
def test_loss_menus_hold_the_papers_settings(module, arg, expected):
  assert get_config(module, arg).loss.to_dict() == expected


def test_hem_margin_is_resolved_from_the_training_set_size():
  hparams = resolve(get_config("hem.cifar10", "loss=hem"), np.full(10, 5000))
  assert hparams["margin"] == pytest.approx(math.sqrt(2000 / 50_000))


# ---- Bad variants ---------------------------------------------------------------------------------------------------

UNKNOWN_CASES = of_paper(PAPER, UNKNOWN_VALUES)


@pytest.mark.parametrize("module, key", UNKNOWN_CASES)
def test_an_unknown_variant_value_lists_the_valid_ones(module, key):
  check_an_unknown_variant_value_lists_the_valid_ones(module, key)


# ---- Smoke runs -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("module, arg", of_paper(PAPER, SMOKE_RUNS))
def test_smoke_version_trains_end_to_end(module, arg, tmp_path):
  check_smoke_version_trains_end_to_end(module, arg, tmp_path)
