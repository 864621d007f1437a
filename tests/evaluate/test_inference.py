"""Inference over any source: every example once (padded last batch), normalisation inside the function, named
inputs passed by name, per-token labels flattened over their mask, attacks in pixel space."""

import jax
import numpy as np
import optax
import pytest
from flax import nnx

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


def test_predict_returns_the_labels_of_every_example():
  model, images = _setup()
  labels = np.arange(23) % 4
  out = inference.predict(inference.Classifier.from_model(model, None), ArrayDataset(images, labels, 4), batch_size=7)
  assert (out.num_examples, out.per_token) == (23, False)
  np.testing.assert_array_equal(out.labels, labels)
  np.testing.assert_allclose(out.logits, model(images / 255.0), rtol=1e-5, atol=1e-5)


class _Records:
  """A source of named-input records (no arrays to slice), as text and translation sources are."""

  def __init__(self, records, num_classes):
    self.records, self.num_classes, self.name = records, num_classes, "records"

  def __len__(self):
    return len(self.records)

  def __getitem__(self, index):
    return self.records[index]

  @property
  def input_shape(self):
    return {k: np.shape(v) for k, v in self.records[0].items() if k not in ("label", "label_mask")}

  def take(self, count):
    return self if count is None else _Records(self.records[:count], self.num_classes)


def test_named_inputs_reach_the_model_by_name():
  rng = np.random.default_rng(1)
  tokens = rng.integers(2, 50, (9, 6)).astype(np.int32)
  tokens[::2, 4:] = 0  # padding
  source = _Records([{"tokens": t, "label": i % 3} for i, t in enumerate(tokens)], 3)
  model = models.create("lstm", num_classes=3, input_shape={"tokens": (6,)}, vocab_size=50, embed_dim=4, hidden_dim=5)
  model.eval()
  out = inference.predict(inference.Classifier.from_model(model, None), source, batch_size=4)
  np.testing.assert_allclose(out.logits, model(tokens=tokens), rtol=1e-5, atol=1e-5)
  np.testing.assert_array_equal(out.labels, np.arange(9) % 3)


class _TokenScorer(nnx.Module):
  """Per-token logits `[B, T, K]`: row `k` of a table for each target token, plus the source's first token."""

  def __init__(self, vocab, rngs):
    self.table = nnx.Param(jax.random.normal(rngs.params(), (vocab, vocab)))

  def __call__(self, source, target_in):
    return self.table[target_in] + source[:, :1, None].astype(np.float32)


def test_per_token_labels_give_one_row_per_unmasked_token():
  rng = np.random.default_rng(2)
  lengths = [3, 1, 4, 2, 4]
  records = []
  for n in lengths:
    target_in = rng.integers(0, 7, 4).astype(np.int32)
    records.append(
      {
        "source": rng.integers(0, 7, 3).astype(np.int32),
        "target_in": target_in,
        "label": rng.integers(0, 7, 4).astype(np.int32),
        "label_mask": np.arange(4) < n,
      }
    )
  model = _TokenScorer(7, nnx.Rngs(0))
  out = inference.predict(inference.Classifier.from_model(model, None), _Records(records, 7), batch_size=2)
  table = np.asarray(model.table[...])
  expected_logits = [table[r["target_in"][t]] + r["source"][0] for r in records for t in range(4) if r["label_mask"][t]]
  expected_labels = [r["label"][t] for r in records for t in range(4) if r["label_mask"][t]]
  assert out.per_token and out.num_examples == 5 and len(out.labels) == sum(lengths)
  np.testing.assert_allclose(out.logits, np.stack(expected_logits), rtol=1e-6)
  np.testing.assert_array_equal(out.labels, expected_labels)


def test_adversarial_logits_have_one_row_per_example_and_budget():
  model, images = _setup()
  data = ArrayDataset(images, np.arange(23) % 4, 4)
  classifier = inference.Classifier.from_model(model, None)
  out = inference.adversarial_logits(classifier, data, "pgd_linf", [0.0, 0.1], batch_size=10, steps=2)
  assert out.shape == (2, 23, 4)
  np.testing.assert_allclose(out[0], inference.logits(classifier, images, batch_size=10), rtol=1e-5, atol=1e-5)


def test_fgsm_steps_along_the_sign_of_the_pixel_gradient_through_the_normalisation():
  """FGSM's logits equal the model's on `clip(x + eps sign(d CE / d x), 0, 1)`, the gradient taken here directly
  with respect to the [0, 1] pixels through `(x - mean) / std`."""
  model, images = _setup(n=12)
  labels = np.arange(12) % 4
  classifier = inference.Classifier.from_model(model, (MEAN, STD))
  out = inference.adversarial_logits(classifier, ArrayDataset(images, labels, 4), "fgsm", [0.05], batch_size=5)
  x = images.astype(np.float32) / 255.0

  def loss(pixels):
    return optax.softmax_cross_entropy_with_integer_labels(model((pixels - MEAN[0]) / STD[0]), labels).sum()

  adv = np.clip(x + 0.05 * np.sign(np.asarray(jax.grad(loss)(x))), 0.0, 1.0)
  np.testing.assert_allclose(out[0], model((adv - MEAN[0]) / STD[0]), rtol=1e-4, atol=1e-4)


def test_an_empty_source_is_named():
  model, _ = _setup()
  empty = ArrayDataset(np.zeros((0, 5, 5, 1), np.uint8), np.zeros(0, np.int32), 4, name="nothing")
  with pytest.raises(ValueError, match="nothing has no examples"):
    inference.predict(inference.Classifier.from_model(model, None), empty)
