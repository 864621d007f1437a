"""configs/hem/segmentation.py (HEM §5.4, A.4): every variant builds with the settings of A.4.4 and a loss that is a
valid per-pixel objective, the FPN models it names, its stand-ins have the real shapes and classes, bad variants are
named, and the smoke version trains (once the FPN models are registered: until then the smoke test and the model
check are skipped)."""

import itertools
import math

import jax
import numpy as np
import pytest
from flax import nnx

from el_jax import data, losses, models
from el_jax.configs.hem import segmentation as segmentation_config
from el_jax.data import segmentation
from el_jax.train import setup
from tests.configs.paper_configs import (
  HEM_LOSSES,
  SGD,
  check_an_unknown_variant_value_lists_the_valid_ones,
  check_hyper_parameters,
  check_smoke_version_trains_end_to_end,
  get_config,
  lr_at,
  resolve,
)

MODULE = "hem.segmentation"
DATA = ("camvid", "cityscapes", "sbd")
ENCODERS = ("resnet34", "efficientnet_b4", "densenet201", "resnext50_32x4d")
VARIANTS = {"data": DATA, "encoder": ENCODERS, "loss": HEM_LOSSES}

# A.4.4: (data, learning rate, batch size, epochs, evaluated split).
PAPER = [
  ("camvid", 0.1, 12, 100, "test"),
  ("cityscapes", 0.1, 4, 50, "val"),  # "For the larger data-sets we reduced the batch size to four"
  ("sbd", 0.05, 4, 50, "val"),  # "A learning rate of 0.05 ... was used in all experiments with ... SBD"
]


# ---- Every variant builds; its loss is a valid per-pixel objective --------------------------------------------------


@pytest.mark.parametrize("data_name, encoder, loss", list(itertools.product(DATA, ENCODERS, HEM_LOSSES)))
def test_every_variant_builds(data_name, encoder, loss):
  config = get_config(MODULE, f"data={data_name},encoder={encoder},loss={loss}")
  smoke = get_config(MODULE, f"data={data_name},encoder={encoder},loss={loss},smoke")
  assert config.model.name == f"fpn_{encoder}" and config.dataset.name == f"segmentation:{data_name}"
  assert smoke.model == config.model and smoke.loss == config.loss and smoke.optimizer == config.optimizer
  assert config.dataset.augmentation == "segmentation" and not config.dataset.normalize


@pytest.mark.parametrize("loss", HEM_LOSSES)
def test_every_loss_is_a_per_pixel_objective_with_pixel_counts(loss):
  config = get_config(MODULE, f"loss={loss}")
  counts = np.array([400, 300, 30, 900, 250, 120, 10, 60, 150, 40, 20]) * 1000  # CamVid-like pixels per class
  objective = losses.get_objective(config.loss.name, **resolve(config, counts))
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(2, 4, 4, 11)).astype(np.float32)
  labels, where = rng.integers(0, 11, (2, 4, 4)), rng.random((2, 4, 4)) > 0.2
  value = jax.eval_shape(lambda: objective(logits, labels, where=where, progress=0.5))  # traced: shapes and names
  assert (value.shape, value.dtype) == ((), np.float32)  # (tests/losses/test_per_pixel.py checks the values)


# ---- The data: the paper's sets, their stand-ins, crops and evaluated splits ---------------------------------------


@pytest.mark.parametrize("data_name, lr, batch_size, num_epochs, split", PAPER)
def test_stand_in_has_the_real_shape_classes_and_split(data_name, lr, batch_size, num_epochs, split):
  config, smoke = get_config(MODULE, f"data={data_name}"), get_config(MODULE, f"data={data_name},smoke")
  assert config.dataset.eval_split == smoke.dataset.eval_split == split
  assert smoke.dataset.name == f"synthetic:segmentation:{data_name}"
  assert smoke.dataset.train_subset == smoke.batch_size and smoke.num_epochs == 1  # one step
  assert tuple(config.dataset.crop_size) == segmentation.CROP_SIZES[data_name]
  assert tuple(smoke.dataset.eval_size) == segmentation.EVAL_SIZES[data_name] and smoke.dataset.eval_subset == 2
  # the smoke run's training images hold every class: LA's prior and HEM+'s margins need s_k > 0
  train = data.load(smoke.dataset.name, "train").take(smoke.dataset.train_subset)
  assert (data.class_counts(train) > 0).all()
  assert tuple(config.dataset.eval_size) == segmentation.EVAL_SIZES[data_name]
  sizes = (*config.dataset.crop_size, *config.dataset.eval_size, *smoke.dataset.crop_size)
  assert all(size % 32 == 0 for size in sizes)  # the FPN models' stride
  source = data.load(smoke.dataset.name, split)
  assert tuple(source.input_shape) == segmentation.INPUT_SHAPES[data_name]
  assert (
    source.num_classes == segmentation.NUM_CLASSES[data_name] == {"camvid": 11, "cityscapes": 19, "sbd": 21}[data_name]
  )
  assert len(source) == {"camvid": 233, "cityscapes": 500, "sbd": 2857}[data_name]


def test_the_real_sets_need_their_release_folder():
  inputs = get_config(MODULE, "data=camvid").dataset
  with pytest.raises(ValueError, match="data_dir"):
    setup.Inputs.from_config(inputs)


# ---- Hyper-parameters of A.4.4 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("data_name, lr, batch_size, num_epochs, split", PAPER)
def test_hyper_parameters_match_the_paper(data_name, lr, batch_size, num_epochs, split):
  for encoder in ENCODERS:
    check_hyper_parameters(
      MODULE,
      f"data={data_name},encoder={encoder}",
      f"fpn_{encoder}",
      batch_size,
      num_epochs,
      {**SGD, "learning_rate": lr, "schedule": "constant", "weight_decay": 0.0},
    )
  config = get_config(MODULE, f"data={data_name}")
  # "a fixed learning rate": the same at the start, the middle and the last step
  assert [lr_at(config, e) for e in (0, num_epochs / 2, num_epochs - 0.01)] == pytest.approx([lr] * 3)
  assert config.eval_batch_size == batch_size


def test_loss_menu_is_the_papers_with_hem_plus_by_default():
  assert get_config(MODULE).loss.to_dict() == get_config(MODULE, "loss=hem_plus").loss.to_dict()
  for loss in HEM_LOSSES:
    expected = get_config("hem.long_tail", f"loss={loss}").loss.to_dict()  # the same menu (configs/losses.py)
    assert get_config(MODULE, f"loss={loss}").loss.to_dict() == expected


def test_hem_margins_count_pixels():
  pixels = np.full(11, 1_000_000)
  assert resolve(get_config(MODULE, "loss=hem"), pixels)["margin"] == pytest.approx(math.sqrt(2000 / 11_000_000))
  margins = resolve(get_config(MODULE, "loss=hem_plus"), pixels)["margin"]
  assert margins == pytest.approx([math.sqrt(2000 / (11 * 1_000_000))] * 11)


@pytest.mark.parametrize("key", list(VARIANTS))
def test_an_unknown_variant_value_lists_the_valid_ones(key, monkeypatch):
  from tests.configs import paper_configs

  monkeypatch.setitem(paper_configs.VARIANTS, MODULE, VARIANTS)
  check_an_unknown_variant_value_lists_the_valid_ones(MODULE, key)


def test_the_variant_table_matches_the_config_file():
  assert segmentation_config.ENCODERS == ENCODERS and tuple(segmentation_config.SETTINGS) == DATA


# ---- The FPN models (once registered) ------------------------------------------------------------------------------


@pytest.mark.parametrize("encoder", ENCODERS)
def test_the_named_fpn_model_gives_per_pixel_logits(encoder):
  config = get_config(MODULE, f"encoder={encoder}")
  h, w = segmentation.CROP_SIZES["camvid"]
  model = nnx.eval_shape(lambda: models.create(config.model.name, num_classes=11, input_shape=(h, w, 3), seed=0))
  logits = nnx.eval_shape(lambda m: m(np.zeros((1, h, w, 3), np.float32)), model)
  assert logits.shape == (1, h, w, 11)


@pytest.mark.slow
def test_smoke_version_trains_end_to_end(tmp_path):
  check_smoke_version_trains_end_to_end(MODULE, "data=camvid,encoder=resnet34", tmp_path)
