"""The run setup: training and evaluation sets from a config's dataset section (subsets and long tails of any source),
the model record, the objective."""

import json
import math

import numpy as np
import pytest

from el_jax import data, losses
from el_jax.data import long_tail
from el_jax.train import setup
from tests.losses import reference


def test_long_tail_after_the_subset():
  inputs = setup.Inputs.from_config(
    {"name": "uci_digits", "train_split": "train", "eval_split": "test", "train_subset": 600, "long_tail_ratio": 10.0}
  )
  train, evaluation = inputs.train, inputs.eval
  base = data.load("uci_digits", "train").take(600)
  base_counts = np.bincount(base.labels, minlength=10)
  f = 10.0 ** (-1 / 9)
  expected = [math.floor(s * f**j) for j, s in enumerate(base_counts)]
  assert data.class_counts(train).tolist() == expected
  assert len(evaluation) == len(data.load("uci_digits", "test"))


def test_long_tail_of_a_synthetic_source_is_a_subset_view():
  source = data.load("synthetic:cifar10", "train").take(400)
  cut = long_tail.long_tailed(source, long_tail.factor_for_ratio(10, 10))
  assert isinstance(cut, data.Subset)
  labels = np.array([source[i]["label"] for i in range(len(source))])
  counts = np.bincount(labels, minlength=10)
  f = 10.0 ** (-1 / 9)
  assert data.class_counts(cut).tolist() == [math.floor(s * f**j) for j, s in enumerate(counts)]
  first = int(cut.indices[0])
  np.testing.assert_array_equal(cut[0]["image"], source[first]["image"])
  assert cut.take(3).indices.tolist() == cut.indices[:3].tolist()


def test_subset_rejects_out_of_range_indices():
  source = data.load("synthetic:cifar10", "test").take(10)
  with pytest.raises(ValueError, match="subset indices"):
    data.Subset(source, np.array([0, 10]))
  with pytest.raises(IndexError):
    data.Subset(source, np.array([1, 2]))[2]


def test_options_that_are_none_are_not_passed():
  unset = setup.Inputs.from_config({"name": "uci_iris", "options": {"data_dir": None}}).train
  default = data.load("uci_iris", "train")
  np.testing.assert_array_equal(unset.images, default.images)
  reseeded = setup.Inputs.from_config({"name": "uci_iris", "options": {"data_dir": None, "seed": 3}}).train
  np.testing.assert_array_equal(reseeded.images, data.load("uci_iris", "train", seed=3).images)
  assert not np.array_equal(reseeded.images, default.images)


def test_inputs_of_images_take_the_recipe_size_and_the_training_pixel_statistics():
  inputs = setup.Inputs.from_config(
    {"name": "synthetic:imagenet", "eval_split": "validation", "augmentation": "imagenet", "image_size": 64}
  )
  assert inputs.input_shape == [64, 64, 3] and inputs.has_images and inputs.num_classes == 1000
  assert inputs.normalization is None  # stand-ins are not standardised
  assert [type(t).__name__ for t in inputs.train_transforms] == ["RandomResizedCrop", "RandomHorizontalFlip"]
  assert [type(t).__name__ for t in inputs.eval_transforms] == ["ResizeCenterCrop"]
  digits = setup.Inputs.from_config({"name": "mnist_digits", "normalize": True})
  assert digits.normalization == data.normalization("mnist_digits")


def test_inputs_without_images_refuse_image_options():
  with pytest.raises(ValueError, match="has no images"):
    setup.Inputs.from_config({"name": "synthetic:graphs:proteins", "augmentation": "cifar"})
  graphs = setup.Inputs.from_config({"name": "synthetic:graphs:proteins"})
  assert isinstance(graphs.input_shape, dict) and not graphs.has_images


def test_class_counts_and_the_hem_margin_come_from_the_training_set():
  inputs = setup.Inputs.from_config({"name": "uci_iris", "train_subset": 60})
  counts = np.bincount(data.load("uci_iris", "train").take(60).labels, minlength=3)
  np.testing.assert_array_equal(inputs.class_counts, counts)
  hparams = setup.loss_hparams({"name": "hem_loss", "margin": "hem"}, inputs)
  assert hparams == {"margin": math.sqrt(2000 / 60)}  # HEM §4.2: sqrt(M / N), M = 2000


def test_class_balanced_weights_warn_of_classes_without_training_examples(caplog):
  inputs = setup.Inputs.from_config({"name": "uci_iris", "train_subset": 3})
  np.testing.assert_array_equal(np.bincount(data.load("uci_iris", "train").take(3).labels, minlength=3), [3, 0, 0])
  hparams = setup.loss_hparams({"name": "cross_entropy", "class_weights": "effective_number"}, inputs)
  assert hparams["class_weights"] == [1.0, 0.0, 0.0]  # scaled to sum to the number of classes present, 1
  assert "2 of the 3 classes have no training example" in caplog.text


def test_alternate_objective_is_a_loss_section_of_its_own_on_the_logits():
  inputs = setup.Inputs.from_config({"name": "uci_iris"})
  assert setup.alternate_objective({"name": "cross_entropy"}, inputs) is None
  loss = {"name": "cross_entropy", "alternate": {"name": "complement_entropy_loss", "normalization": "classes"}}
  objective = setup.alternate_objective(loss, inputs)
  z, y = np.array([[2.0, 0.5, -1.0, 0.0]]), np.array([0])
  expected = reference.complement_entropy_loss(z, y, normalizer=4).mean()
  np.testing.assert_allclose(objective(z, y, progress=0.0), expected, rtol=1e-6)
  assert setup.loss_hparams(loss, inputs) == {}  # the first update's loss has no `alternate` hyper-parameter
  with pytest.raises(ValueError, match="must be a loss section of its own"):
    setup.alternate_objective({"name": "cross_entropy", "alternate": {"normalization": "classes"}}, inputs)
  with pytest.raises(ValueError, match="must be a loss section of its own"):
    setup.alternate_objective({"name": "cross_entropy", "alternate": {**loss["alternate"], "fused_output": 1}}, inputs)
  with pytest.raises(ValueError, match="do not materialise: unset them"):
    setup.alternate_objective({**loss, "fused_output": True}, inputs)


def test_model_spec_round_trips_through_json_and_builds_the_model():
  inputs = setup.Inputs.from_config({"name": "uci_iris"})
  spec = setup.ModelSpec.from_config({"name": "mlp", "depth": 1, "width": 7}, inputs)
  assert spec.kwargs == {"depth": 1, "width": 7} and spec.num_classes == 3 and spec.input_shape == [4]
  again = setup.ModelSpec.from_json(json.loads(json.dumps(spec.to_json())))
  assert again == spec
  from el_jax import models

  assert models.count_params(again.create()) == (4 * 7 + 7) + (7 * 3 + 3)


def _settings(**changes):
  from el_jax.configs import quickstart

  config = quickstart.get_config("smoke")
  for key, value in changes.items():
    section, _, name = key.rpartition(".")
    (config[section] if section else config)[name] = value
  return config


@pytest.mark.parametrize(
  ("key", "value", "message"),
  [
    ("batch_size", 0, r"config\.batch_size=0 is invalid: use an integer >= 1"),
    ("batch_size", -64, r"config\.batch_size=-64 is invalid"),
    ("eval_batch_size", 0, r"config\.eval_batch_size=0 is invalid"),
    ("num_epochs", 0, r"config\.num_epochs=0 is invalid"),
    ("num_epochs", -1, r"config\.num_epochs=-1 is invalid"),
    ("log_every_steps", 0, r"config\.log_every_steps=0 is invalid"),
    ("checkpoint_keep", 0, r"config\.checkpoint_keep=0 is invalid: use None \(all\) or >= 1"),
    ("checkpoint_every_steps", -5, r"config\.checkpoint_every_steps=-5 is invalid"),
    ("compute_dtype", "abc", r"config\.compute_dtype='abc' is invalid: use one of float32, bfloat16"),
    ("optimizer.learning_rate", -1e-3, r"config\.optimizer\.learning_rate=-0\.001 is invalid: use a number >= 0"),
    ("writers", ("tensorboard",), r"config\.writers=\('tensorboard',\) is invalid: include 'jsonl' \(metrics\.jsonl"),
    ("writers", ("jsonl", "csv"), r"'csv' unknown: use a tuple of names among jsonl, tensorboard, wandb"),
    ("adversarial.attack", "pgd", r"config\.adversarial\.eps=None is invalid: use a number > 0"),
  ],
)
def test_settings_outside_their_range_are_named_before_anything_runs(key, value, message):
  with pytest.raises(ValueError, match=message):
    setup.check_settings(_settings(**{key: value}))


def test_valid_settings_pass_and_batch_sizes_must_split_over_the_devices():
  setup.check_settings(_settings(checkpoint_keep=None, compute_dtype="bfloat16"))
  setup.check_settings(_settings(**{"optimizer.learning_rate": 0.0}))  # a frozen model, e.g. to evaluate
  with pytest.raises(ValueError, match=r"config\.eval_batch_size=200 is not divisible by the 3 devices"):
    setup.check_settings(_settings(batch_size=48), num_devices=3)


def test_wandb_settings_are_checked_when_it_writes(monkeypatch):
  from el_jax import _extras

  config = _settings(writers=("jsonl", "wandb"), **{"wandb.mode": "cloud"})
  with pytest.raises(ValueError, match=r"config\.wandb\.mode='cloud' is invalid: use one of offline, online"):
    setup.check_settings(config)
  setup.check_settings(_settings(**{"wandb.mode": "cloud"}))  # not written to: not checked
  monkeypatch.setattr(_extras, "_installed", lambda module: module != "wandb")
  with pytest.raises(ImportError, match=r"needs the 'wandb' extra"):
    setup.check_settings(_settings(writers=("jsonl", "wandb")))


class _WithLinearOutputs:
  def linear_outputs(self, *inputs):
    raise AssertionError("not called by the check")


@pytest.mark.parametrize(
  "loss,model,message",
  [
    ({"name": "dice_loss", "fused_output": True}, _WithLinearOutputs(), r"loss 'dice_loss' is not a per-example loss"),
    ({"name": "cross_entropy", "fused_output": True}, object(), r"model object has no linear_outputs method"),
    ({"name": "cross_entropy", "fused_output": "yes"}, _WithLinearOutputs(), r"fused_output='yes' is invalid"),
  ],
)
def test_fused_output_is_refused_where_it_cannot_run(loss, model, message):
  with pytest.raises(ValueError, match=message):
    setup.fused_output(loss, model)


def test_fused_output_is_a_trainer_setting_not_a_loss_hyper_parameter():
  inputs = setup.Inputs.from_config({"name": "uci_iris", "train_subset": 60})
  loss = {"name": "encouraging_loss", "log_end": 0.5, "fused_output": True}
  assert setup.fused_output(loss, _WithLinearOutputs()) is True
  assert setup.fused_output({"name": "cross_entropy"}, object()) is False  # the default
  assert setup.loss_hparams(loss, inputs) == {"log_end": 0.5}
  setup.objective(loss, inputs)  # get_objective would refuse an unknown hyper-parameter


def test_fused_blocks_reach_the_fused_loss_and_need_the_fused_output(monkeypatch):
  inputs = setup.Inputs.from_config({"name": "uci_iris", "train_subset": 60})
  seen = {}

  def linear_loss(hidden, weight, labels, **kwargs):
    seen.update(kwargs)
    return hidden[..., 0] * 0.0

  monkeypatch.setattr(losses._objective, "linear_loss", linear_loss)
  loss = {"name": "cross_entropy", "fused_output": True, "fused_blocks": (512, 4096)}
  outputs = losses.LinearOutputs(np.ones((2, 3), np.float32), np.ones((3, 4), np.float32))
  setup.objective(loss, inputs)(outputs, np.array([0, 1]))
  assert (seen["token_block"], seen["vocab_block"]) == (512, 4096)
  with pytest.raises(ValueError, match="fused_blocks=.* but config.loss.fused_output is not True"):
    setup.objective({"name": "cross_entropy", "fused_blocks": (512, 4096)}, inputs)
  with pytest.raises(ValueError, match=r"linear_blocks must be \(token_block, vocab_block\), two integers >= 1"):
    setup.objective({"name": "cross_entropy", "fused_output": True, "fused_blocks": (512, 0)}, inputs)


def test_large_margin_hands_the_linear_outputs_to_its_objective_and_is_checked():
  inputs = setup.Inputs.from_config({"name": "uci_iris", "train_subset": 60})
  loss = {"name": "cross_entropy", "large_margin": dict(losses.MNIST_LARGE_MARGIN)}
  assert setup.fused_output(loss, _WithLinearOutputs()) is True
  with pytest.raises(ValueError, match="large_margin needs the model's last hidden states"):
    setup.fused_output(loss, object())
  with pytest.raises(ValueError, match="cannot be fused with the output layer"):
    setup.fused_output({**loss, "fused_output": True}, _WithLinearOutputs())
  # Margin 1 is plain softmax: the objective on linear outputs is cross-entropy of hidden @ weight.
  objective = setup.objective({**loss, "large_margin": {**loss["large_margin"], "margin": 1}}, inputs, 100)
  hidden, weight = np.eye(2, 3, dtype=np.float32), np.arange(12, dtype=np.float32).reshape(3, 4)
  labels = np.array([0, 3])
  logits = hidden @ weight
  expected = np.mean(np.log(np.sum(np.exp(logits), -1)) - logits[[0, 1], labels])
  np.testing.assert_allclose(objective(losses.LinearOutputs(hidden, weight), labels), expected, rtol=1e-6)
  with pytest.raises(ValueError, match=r"needs exactly the keys .*unknown: \['m'\], missing: \['margin'\]"):
    bad = {k: v for k, v in loss["large_margin"].items() if k != "margin"} | {"m": 4}
    setup.objective({**loss, "large_margin": bad}, inputs, 100)
