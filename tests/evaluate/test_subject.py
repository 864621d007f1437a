"""What evaluators are given: the test examples (`test_subset` of the evaluation set), the model's predictions on
them once, their uint8 pixels through the evaluation transforms, and `Skip` with the reason for other inputs."""

import dataclasses

import grain
import numpy as np
import pytest

from el_jax import models
from el_jax.data.arrays import ArrayDataset
from el_jax.data.subset import Subset
from el_jax.evaluate.subject import Skip, Subject
from el_jax.train import setup

K = 3


@pytest.fixture(scope="module")
def problem():
  rng = np.random.default_rng(0)
  images = rng.integers(0, 64, (30, 5, 5, 1), dtype=np.uint8)
  labels = (np.arange(30) % K).astype(np.int32)
  data = ArrayDataset(images, labels, K, name="fake/test")
  inputs = setup.Inputs("fake", {}, data, data, None, (), (), [5, 5, 1], K)
  model = models.create("mlp", num_classes=K, input_shape=(5, 5, 1), depth=1, width=8)
  model.eval()
  return model, images, labels, inputs


def test_predictions_are_the_models_on_the_first_test_subset_examples(problem):
  model, images, labels, inputs = problem
  subject = Subject(model, inputs, {}, test_subset=12, batch_size=5)
  assert len(subject.test) == 12 and subject.predictions is subject.predictions  # computed once
  np.testing.assert_allclose(subject.predictions.logits, model(images[:12] / 255.0), rtol=1e-5, atol=1e-5)
  np.testing.assert_array_equal(subject.predictions.labels, labels[:12])
  np.testing.assert_allclose(subject.logits(images[3:5]), model(images[3:5] / 255.0), rtol=1e-5, atol=1e-5)


def test_images_of_a_source_without_arrays_are_its_records_pixels(problem):
  model, images, labels, inputs = problem
  subject = Subject(model, dataclasses.replace(inputs, eval=Subset(inputs.eval, np.arange(30))), {}, test_subset=25)
  np.testing.assert_array_equal(subject.images, images[:25])
  np.testing.assert_array_equal(subject.predictions.labels, labels[:25])


class _Plus(grain.transforms.Map):
  def map(self, record):
    return record | {"image": (record["image"] + 1).astype(np.uint8)}


class _Twice(grain.transforms.Map):
  def map(self, record):
    return record | {"image": (record["image"] * 2).astype(np.uint8)}


def test_images_go_through_every_evaluation_transform_in_order(problem):
  model, images, _, inputs = problem
  subject = Subject(model, dataclasses.replace(inputs, eval_transforms=(_Plus(), _Twice())), {}, test_subset=10)
  np.testing.assert_array_equal(subject.images, (images[:10] + 1) * 2)


def test_other_inputs_skip_image_sections_saying_what_they_have(problem):
  model, _, _, inputs = problem
  graphs = dataclasses.replace(inputs, name="graphs:nci1", input_shape={"nodes": [4, 2], "adjacency": [4, 4]})
  with pytest.raises(Skip, match="^needs image inputs; graphs:nci1 has nodes, adjacency$"):
    Subject(model, graphs, {}).require_images()
  with pytest.raises(Skip, match="^needs image inputs; uci_iris has feature vectors of shape \\[4\\]$"):
    Subject(model, dataclasses.replace(inputs, name="uci_iris", input_shape=[4]), {}).images  # noqa: B018
  Subject(model, inputs, {}).require_images()  # images: no skip
  Subject(model, inputs, {}).require_example_labels()
