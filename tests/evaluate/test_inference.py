"""Dataset-level inference: every example once (padded last batch), normalisation inside the function."""

import numpy as np

from el_jax import models
from el_jax.data.arrays import ArrayDataset
from el_jax.evaluate import inference

MEAN, STD = (0.3,), (0.2,)


def _setup(n=23):
  model = models.create("mlp", num_classes=4, input_shape=(5, 5, 1), depth=1, width=8)
  images = np.random.default_rng(0).integers(0, 256, (n, 5, 5, 1)).astype(np.uint8)
  return model, images


def test_logits_cover_every_example_once_with_the_normalisation_applied():
  model, images = _setup()
  classifier = inference.Classifier.from_model(model, (MEAN, STD))
  out = inference.logits(classifier, images, batch_size=10)  # 10 + 10 + 3 (padded to 10)
  expected = model((images / 255.0 - MEAN[0]) / STD[0])
  assert out.shape == (23, 4)
  np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_adversarial_logits_have_one_row_per_example_and_budget():
  model, images = _setup()
  data = ArrayDataset(images, np.arange(23) % 4, 4)
  classifier = inference.Classifier.from_model(model, None)
  out = inference.adversarial_logits(classifier, data, "pgd_linf", [0.0, 0.1], batch_size=10, steps=2)
  assert out.shape == (2, 23, 4)
  np.testing.assert_allclose(out[0], inference.logits(classifier, images, batch_size=10), rtol=1e-5, atol=1e-5)
