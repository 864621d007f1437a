"""el_jax.models' registry (`create`, `names`, `count_params`): its errors, seeds, parameter counting, and that every
registered image model is exercised by a forward-and-backward test of tests/models (executed, or traced for the
largest: the `TRACED` cases)."""

import importlib
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from el_jax import models
from tests.models.checks import abstract

# The models added after the first set (ShuffleNet V2, ResNeXt-50/101, Inception v3, Swin-T): their training steps
# run on large inputs, as the `LARGE` cases of their test files.
NEW_MODELS = {"shufflenet_v2", "resnext50_32x4d", "resnext101_32x8d", "inception_v3", "swin_t"}


def _cases(kind):
  """The forward-and-backward cases `kind` ("FAST", "SLOW" or "LARGE", see checks.py) of every test file here."""
  cases = []
  for path in sorted(pathlib.Path(__file__).parent.glob("test_*.py")):
    cases += getattr(importlib.import_module(f"tests.models.{path.stem}"), kind, [])
  return cases


def test_other_counts():
  # HEM A.1.3 LeNet by hand: conv 1*16*25+16, conv 16*16*25+16, dense 256*50+50, dense 50*10+10.
  # (HEM Table 2 says 20,194; see models/lenet.py.)
  assert models.count_params(abstract("lenet", 10, (28, 28, 1))) == 416 + 6416 + 12850 + 510
  assert models.count_params(abstract("mlp", 10, (28, 28, 1), depth=0)) == 784 * 10 + 10  # linear classifier
  assert models.count_params(abstract("mlp", 3, (4,), depth=1, width=4)) == 4 * 4 + 4 + 4 * 3 + 3  # UCI (D,) input
  # Xie et al. (2017) Table 7: ResNeXt-29 8x64d has 34.4M parameters.
  assert round(models.count_params(abstract("resnext29", 10, (32, 32, 3))) / 1e6, 1) == 34.4
  # Liu et al. (2016) MNIST CNN: 10 3x3 conv(64)+BN+PReLU units, FC 576->256 + PReLU, dense 256->10.
  convs = (9 * 1 * 64 + 2 * 64 + 1) + 9 * (9 * 64 * 64 + 2 * 64 + 1)
  assert models.count_params(abstract("lsoftmax_cnn", 10, (28, 28, 1))) == convs + 576 * 256 + 256 + 1 + 2570
  # torchattacks' MNIST CNN: conv 1*16*25+16, conv 16*32*25+32, conv 32*64*25+64, dense 576*100+100, dense 100*10+10.
  assert models.count_params(abstract("torchattacks_cnn", 10, (28, 28, 1))) == 416 + 12832 + 51264 + 57700 + 1010


def test_batch_statistics_are_not_parameters():
  model = abstract("resnet18", 10, (32, 32, 3))
  stats = jax.tree.leaves(nnx.state(model, nnx.BatchStat))
  # 20 batch norms (stem, 16 in blocks, 3 shortcuts) over 64 + 4*64 + 5*128 + 5*256 + 5*512 = 4,800 channels hold a
  # running mean and variance each; PyTorch does not count them, and neither does count_params.
  assert len(stats) == 2 * 20 and sum(int(np.prod(s.shape)) for s in stats) == 2 * 4800
  everything = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(nnx.state(model)))
  assert models.count_params(model) == 11_173_962 == everything - 2 * 4800


def test_every_registered_model_is_exercised():
  image_models = set(models.names()) - set(models._NAMED_INPUT_MODELS)  # token and graph models: tested with their data
  exercised = {name for name, _ in _cases("FAST") + _cases("SLOW") + _cases("TRACED")}
  assert exercised | NEW_MODELS | {"wrn"} == image_models


def test_new_models_are_registered_exported_and_exercised():
  assert NEW_MODELS <= set(models.names())
  assert {name for name, _, _ in _cases("LARGE")} == NEW_MODELS
  for cls in ("ShuffleNetV2", "InceptionV3", "SwinTransformer"):
    assert cls in models.__all__ and hasattr(models, cls)


def test_seed_controls_initialisation():
  def first_kernel(seed):
    return models.create("lenet", num_classes=10, input_shape=(28, 28, 1), seed=seed).conv1.kernel[...]

  assert jnp.array_equal(first_kernel(0), first_kernel(0))
  assert not jnp.array_equal(first_kernel(0), first_kernel(1))


def test_bad_names_arguments_and_shapes_are_clear_errors():
  with pytest.raises(ValueError, match="Valid names: .*convnet, densenet201, efficientnet_b0"):
    models.create("resnet_typo", num_classes=10, input_shape=(28, 28, 1))
  with pytest.raises(ValueError, match="widht"):
    models.create("mlp", num_classes=10, input_shape=(28, 28, 1), widht=3)
  with pytest.raises(ValueError, match=r"needs image inputs of shape \(H, W, C\).*use 'mlp'"):
    models.create("resnet18", num_classes=10, input_shape=(13,))
  with pytest.raises(ValueError, match="depth must be 6n \\+ 2"):
    models.create("resnet32", num_classes=10, input_shape=(32, 32, 3), depth=33)
  with pytest.raises(ValueError, match="depth must be 6n \\+ 4"):
    models.create("wrn", num_classes=10, input_shape=(32, 32, 3), depth=23)
  with pytest.raises(ValueError, match="not divisible into 16x16 patches"):
    models.create("vit_ti16", num_classes=10, input_shape=(28, 28, 3))
  with pytest.raises(ValueError, match="at least 2"):
    models.create("mlp", num_classes=1, input_shape=(4,))
