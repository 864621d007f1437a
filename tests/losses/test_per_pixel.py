"""Per-pixel objectives (HEM paper §5.4): every loss of the HEM comparison on `[B, H, W, K]` logits with `[B, H, W]`
labels and an ignore mask `where` is the objective of the flattened valid pixels, in value (against the float64
references of tests/losses/reference.py) and gradient; ignored pixels contribute nothing; LA's class counts and
HEM/HEM+'s margins come from the training set's per-pixel class counts."""

import jax
import numpy as np
import pytest

from el_jax import data, losses
from el_jax.configs import losses as menus
from tests.losses import reference

B, H, W, K = 2, 3, 4, 4
# Per-class pixel counts of a training set (imbalanced, as segmentation sets are).
PIXEL_COUNTS = np.array([5000, 1200, 300, 40])


@pytest.fixture(scope="module")
def batch():
  rng = np.random.default_rng(0)
  logits = (2.0 * rng.normal(size=(B, H, W, K))).astype(np.float32)
  labels = rng.integers(0, K, (B, H, W))
  where = rng.random((B, H, W)) > 0.3
  return logits, labels, where


def _objective(key):
  entry = menus.HEM[key]
  hparams = losses.resolve_data_hparams({k: v for k, v in entry.items() if k != "name"}, PIXEL_COUNTS)
  return losses.get_objective(entry["name"], **hparams), hparams


def _reference(key, z, y, hparams):
  """The objective of the flattened valid pixels `z [N, K]`, `y [N]`, from the formulas."""
  if key == "ce":
    return reference.cross_entropy(z, y).mean()
  if key == "logit_norm":
    return reference.logit_norm_loss(z, y, hparams["tau"]).mean()
  if key == "logit_adjusted":
    return reference.logit_adjusted_loss(z, y, hparams["class_counts"], hparams["tau"]).mean()
  if key == "dice":  # Eq. 5 per class with the sums over every valid pixel of the batch, then the mean over classes
    return reference.dice_loss(z, y)
  if key == "mm":
    return reference.multiclass_margin_loss(z, y, hparams["margin"]).mean()
  # HEM (Eq. 8) per pixel, then the mean of the above-zero pixel losses
  return reference.hem_reduce(reference.hem_loss(z, y, hparams["margin"], hparams.get("margin_of", "competitor")))


def _value_and_grad(objective):
  """`(objective, d objective / d logits)` of `(logits, labels, where)`, jitted (one compilation, not one per op)."""
  return jax.jit(jax.value_and_grad(lambda z, y, w: objective(z, y, where=w)))


@pytest.mark.parametrize("key", list(menus.HEM))
def test_per_pixel_objective_is_that_of_the_flattened_valid_pixels(key, batch):
  logits, labels, where = batch
  objective, hparams = _objective(key)
  value, grad = _value_and_grad(objective)(logits, labels, where)
  np.testing.assert_allclose(value, _reference(key, logits[where], labels[where], hparams), rtol=2e-5, atol=1e-6)
  flat_value, flat_grad = _value_and_grad(objective)(logits[where], labels[where], None)
  np.testing.assert_allclose(value, flat_value, rtol=1e-6, atol=1e-7)
  np.testing.assert_allclose(grad[where], flat_grad, rtol=1e-5, atol=1e-7)
  assert not np.any(grad[~where]), "an ignored pixel has a gradient"


@pytest.mark.parametrize("key", ["ce", "dice", "hem_plus"])
def test_gradient_matches_central_differences_of_the_reference(key, batch):
  logits, labels, where = batch
  objective, hparams = _objective(key)
  grad = np.asarray(_value_and_grad(objective)(logits, labels, where)[1])
  z, y = logits[where].astype(np.float64), labels[where]
  eps = 1e-4
  for pixel, k in [(0, 0), (1, 2), (len(y) - 1, 3)]:
    up, down = z.copy(), z.copy()
    up[pixel, k] += eps
    down[pixel, k] -= eps
    numeric = (_reference(key, up, y, hparams) - _reference(key, down, y, hparams)) / (2 * eps)
    assert grad[where][pixel, k] == pytest.approx(numeric, rel=1e-3, abs=1e-5)


@pytest.mark.parametrize("key", list(menus.HEM))
def test_ignored_pixels_contribute_nothing(key, batch):
  logits, labels, where = batch
  objective, _ = _objective(key)
  rng = np.random.default_rng(1)
  other_logits = np.where(where[..., None], logits, 100.0 * rng.normal(size=logits.shape)).astype(np.float32)
  other_labels = np.where(where, labels, (labels + 1) % K)
  value_and_grad = _value_and_grad(objective)
  value, grad = value_and_grad(logits, labels, where)
  other_value, other_grad = value_and_grad(other_logits, other_labels, where)
  np.testing.assert_array_equal(value, other_value)
  np.testing.assert_array_equal(grad, other_grad)


def test_data_hyper_parameters_come_from_the_pixel_counts():
  """LA's counts are the training set's per-pixel class counts; HEM's margin is sqrt(2000 / N) with N the labelled
  pixels, HEM+'s sqrt(2000 / (K s_k)) with s_k the pixels of class k (HEM §4.2-4.3)."""
  source = data.load("synthetic:segmentation:camvid", "train").take(2)
  counts = data.class_counts(source)
  expected = np.zeros(source.num_classes, np.int64)
  for i in range(2):
    label, mask = source.label_map(i)
    expected += np.bincount(label[mask], minlength=source.num_classes)
  np.testing.assert_array_equal(counts, expected)
  assert counts.sum() > 2 * 300 * 300  # pixels, not images
  resolve = lambda entry: losses.resolve_data_hparams({k: v for k, v in entry.items() if k != "name"}, counts)  # noqa: E731
  assert resolve(menus.HEM["logit_adjusted"])["class_counts"] == counts.tolist()
  assert resolve(menus.HEM["hem"])["margin"] == pytest.approx(np.sqrt(2000 / counts.sum()))
  np.testing.assert_allclose(
    resolve(menus.HEM["hem_plus"])["margin"], np.sqrt(2000 / (source.num_classes * counts)), rtol=1e-6
  )


def test_label_maps_of_a_wrong_shape_are_named(batch):
  logits, labels, where = batch
  objective, _ = _objective("ce")
  with pytest.raises(ValueError, match="labels shape"):  # traced only: the check is on shapes
    jax.eval_shape(lambda: objective(logits, labels[:, :, :-1], where=where[:, :, :-1]))
  with pytest.raises(ValueError, match="where mask shape"):
    jax.eval_shape(lambda: objective(logits, labels, where=where[:, :, :-1]))
