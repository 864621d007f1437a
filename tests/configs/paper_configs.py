"""The paper configs under configs/<paper>/ for the tests of this folder: the variant arguments of every config file,
the real shapes of their datasets, and the checks that each variant runs (in test_<paper>.py, for that paper's
variants; test_common.py checks that the table covers every config file).

The checks deduplicate models and smoke runs over all papers' variants together, so a paper's share of
`DISTINCT_MODELS` and `SMOKE_RUNS` leaves out what another paper's variant already covers.
"""

import importlib
import math
import pathlib
import shutil

import numpy as np
import pytest
from flax import nnx

from el_jax import data, losses, models
from el_jax.train import loop, optimizer, setup

ROOT = pathlib.Path(__file__).resolve().parents[2]
EL_LOSSES = ("ce", "el")
MIXING_LOSSES = ("ce", "f0", "f0_05", "f0_to_05")
HEM_LOSSES = ("ce", "logit_norm", "logit_adjusted", "dice", "mm", "hem", "hem_plus", "hem_plus_label")
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
  "encouraging_loss.mnist": {
    "loss": (*EL_LOSSES, "mse_softmax", "mse_softmax_mirror", "mse_sigmoid", "mse_sigmoid_mirror"),
    "head": ("linear", "lsoftmax"),
    "data": ("mnist", "mnist_digits"),
  },
  "encouraging_loss.mnist_ood": {"loss": EL_LOSSES, "data": ("mnist", "mnist_digits")},
  "encouraging_loss.adversarial": {
    "loss": EL_LOSSES,
    "attack": ("fgsm", "pgd_linf", "pgd_l2"),
    "data": ("mnist", "mnist_digits"),
  },
  "encouraging_loss.cifar": {
    "dataset": ("cifar10", "cifar100"),
    "model": ("resnet50", "efficientnet_b0"),
    "loss": (*EL_LOSSES, "el_normal"),
    "lr_scale": ("0.5", "1", "2"),
  },
  "encouraging_loss.imagenet": {"model": ("resnet50", "efficientnet_b0"), "loss": EL_LOSSES},
  "encouraging_loss.blog_cifar10": {"loss": (*EL_LOSSES, "mae_mse", "mae_mse_softmax", "el_conservative")},
  "encouraging_loss.inaturalist": {
    "loss": (*EL_LOSSES, "el_normal", "el_aggressive", "focal", "halted_focal", "ce_drw", "el_normal_drw"),
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
  "hem.appendix_b": {
    "dataset": ("cifar10", "cifar100"),
    "loss": ("ce", "logit_norm", "mm", "hem", "mm_maz", "mm_thres"),
    "per_class": ("all", "50"),
  },
}


def get_config(module: str, arg: str | None = None):
  """`configs.<module>.get_config(arg)`, e.g. `get_config("hem.cifar10", "model=resnet32")`."""
  return importlib.import_module(f"el_jax.configs.{module}").get_config(arg)


def _all_variants():
  """(module, arg) for each value of each variant argument of each config file, the others at their defaults
  (combinations whose hyper-parameters interact, such as HEM's transformer warm-up and loss, are in the papers'
  tables of hyper-parameters)."""
  for module, options in VARIANTS.items():
    for key, values in options.items():
      for value in values:
        yield module, f"{key}={value}"


ALL_VARIANTS = list(_all_variants())


def of_paper(paper: str, cases: list) -> list:
  """The cases (tuples or `pytest.param`s whose first value is a config module) of the config files of `paper`."""
  module = lambda case: (case.values if hasattr(case, "values") else case)[0]  # noqa: E731
  return [case for case in cases if module(case).split(".")[0] == paper]


def ids(cases: list) -> list[str]:
  """`module:arg` test ids of (module, arg) cases."""
  return [f"{m}:{a}" for m, a in cases]


def resolve(config, counts):
  """The loss's hyper-parameters with training-set markers resolved for the class histogram `counts`."""
  hparams = {k: v for k, v in config.loss.to_dict().items() if k not in ("name", *setup.TRAINER_LOSS_KEYS)}
  return losses.resolve_data_hparams(hparams, counts)


# ---- Every variant builds; its loss is a valid objective ---------------------------------------------------------


def check_variant_builds_with_a_valid_objective(module, arg):
  config = get_config(module, arg)
  smoke = get_config(module, arg + ",smoke")
  assert config.model.name in models.names()
  assert smoke.model.name == config.model.name and smoke.loss == config.loss and smoke.optimizer == config.optimizer
  objective = losses.get_objective(config.loss.name, **resolve(config, np.arange(1, 11) * 10))
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


def model_input(config):
  shape, num_classes = DATASET_SHAPES[config.dataset.name]
  if config.dataset.image_size:
    shape = (config.dataset.image_size, config.dataset.image_size, shape[2])
  return shape, num_classes


def abstract_model(config):
  shape, num_classes = model_input(config)
  kwargs = {k: v for k, v in config.model.to_dict().items() if k != "name"}
  return nnx.eval_shape(
    lambda: models.create(config.model.name, num_classes=num_classes, input_shape=shape, seed=0, **kwargs)
  )


def _distinct_models():
  """(module, arg) of one variant per distinct (model, model arguments, input shape) among all variants."""
  seen = {}
  for module, arg in ALL_VARIANTS:
    config = get_config(module, arg)
    key = (config.model.name, str(config.model.to_dict()), model_input(config)[0])
    seen.setdefault(key, (module, arg))
  return list(seen.values())


DISTINCT_MODELS = _distinct_models()


def check_named_model_builds(module, arg):
  model = abstract_model(get_config(module, arg))
  assert models.count_params(model) > 0


DATASET_VARIANTS = [(m, "") for m in VARIANTS] + [
  (m, a) for m, a in ALL_VARIANTS if a.startswith(("data=", "dataset="))
]


def check_smoke_stand_in_has_the_real_shape_and_classes(module, arg):
  config, smoke = get_config(module, arg), get_config(module, arg + ",smoke")
  expected_shape, expected_classes = DATASET_SHAPES[config.dataset.name]
  assert smoke.dataset.name == STAND_INS.get(config.dataset.name, config.dataset.name)
  source = data.load(smoke.dataset.name, smoke.dataset.train_split)
  assert tuple(source.input_shape) == expected_shape and source.num_classes == expected_classes
  assert smoke.dataset.image_size == config.dataset.image_size


# ---- Hyper-parameters of EXPERIMENTS.md ---------------------------------------------------------------------------

SGD = {"name": "sgd", "momentum": 0.9}


def check_hyper_parameters(module, arg, model, batch_size, num_epochs, opt):
  """The config's model, batch, epochs and optimiser settings `opt`; optimiser keys not listed must be absent or
  default."""
  config = get_config(module, arg)
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


def lr_at(config, epoch, steps_per_epoch=100):
  """The learning rate of `config`'s schedule at (fractional) `epoch`."""
  schedule = optimizer.learning_rate_schedule(
    config.optimizer, steps_per_epoch=steps_per_epoch, num_epochs=config.num_epochs
  )
  return float(schedule(int(round(epoch * steps_per_epoch))))


# ---- Bad variants -------------------------------------------------------------------------------------------------

UNKNOWN_VALUES = [(m, k) for m, options in VARIANTS.items() for k in options if k != "lr_scale"]


def check_an_unknown_variant_value_lists_the_valid_ones(module, key):
  with pytest.raises(ValueError) as error:
    get_config(module, f"{key}=no_such_value")
  message = str(error.value)
  assert "no_such_value" in message
  for valid in VARIANTS[module][key]:
    assert valid in message


# ---- Smoke runs ---------------------------------------------------------------------------------------------------


def _smoke_runs():
  """Each distinct (model, input shape) among all variants once, as the smoke version of the first variant that has
  it, config files' defaults first (the UCI networks once per depth), and the long-tail default, the one config whose
  training set and loss depend on class counts. Runs on inputs larger than 28x28 take more than 20 s: slow."""
  runs, seen = [], set()
  for module, arg in dict.fromkeys([("hem.long_tail", "")] + [(module, "") for module in VARIANTS] + ALL_VARIANTS):
    config = get_config(module, arg)
    shape, _ = model_input(config)
    key = (config.model.name, config.model.get("depth"), shape if len(shape) == 3 else "features")
    if key not in seen:
      seen.add(key)
      slow = len(shape) == 3 and shape[0] > 28
      runs.append(pytest.param(module, arg, marks=[pytest.mark.slow] if slow else [], id=f"{module}:{arg}"))
  return runs


SMOKE_RUNS = _smoke_runs()


def check_smoke_version_trains_end_to_end(module, arg, tmp_path):
  config = get_config(module, ",".join(filter(None, [arg, "smoke"])))
  try:
    metrics = loop.train_and_evaluate(config, str(tmp_path / "run"))
  finally:
    shutil.rmtree(tmp_path / "run", ignore_errors=True)
  assert set(metrics) >= {"eval/loss", "eval/accuracy"}
  assert all(math.isfinite(v) for v in metrics.values()), metrics
