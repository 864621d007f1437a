"""The paper configs under configs/<paper>/: every variant builds with the hyper-parameters of EXPERIMENTS.md's tables,
the models they name build (and have HEM Table 2's sizes), bad variants are named, and smoke versions train."""

import importlib
import itertools
import math
import pathlib
import shutil

import numpy as np
import pytest
from flax import nnx

from el_jax import data, losses, models
from el_jax.train import loop, optimizer

ROOT = pathlib.Path(__file__).resolve().parents[2]
EL_LOSSES = ("ce", "el")
MIXING_LOSSES = ("ce", "f0", "f0_05", "f0_to_05")
HEM_LOSSES = ("ce", "logit_norm", "logit_adjusted", "dice", "mm", "hem", "hem_plus")
MIXING_CIFAR_MODELS = (
  "shufflenet_v2",
  "resnet20",
  "resnet32",
  "resnet44",
  "resnet18",
  "resnet34",
  "preact_resnet18",
  "resnext29",
)

# Every config file and the values of each of its variant arguments (the other arguments keep their defaults).
VARIANTS = {
  "encouraging_loss.mnist": {"loss": EL_LOSSES, "data": ("mnist", "mnist_digits")},
  "encouraging_loss.mnist_ood": {"loss": EL_LOSSES, "data": ("mnist", "mnist_digits")},
  "encouraging_loss.cifar": {
    "dataset": ("cifar10", "cifar100"),
    "model": ("resnet50", "efficientnet_b0"),
    "loss": (*EL_LOSSES, "el_normal"),
    "lr_scale": ("0.5", "1", "2"),
  },
  "encouraging_loss.imagenet": {"model": ("resnet50", "efficientnet_b0"), "loss": EL_LOSSES},
  "encouraging_loss.inaturalist": {
    "loss": (*EL_LOSSES, "el_normal", "el_aggressive", "focal", "halted_focal"),
  },
  "expectation_mixing.cifar100": {"model": MIXING_CIFAR_MODELS, "loss": MIXING_LOSSES},
  "expectation_mixing.cinic10": {"model": MIXING_CIFAR_MODELS, "loss": MIXING_LOSSES},
  "expectation_mixing.imagenet": {
    "model": ("resnet18", "resnet34", "resnet50", "resnet101", "shufflenet_v2", "resnext50_32x4d", "resnext101_32x8d"),
    "loss": MIXING_LOSSES,
  },
  "expectation_mixing.uci": {
    "data": ("digits", "iris", "wine", "breast_cancer"),
    "model": ("linear", "hidden"),
    "lr": ("0.01", "0.005", "0.001"),
    "loss": (*MIXING_LOSSES, "expectation", "focal"),
    "split": ("validation", "test"),
  },
  "hem.mnist": {"model": ("lenet", "convnet", "mlp"), "loss": HEM_LOSSES, "data": ("mnist", "mnist_digits")},
  "hem.cifar10": {"model": ("resnet32", "mobilenet_v3_small", "wrn22_10"), "loss": HEM_LOSSES},
  "hem.cifar100": {"model": ("mobilenet_v3_large", "resnet18", "preact_resnet18"), "loss": HEM_LOSSES},
  "hem.tiny_imagenet": {"model": ("resnet18", "inception_v3", "wrn28_10"), "loss": HEM_LOSSES},
  "hem.imagenet": {"model": ("resnet50", "swin_t", "vit_b16"), "loss": HEM_LOSSES},
  "hem.long_tail": {"dataset": ("cifar10", "cifar100"), "ratio": ("100", "10"), "loss": HEM_LOSSES},
}


# Configs of other modalities (graphs, text, translation) and of continual learning: their variants, recipes and smoke
# runs are tested beside their models and data.
TESTED_ELSEWHERE = {
  "encouraging_loss.graphs": "tests/graphs/test_graph_config.py",
  "encouraging_loss.iwslt": "tests/translation",
  "expectation_mixing.reviews": "tests/text",
  "expectation_mixing.glue": "tests/text",
  "hem.continual": "tests/continual",
}


def _config(module: str, arg: str | None = None):
  return importlib.import_module(f"configs.{module}").get_config(arg)


def _all_variants():
  """(module, arg) for each value of each variant argument of each config file, the others at their defaults
  (combinations whose hyper-parameters interact, such as HEM's transformer warm-up and loss, are in TABLE)."""
  for module, options in VARIANTS.items():
    for key, values in options.items():
      for value in values:
        yield module, f"{key}={value}"


ALL_VARIANTS = list(_all_variants())


def test_variant_table_covers_every_config_file():
  on_disk = {
    f"{path.parent.name}.{path.stem}"
    for folder in ("encouraging_loss", "expectation_mixing", "hem")
    for path in (ROOT / "configs" / folder).glob("*.py")
    if path.stem not in ("__init__", "recipes")
  }
  assert set(VARIANTS) | set(TESTED_ELSEWHERE) == on_disk
  for module, tests in TESTED_ELSEWHERE.items():
    assert (ROOT / tests).exists(), f"{module}'s tests are missing: {tests}"


# ---- Every variant builds; its loss is a valid objective ---------------------------------------------------------


def _resolve(config, counts):
  """The loss's hyper-parameters with training-set markers resolved for the class histogram `counts`."""
  hparams = {k: v for k, v in config.loss.to_dict().items() if k != "name"}
  return losses.resolve_data_hparams(hparams, counts)


@pytest.mark.parametrize("module, arg", ALL_VARIANTS, ids=[f"{m}:{a}" for m, a in ALL_VARIANTS])
def test_every_variant_builds_with_a_valid_objective(module, arg):
  config = _config(module, arg)
  smoke = _config(module, arg + ",smoke")
  assert config.model.name in models.names()
  assert smoke.model.name == config.model.name and smoke.loss == config.loss and smoke.optimizer == config.optimizer
  objective = losses.get_objective(config.loss.name, **_resolve(config, np.arange(1, 11) * 10))
  logits = np.array([[2.0, 0.5, -1.0] + [0.0] * 7, [0.1, 0.2, 3.0] + [0.0] * 7], np.float32)
  assert np.isfinite(objective(logits, np.array([0, 2]), progress=0.5))
  optimizer.create(config.optimizer, steps_per_epoch=10, num_epochs=config.num_epochs)


# ---- The models the configs name build, for their dataset's shape --------------------------------------------------

# Real shapes (H, W, C) and classes of the datasets, from their publications.
DATASET_SHAPES = {
  "tfds:mnist": ((28, 28, 1), 10),
  "mnist_digits": ((28, 28, 1), 10),
  "cifar10": ((32, 32, 3), 10),
  "cifar100": ((32, 32, 3), 100),
  "tfds:cinic10": ((32, 32, 3), 10),
  "tfds:tiny_imagenet": ((64, 64, 3), 200),
  "imagenet": ((224, 224, 3), 1000),
  "tfds:i_naturalist2018": ((224, 224, 3), 8142),
  "uci_digits": ((64,), 10),
  "uci_iris": ((4,), 3),
  "uci_wine": ((13,), 3),
  "uci_breast_cancer": ((30,), 2),
}
STAND_INS = {
  "tfds:mnist": "synthetic:mnist",
  "cifar10": "synthetic:cifar10",
  "cifar100": "synthetic:cifar100",
  "tfds:cinic10": "synthetic:cinic10",
  "tfds:tiny_imagenet": "synthetic:tiny_imagenet",
  "imagenet": "synthetic:imagenet",
  "tfds:i_naturalist2018": "synthetic:inaturalist2018",
}


def _model_input(config):
  shape, num_classes = DATASET_SHAPES[config.dataset.name]
  if config.dataset.image_size:
    shape = (config.dataset.image_size, config.dataset.image_size, shape[2])
  return shape, num_classes


def _abstract_model(config):
  shape, num_classes = _model_input(config)
  kwargs = {k: v for k, v in config.model.to_dict().items() if k != "name"}
  return nnx.eval_shape(
    lambda: models.create(config.model.name, num_classes=num_classes, input_shape=shape, seed=0, **kwargs)
  )


def _distinct_models():
  """(module, arg) of one variant per distinct (model, model arguments, input shape) among all variants."""
  seen = {}
  for module, arg in ALL_VARIANTS:
    config = _config(module, arg)
    key = (config.model.name, str(config.model.to_dict()), _model_input(config)[0])
    seen.setdefault(key, (module, arg))
  return list(seen.values())


DISTINCT_MODELS = _distinct_models()


@pytest.mark.parametrize("module, arg", DISTINCT_MODELS, ids=[f"{m}:{a}" for m, a in DISTINCT_MODELS])
def test_the_named_model_builds_for_the_datasets_shape(module, arg):
  model = _abstract_model(_config(module, arg))
  assert models.count_params(model) > 0


DATASET_VARIANTS = [(m, "") for m in VARIANTS] + [
  (m, a) for m, a in ALL_VARIANTS if a.startswith(("data=", "dataset="))
]


@pytest.mark.parametrize("module, arg", DATASET_VARIANTS, ids=[f"{m}:{a}" for m, a in DATASET_VARIANTS])
def test_the_smoke_stand_in_has_the_real_shape_and_classes(module, arg):
  config, smoke = _config(module, arg), _config(module, arg + ",smoke")
  expected_shape, expected_classes = DATASET_SHAPES[config.dataset.name]
  assert smoke.dataset.name == STAND_INS.get(config.dataset.name, config.dataset.name)
  source = data.load(smoke.dataset.name, smoke.dataset.train_split)
  assert tuple(source.input_shape) == expected_shape and source.num_classes == expected_classes
  assert smoke.dataset.image_size == config.dataset.image_size


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
  config = _config(module, arg)
  config.model.update(overrides)
  assert models.count_params(_abstract_model(config)) == expected


# ---- Hyper-parameters of EXPERIMENTS.md ---------------------------------------------------------------------------

SGD = {"name": "sgd", "momentum": 0.9}
# (module, arg) -> (model, batch, epochs, optimiser settings); optimiser keys not listed must be absent or default.
TABLE = [
  # Encouraging loss.
  ("encouraging_loss.mnist", "", "lsoftmax_cnn", 256, 100, {**SGD, "learning_rate": 0.1, "schedule": "constant"}),
  (
    "encouraging_loss.cifar",
    "model=resnet50",
    "resnet50",
    64,
    90,
    {**SGD, "learning_rate": 0.025, "nesterov": True, "weight_decay": 1e-4, "boundaries": (30, 60, 80)},
  ),
  (
    "encouraging_loss.cifar",
    "model=efficientnet_b0,dataset=cifar100",
    "efficientnet_b0",
    32,
    90,
    {**SGD, "learning_rate": 0.0125, "nesterov": True, "weight_decay": 1e-4, "boundaries": (30, 60, 80)},
  ),
  (
    "encouraging_loss.cifar",
    "model=resnet50,lr_scale=0.5,loss=el_normal",
    "resnet50",
    64,
    90,
    {**SGD, "learning_rate": 0.0125, "nesterov": True, "weight_decay": 1e-4, "boundaries": (30, 60, 80)},
  ),
  (
    "encouraging_loss.imagenet",
    "model=resnet50",
    "resnet50",
    256,
    90,
    {**SGD, "learning_rate": 0.1, "weight_decay": 1e-4, "boundaries": (30, 60), "decay_factor": 0.1},
  ),
  (
    "encouraging_loss.imagenet",
    "model=efficientnet_b0",
    "efficientnet_b0",
    384,
    450,
    {"name": "rmsprop", "learning_rate": 0.048, "eps_in_sqrt": True, "initial_scale": 1.0},
  ),
  (
    "encouraging_loss.inaturalist",
    "",
    "resnet50",
    512,
    200,
    {**SGD, "learning_rate": 0.2, "schedule": "cosine"},
  ),
  # Mixing CE and the expectation loss.
  *[
    (
      "expectation_mixing.cifar100",
      f"model={model}",
      model,
      128,
      240,
      {**SGD, "learning_rate": 0.1, "weight_decay": 1e-4, "boundaries": (120, 160, 200), "decay_factor": 0.1},
    )
    for model in MIXING_CIFAR_MODELS
  ],
  (
    "expectation_mixing.cinic10",
    "model=resnext29",
    "resnext29",
    128,
    90,
    {**SGD, "learning_rate": 0.1, "weight_decay": 1e-4, "boundaries": (30, 60), "decay_factor": 0.1},
  ),
  (
    "expectation_mixing.imagenet",
    "model=resnext101_32x8d",
    "resnext101_32x8d",
    256,
    90,
    {**SGD, "learning_rate": 0.1, "weight_decay": 1e-4, "boundaries": (30, 60), "decay_factor": 0.1},
  ),
  ("expectation_mixing.uci", "lr=0.005", "mlp", 8, 50, {"name": "sgd", "learning_rate": 0.005}),
  # HEM.
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
  config = _config(module, arg)
  assert (config.model.name, config.batch_size, config.num_epochs) == (model, batch_size, num_epochs)
  for key, value in opt.items():
    actual = config.optimizer.get(key)
    if isinstance(value, float):
      assert actual == pytest.approx(value), key
    elif isinstance(value, tuple):
      assert tuple(actual) == value, key
    else:
      assert actual == value, key
  if "boundaries" in opt:
    assert config.optimizer.schedule == "multistep"
  assert "nesterov" in opt or not config.optimizer.get("nesterov", False)


def _lr(config, epoch, steps_per_epoch=100):
  schedule = optimizer.learning_rate_schedule(
    config.optimizer, steps_per_epoch=steps_per_epoch, num_epochs=config.num_epochs
  )
  return float(schedule(int(round(epoch * steps_per_epoch))))


def test_efficientnet_imagenet_decays_by_0_97_every_2_4_epochs_after_warm_up():
  config = _config("encouraging_loss.imagenet", "model=efficientnet_b0")
  assert config.optimizer.weight_decay == pytest.approx(1e-5) and config.optimizer.eps == pytest.approx(1e-3)
  assert _lr(config, 1.5) == pytest.approx(0.048 * 0.5, rel=1e-3)  # half-way through the 3-epoch linear warm-up
  for k in (2, 10, 100, 187):
    assert _lr(config, 2.4 * k + 0.5) == pytest.approx(0.048 * 0.97**k, rel=1e-4)
  assert config.loss.label_smoothing == pytest.approx(0.1)


def test_hem_transformers_warm_up_exponentially_to_a_fixed_learning_rate():
  config = _config("hem.imagenet", "model=swin_t")
  assert _lr(config, 0) == pytest.approx(1e-6, rel=1e-4)
  assert _lr(config, 2.5) == pytest.approx(1e-3 * 1e-3**0.5, rel=1e-3)  # geometric mid-point
  assert _lr(config, 5) == _lr(config, 99) == pytest.approx(1e-3)


def test_long_tail_steps_the_learning_rate_by_100_at_160_and_180():
  config = _config("hem.long_tail")
  assert [_lr(config, e) for e in (0, 159.9, 160, 179.9, 180)] == pytest.approx([0.1, 0.1, 1e-3, 1e-3, 1e-5])
  assert config.dataset.long_tail_ratio == 100


# ---- Loss menus ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
  "module, arg, expected",
  [
    ("encouraging_loss.mnist", "loss=el", {"name": "encouraging_loss", "log_end": 1.0}),
    ("encouraging_loss.mnist", "loss=ce", {"name": "cross_entropy"}),
    ("encouraging_loss.cifar", "loss=el", {"name": "encouraging_loss", "log_end": 0.75}),
    ("encouraging_loss.cifar", "loss=el_normal", {"name": "encouraging_loss", "log_end": 1.0}),
    ("encouraging_loss.imagenet", "loss=el", {"name": "encouraging_loss", "log_end": 0.75}),
    (
      "encouraging_loss.imagenet",
      "model=efficientnet_b0,loss=el",
      {"name": "encouraging_loss", "log_end": 0.75, "label_smoothing": 0.1},
    ),
    ("encouraging_loss.imagenet", "model=efficientnet_b0,loss=ce", {"name": "cross_entropy", "label_smoothing": 0.1}),
    ("encouraging_loss.inaturalist", "loss=el", {"name": "encouraging_loss", "log_end": 0.5}),
    ("encouraging_loss.inaturalist", "loss=el_normal", {"name": "encouraging_loss", "log_end": 1.0}),
    (
      "encouraging_loss.inaturalist",
      "loss=el_aggressive",
      {"name": "encouraging_loss", "log_end": 1.0, "bonus_start": 0.5},
    ),
    ("expectation_mixing.cifar100", "loss=ce", {"name": "cross_entropy"}),
    ("expectation_mixing.cifar100", "loss=f0", {"name": "mixed_ce_expectation", "focus_schedule": "F=0"}),
    ("expectation_mixing.imagenet", "loss=f0_05", {"name": "mixed_ce_expectation", "focus_schedule": "F=0,0.5"}),
    ("expectation_mixing.cinic10", "loss=f0_to_05", {"name": "mixed_ce_expectation", "focus_schedule": "F=0-0.5"}),
    ("expectation_mixing.uci", "loss=expectation", {"name": "expectation_loss"}),
    ("expectation_mixing.uci", "loss=focal", {"name": "focal_loss", "gamma": 2.0, "alpha": 0.25}),
    ("hem.cifar10", "loss=logit_norm", {"name": "logit_norm_loss", "tau": 0.04}),
    ("hem.cifar10", "loss=mm", {"name": "multiclass_margin_loss", "margin": 1.0}),
    ("hem.cifar10", "loss=dice", {"name": "dice_loss"}),
    ("hem.cifar10", "loss=hem", {"name": "hem_loss", "margin": "hem"}),
    ("hem.long_tail", "loss=hem_plus", {"name": "hem_loss", "margin": "hem_plus"}),
    ("hem.long_tail", "loss=logit_adjusted", {"name": "logit_adjusted_loss", "class_counts": "train", "tau": 1.0}),
  ],
)
def test_loss_menus_hold_the_papers_settings(module, arg, expected):
  assert _config(module, arg).loss.to_dict() == expected


def test_hem_margin_is_resolved_from_the_training_set_size():
  hparams = _resolve(_config("hem.cifar10", "loss=hem"), np.full(10, 5000))
  assert hparams["margin"] == pytest.approx(math.sqrt(2000 / 50_000))


def test_uci_hidden_layer_is_as_wide_as_the_input():
  for name in ("digits", "iris", "wine", "breast_cancer"):
    config = _config("expectation_mixing.uci", f"data={name},model=hidden")
    source = data.load(config.dataset.name, config.dataset.train_split)
    assert (config.model.depth, config.model.width) == (1, source.input_shape[0])
    assert _config("expectation_mixing.uci", f"data={name},model=linear").model.depth == 0


# ---- Bad variants -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("module, key", [(m, k) for m, options in VARIANTS.items() for k in options if k != "lr_scale"])
def test_an_unknown_variant_value_lists_the_valid_ones(module, key):
  with pytest.raises(ValueError) as error:
    _config(module, f"{key}=no_such_value")
  message = str(error.value)
  assert "no_such_value" in message
  for valid in VARIANTS[module][key]:
    assert valid in message


def test_an_unknown_argument_is_named():
  with pytest.raises(ValueError, match="modle"):
    _config("hem.cifar10", "modle=resnet32")


# ---- Smoke runs ---------------------------------------------------------------------------------------------------


def _smoke_runs():
  """Each distinct (model, input shape) among all variants once, as the smoke version of the first variant that has
  it, config files' defaults first (the UCI networks once per depth), and the long-tail default, the one config whose
  training set and loss depend on class counts. Runs on inputs larger than 28x28 take more than 20 s: slow."""
  runs, seen = [], set()
  for module, arg in dict.fromkeys([("hem.long_tail", "")] + [(module, "") for module in VARIANTS] + ALL_VARIANTS):
    config = _config(module, arg)
    shape, _ = _model_input(config)
    key = (config.model.name, config.model.get("depth"), shape if len(shape) == 3 else "features")
    if key not in seen:
      seen.add(key)
      slow = len(shape) == 3 and shape[0] > 28
      runs.append(pytest.param(module, arg, marks=[pytest.mark.slow] if slow else [], id=f"{module}:{arg}"))
  return runs


SMOKE_RUNS = _smoke_runs()


@pytest.mark.parametrize("module, arg", SMOKE_RUNS)
def test_smoke_version_trains_end_to_end(module, arg, tmp_path):
  config = _config(module, ",".join(filter(None, [arg, "smoke"])))
  try:
    metrics = loop.train_and_evaluate(config, str(tmp_path / "run"))
  finally:
    shutil.rmtree(tmp_path / "run", ignore_errors=True)
  assert set(metrics) >= {"eval/loss", "eval/accuracy"}
  assert all(math.isfinite(v) for v in metrics.values()), metrics
