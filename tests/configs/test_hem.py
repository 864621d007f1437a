"""configs/hem/: every variant builds with the hyper-parameters of EXPERIMENTS.md's tables for the HEM paper, the
models it names build (and have the sizes of the paper's Table 2), its loss menus, bad variants are named, and the
smoke versions train."""

import itertools
import math
import shutil

import numpy as np
import pytest
from absl import flags
from ml_collections import config_flags

from el_jax import models
from el_jax.train import loop
from tests.configs.paper_configs import (
  ALL_VARIANTS,
  DATASET_VARIANTS,
  DISTINCT_MODELS,
  ROOT,
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
    ("hem.long_tail", "loss=hem_plus_label", {"name": "hem_loss", "margin": "hem_plus", "margin_of": "label"}),
    ("hem.long_tail", "loss=logit_adjusted", {"name": "logit_adjusted_loss", "class_counts": "train", "tau": 1.0}),
    # appendix B.2, Table 3 at margin 0.2: MM with HEM's mean of the above-zero errors, or with its threshold
    (
      "hem.appendix_b",
      "loss=mm_maz",
      {"name": "multiclass_margin_loss", "margin": 0.2, "above_zero_mean": True},
    ),
    (
      "hem.appendix_b",
      "loss=mm_thres",
      {"name": "multiclass_margin_loss", "margin": 0.2, "mean_threshold": True},
    ),
    ("hem.appendix_b", "loss=logit_norm", {"name": "logit_norm_loss", "tau": 0.04}),
  ],
)
def test_loss_menus_hold_the_papers_settings(module, arg, expected):
  loss = get_config(module, arg).loss.to_dict()
  assert {k: v for k, v in loss.items() if v is not None} == expected  # a margin loss's unset M and margin_of


def test_hem_margin_is_resolved_from_the_training_set_size():
  hparams = resolve(get_config("hem.cifar10", "loss=hem"), np.full(10, 5000))
  assert hparams["margin"] == pytest.approx(math.sqrt(2000 / 50_000))


def test_appendix_b_trains_resnet18_on_50_images_per_class_where_hems_margin_is_2():
  config = get_config("hem.appendix_b", "per_class=50")
  assert (config.model.name, config.dataset.name, config.dataset.train_per_class) == ("resnet18", "cifar10", 50)
  check_hyper_parameters(
    "hem.appendix_b",
    "per_class=50",
    "resnet18",
    128,
    110,
    {**SGD, "learning_rate": 0.1, "weight_decay": 5e-4, "boundaries": (100, 105), "decay_factor": 0.1},
  )
  assert resolve(config, np.full(10, 50))["margin"] == pytest.approx(2.0)  # B.1: "mu = 2 for the 50 samples"
  assert resolve(get_config("hem.appendix_b"), np.full(10, 5000))["margin"] == pytest.approx(0.2)
  assert get_config("hem.appendix_b", "dataset=cifar100").dataset.train_per_class is None


# ---- Margins, M and the margins' reading from the command line (appendix B.1's sweeps) ---------------------------


def _from_command_line(module: str, arg: str, *overrides: str):
  """The config `train.py --config <module>:<arg> <overrides>` trains: parsed by its flag parser, then locked."""
  path = ROOT / "el_jax" / "configs" / f"{module.replace('.', '/')}.py"
  argv = ["train.py", f"--config={path}:{arg}", *overrides]
  values = flags.FlagValues()
  config_flags.DEFINE_config_file("config", None, "a config file", flag_values=values, sys_argv=argv)
  values(argv)
  return values.config


MARGIN_CONFIGS = [
  ("hem.mnist", "loss=hem"),
  ("hem.mnist", "loss=mm"),
  ("hem.cifar10", "loss=hem_plus"),
  ("hem.long_tail", "loss=hem_plus_label"),
  ("hem.continual", "loss=mm"),
  ("hem.appendix_b", "loss=mm_maz"),
  ("studies.long_tail", "loss=hem_plus"),
  ("studies.fashion_mnist", "loss=hem"),
  ("hem.cifar100", "loss=hem"),
  ("hem.tiny_imagenet", "loss=mm"),
  ("hem.imagenet", "loss=hem_plus"),
  ("hem.segmentation", "loss=hem"),
]


@pytest.mark.parametrize("module, arg", MARGIN_CONFIGS, ids=ids(MARGIN_CONFIGS))
def test_margin_m_and_reading_are_set_from_the_command_line(module, arg):
  counts = np.array([400, 100, 50, 20, 10, 10, 10, 10, 10, 10])  # N = 630, K = 10
  config = _from_command_line(module, arg, "--config.loss.margin=0.5")
  assert resolve(config, counts)["margin"] == 0.5
  config = _from_command_line(module, arg, "--config.loss.margin=hem", "--config.loss.M=500")
  assert resolve(config, counts)["margin"] == pytest.approx(math.sqrt(500 / 630))
  config = _from_command_line(module, arg, "--config.loss.margin=hem_plus", "--config.loss.margin_of=label")
  hparams = resolve(config, counts)
  np.testing.assert_allclose(hparams["margin"], np.sqrt(2000 / (10 * counts)), rtol=1e-6)
  assert hparams["margin_of"] == "label"
  config = _from_command_line(module, arg, "--config.loss.margin=[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.0]")
  np.testing.assert_allclose(resolve(config, counts)["margin"], np.arange(1, 11) / 10)
  with pytest.raises(ValueError, match=r"M=500.0 sets the margin of the markers"):  # an M nothing would use
    resolve(_from_command_line(module, arg, "--config.loss.margin=0.5", "--config.loss.M=500"), counts)


def test_each_config_has_its_own_margin_field():
  first, second = get_config("hem.mnist", "loss=hem"), get_config("hem.mnist", "loss=hem")
  first.loss.margin = 0.5
  assert second.loss.margin == "hem"


# ---- Bad variants ---------------------------------------------------------------------------------------------------

UNKNOWN_CASES = of_paper(PAPER, UNKNOWN_VALUES)


@pytest.mark.parametrize("module, key", UNKNOWN_CASES)
def test_an_unknown_variant_value_lists_the_valid_ones(module, key):
  check_an_unknown_variant_value_lists_the_valid_ones(module, key)


# ---- Smoke runs -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("module, arg", of_paper(PAPER, SMOKE_RUNS))
def test_smoke_version_trains_end_to_end(module, arg, tmp_path):
  check_smoke_version_trains_end_to_end(module, arg, tmp_path)


def test_appendix_b_smoke_trains_an_ablation_loss_on_a_per_class_subset(tmp_path):
  # LeNet in place of ResNet-18, whose smoke run on a 32x32 stand-in is hem.cifar100's (above): what is new here is
  # the per-class subset and the loss, whose objective is the mean of the above-zero per-example losses.
  config = get_config("hem.appendix_b", "loss=mm_maz,per_class=50,smoke")
  config.model.name = "lenet"
  try:
    metrics = loop.train_and_evaluate(config, str(tmp_path / "run"))
  finally:
    shutil.rmtree(tmp_path / "run", ignore_errors=True)
  assert all(math.isfinite(v) for v in metrics.values()) and set(metrics) >= {"eval/loss", "eval/accuracy"}
