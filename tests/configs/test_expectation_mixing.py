"""configs/expectation_mixing/: every variant builds with the hyper-parameters of EXPERIMENTS.md's tables for the
paper on mixing cross-entropy and the expectation loss, the models it names build, its loss menus, bad variants are
named, and the smoke versions train; the text configs (reviews, GLUE): their variants, and their models built for
the stand-ins' shapes."""

import importlib

import jax
import numpy as np
import pytest
from flax import nnx

from el_jax import data, models
from el_jax.configs import losses
from el_jax.train import setup
from tests.configs.paper_configs import (
  ALL_VARIANTS,
  DATASET_VARIANTS,
  DISTINCT_MODELS,
  MIXING_CIFAR_MODELS,
  MIXING_LOSSES,
  SGD,
  SMOKE_RUNS,
  UNKNOWN_VALUES,
  check_an_unknown_variant_value_lists_the_valid_ones,
  check_hyper_parameters,
  check_named_model_builds,
  check_smoke_stand_in_has_the_real_shape_and_classes,
  check_smoke_version_trains_end_to_end,
  check_variant_builds_with_a_valid_objective,
  get_config,
  ids,
  of_paper,
)

PAPER = "expectation_mixing"


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


# ---- Hyper-parameters of EXPERIMENTS.md -----------------------------------------------------------------------------

# (module, arg) -> (model, batch, epochs, optimiser settings); optimiser keys not listed must be absent or default.
TABLE = [
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
]


@pytest.mark.parametrize(
  "module, arg, model, batch_size, num_epochs, opt", TABLE, ids=[f"{r[0]}:{r[1]}" for r in TABLE]
)
def test_hyper_parameters_match_the_papers(module, arg, model, batch_size, num_epochs, opt):
  check_hyper_parameters(module, arg, model, batch_size, num_epochs, opt)


# ---- Loss menus -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
  "module, arg, expected",
  [
    ("expectation_mixing.cifar100", "loss=ce", {"name": "cross_entropy"}),
    ("expectation_mixing.cifar100", "loss=f0", {"name": "mixed_ce_expectation", "focus_schedule": "F=0"}),
    ("expectation_mixing.imagenet", "loss=f0_05", {"name": "mixed_ce_expectation", "focus_schedule": "F=0,0.5"}),
    ("expectation_mixing.cinic10", "loss=f0_to_05", {"name": "mixed_ce_expectation", "focus_schedule": "F=0-0.5"}),
    ("expectation_mixing.uci", "loss=expectation", {"name": "expectation_loss"}),
    ("expectation_mixing.uci", "loss=focal", {"name": "focal_loss", "gamma": 2.0, "alpha": 0.25}),
  ],
)
def test_loss_menus_hold_the_papers_settings(module, arg, expected):
  assert get_config(module, arg).loss.to_dict() == expected


def test_uci_hidden_layer_is_as_wide_as_the_input():
  for name in ("digits", "iris", "wine", "breast_cancer"):
    config = get_config("expectation_mixing.uci", f"data={name},model=hidden")
    source = data.load(config.dataset.name, config.dataset.train_split)
    assert (config.model.depth, config.model.width) == (1, source.input_shape[0])
    assert get_config("expectation_mixing.uci", f"data={name},model=linear").model.depth == 0


# ---- Bad variants ---------------------------------------------------------------------------------------------------

UNKNOWN_CASES = of_paper(PAPER, UNKNOWN_VALUES)


@pytest.mark.parametrize("module, key", UNKNOWN_CASES)
def test_an_unknown_variant_value_lists_the_valid_ones(module, key):
  check_an_unknown_variant_value_lists_the_valid_ones(module, key)


# ---- Smoke runs -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("module, arg", of_paper(PAPER, SMOKE_RUNS))
def test_smoke_version_trains_end_to_end(module, arg, tmp_path):
  check_smoke_version_trains_end_to_end(module, arg, tmp_path)


# ---- The text configs: configs/expectation_mixing/reviews.py (LSTMs) and glue.py (BERT) -----------------------------

# Their variants, and their models built for the stand-ins' shapes; their training runs are in
# tests/e2e/test_text_classification.py.
GLUE_TASKS = ("cola", "sst2", "mrpc", "qqp", "mnli", "qnli", "rte")
# arch -> (LSTM layers, H_d, E_d): the paper's five configurations.
ARCHITECTURES = {"1": (1, 50, 50), "2": (1, 75, 75), "3": (1, 100, 100), "4": (2, 50, 50), "5": (2, 100, 100)}


def _text_config(module: str, arg: str = ""):
  return importlib.import_module(f"el_jax.configs.expectation_mixing.{module}").get_config(arg)


@pytest.mark.parametrize("arch", ARCHITECTURES)
@pytest.mark.parametrize("loss", MIXING_LOSSES)
def test_reviews_variants(arch, loss):
  config, smoke = (
    _text_config("reviews", f"arch={arch},loss={loss}"),
    _text_config("reviews", f"arch={arch},loss={loss},smoke"),
  )
  layers, hidden, embed = ARCHITECTURES[arch]
  model = config.model
  assert (model.name, model.num_layers, model.hidden_dim, model.embed_dim) == ("lstm", layers, hidden, embed)
  assert model.vocab_size == config.dataset.options.vocab_size
  assert config.loss.to_dict() == losses.MIXING[loss]
  assert config.dataset.name == "text:reviews" and not config.dataset.normalize
  assert smoke.model == config.model and smoke.loss == config.loss and smoke.optimizer == config.optimizer
  assert smoke.dataset.name == "synthetic:text:reviews"


def test_reviews_vocabulary_size_is_one_setting_for_data_and_model():
  config = _text_config("reviews")
  config.dataset.options.vocab_size = 5000
  assert config.model.vocab_size == 5000
  config.model.vocab_size = 7000
  assert config.to_dict()["dataset"]["options"]["vocab_size"] == 7000


@pytest.mark.parametrize("task", GLUE_TASKS)
@pytest.mark.parametrize("loss", MIXING_LOSSES)
def test_glue_variants_have_the_papers_settings(task, loss):
  config, smoke = (
    _text_config("glue", f"task={task},loss={loss}"),
    _text_config("glue", f"task={task},loss={loss},smoke"),
  )
  assert config.dataset.name == f"text:glue/{task}" and config.dataset.options.max_length == 64
  assert config.dataset.eval_split == ("validation_matched" if task == "mnli" else "validation")
  assert (config.optimizer.learning_rate, config.num_epochs) == (2e-5, 6)
  assert config.model.name == "bert_base" and config.model.checkpoint is None
  assert config.loss.to_dict() == losses.MIXING[loss]
  assert smoke.model == config.model and smoke.loss == config.loss and smoke.optimizer == config.optimizer
  assert smoke.dataset.name == f"synthetic:text:glue/{task}"


@pytest.mark.parametrize("module, key", [("reviews", "arch=6"), ("glue", "task=wnli"), ("glue", "loss=focal")])
def test_unknown_variants_list_the_valid_ones(module, key):
  with pytest.raises(ValueError, match="Valid"):
    _text_config(module, key)


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
  config = _text_config("reviews", f"arch={arch},smoke")
  source = _stand_in(config)
  layers, hidden, embed = ARCHITECTURES[arch]
  model = _build(config, source, abstract=True)
  count = sum(int(np.prod(p.shape)) for p in jax.tree.leaves(nnx.state(model, nnx.Param)))
  lstm_params = sum(4 * hidden * (n_in + hidden) + 4 * hidden for n_in in [embed] + [hidden] * (layers - 1))
  assert count == 10_000 * embed + lstm_params + hidden * 5 + 5


def test_the_two_layer_lstm_gives_logits_for_stand_in_rows():
  config = _text_config("reviews", "arch=5,smoke")
  source = _stand_in(config)
  tokens = np.stack([source[i]["tokens"] for i in range(3)])
  assert _build(config, source)(tokens).shape == (3, 5)


@pytest.mark.parametrize("task, classes", [("rte", 2), ("mnli", 3)])
def test_bert_base_builds_for_the_stand_in(task, classes):
  config = _text_config("glue", f"task={task},smoke")
  source = _stand_in(config)
  assert source.num_classes == classes and source.input_shape == {"tokens": (64,), "segments": (64,)}
  model = _build(config, source, abstract=True)
  count = sum(int(np.prod(p.shape)) for p in jax.tree.leaves(nnx.state(model, nnx.Param)))
  assert count == 109_483_778 + (classes - 2) * 769  # one more 768-wide row and bias per class


def test_a_missing_checkpoint_is_named_when_the_model_is_built(tmp_path):
  config = _text_config("glue", "smoke")
  config.model.checkpoint = str(tmp_path / "bert_base_uncased.npz")
  with pytest.raises(FileNotFoundError, match="config.model.checkpoint"):
    _build(config, _stand_in(config), abstract=True)
