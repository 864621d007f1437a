"""el_jax/evaluate/segmentation.py: the confusion matrix of valid pixels, per-class and mean IoU and pixel accuracy,
against scikit-learn's `confusion_matrix` and `jaccard_score` and against hand-worked cases."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn import metrics as sk

from el_jax import data
from el_jax.data import segmentation as data_segmentation
from el_jax.data import segmentation_transforms
from el_jax.evaluate import inference, segmentation

K = 5


@pytest.fixture(scope="module")
def maps():
  """Random label maps [4, 6, 7] with a fifth of the pixels ignored, class 4 never labelled but predicted."""
  rng = np.random.default_rng(0)
  labels = rng.integers(0, K - 1, (4, 6, 7))
  predictions = rng.integers(0, K, (4, 6, 7))
  where = rng.random((4, 6, 7)) > 0.2
  labels[~where] = rng.integers(0, 100, int((~where).sum()))  # ignored pixels may hold anything, even out of range
  return predictions, labels, where


def test_confusion_matrix_matches_scikit_learn_on_the_valid_pixels(maps):
  predictions, labels, where = maps
  expected = sk.confusion_matrix(labels[where], predictions[where], labels=np.arange(K))
  np.testing.assert_array_equal(segmentation.confusion_matrix(predictions, labels, K, where), expected)


def test_iou_and_pixel_accuracy_match_scikit_learn(maps):
  predictions, labels, where = maps
  confusion = segmentation.confusion_matrix(predictions, labels, K, where)
  y, p = labels[where], predictions[where]
  iou = sk.jaccard_score(y, p, labels=np.arange(K), average=None)  # every class has a non-empty union here
  np.testing.assert_allclose(segmentation.per_class_iou(confusion), iou)
  # class 4 is predicted but never labelled: its IoU is 0 and it counts in the mean
  assert segmentation.per_class_iou(confusion)[4] == 0.0
  np.testing.assert_allclose(segmentation.mean_iou(confusion), np.mean(iou))
  np.testing.assert_allclose(
    segmentation.mean_iou(confusion), sk.jaccard_score(y, p, labels=np.arange(K), average="macro")
  )
  np.testing.assert_allclose(segmentation.pixel_accuracy(confusion), sk.accuracy_score(y, p))


def test_accumulating_batches_equals_the_whole_set(maps):
  predictions, labels, where = maps
  safe = np.where(where, labels, 0)
  whole = segmentation.confusion_matrix(predictions, labels, K, where)

  @jax.jit
  def total(p, y, w):  # a jitted loop over the batches, the running sum on the device
    return jax.lax.fori_loop(
      0, 4, lambda i, c: c + segmentation.batch_confusion(p[i], y[i], w[i], K), np.zeros((K, K), np.int32)
    )

  np.testing.assert_array_equal(total(predictions, safe, where), whole)


def test_hand_worked_case_with_an_absent_class():
  # 2 x 3 pixels, K = 3; class 2 is neither labelled nor predicted; one pixel ignored.
  labels = np.array([[0, 0, 1], [1, 1, 2]])
  predictions = np.array([[0, 1, 1], [1, 0, 0]])
  where = np.array([[True, True, True], [True, True, False]])
  confusion = segmentation.confusion_matrix(predictions, labels, 3, where)
  np.testing.assert_array_equal(confusion, [[1, 1, 0], [1, 2, 0], [0, 0, 0]])
  # class 0: TP 1, union 1 + 1 + 1 = 3; class 1: TP 2, union 2 + 1 + 1 = 4; class 2: empty union, not scored
  np.testing.assert_allclose(segmentation.per_class_iou(confusion), [1 / 3, 2 / 4, np.nan])
  assert segmentation.mean_iou(confusion) == pytest.approx((1 / 3 + 1 / 2) / 2)
  assert segmentation.pixel_accuracy(confusion) == pytest.approx(3 / 5)
  # scikit-learn's macro mean over the scored classes only
  assert segmentation.mean_iou(confusion) == pytest.approx(
    sk.jaccard_score(labels[where], predictions[where], labels=[0, 1], average="macro")
  )
  scores = segmentation.scores(confusion)
  assert (scores["num_pixels"], scores["num_classes_scored"]) == (5, 2)


def test_all_pixels_ignored_is_an_error_naming_it():
  confusion = segmentation.confusion_matrix(np.zeros((2, 2), int), np.ones((2, 2), int), 3, np.zeros((2, 2), bool))
  assert confusion.sum() == 0
  assert np.isnan(segmentation.per_class_iou(confusion)).all()
  for fn in (segmentation.mean_iou, segmentation.pixel_accuracy, segmentation.scores):
    with pytest.raises(ValueError, match="every pixel is ignored"):
      fn(confusion)


def test_bad_inputs_are_named():
  labels = np.array([[0, 3]])
  with pytest.raises(ValueError, match="label outside"):
    segmentation.confusion_matrix(np.zeros_like(labels), labels, 3)
  with pytest.raises(ValueError, match="must have one shape"):
    segmentation.confusion_matrix(np.zeros((1, 3), int), labels, 3)
  with pytest.raises(ValueError, match="bool mask"):
    segmentation.confusion_matrix(np.zeros_like(labels), labels, 4, np.ones((1, 2), int))
  with pytest.raises(ValueError, match="square"):
    segmentation.per_class_iou(np.zeros((2, 3)))


@pytest.mark.parametrize("dataset, expected", [("camvid", 22), ("cityscapes", 2)])
def test_evaluation_batches_hold_at_most_four_million_pixels(dataset, expected):
  source = data.load(f"synthetic:segmentation:{dataset}", "val").take(30)
  pad = (segmentation_transforms.PadTo(data_segmentation.EVAL_SIZES[dataset]),)
  assert segmentation.batch_size_for(source, pad, 1000) == expected  # 2^22 // (384 * 480), 2^22 // (1024 * 2048)
  assert segmentation.batch_size_for(source, pad, 1) == 1
  assert segmentation.batch_size_for(source.take(1), pad, 1000) == 1


@pytest.fixture(scope="module")
def camvid_test():
  """Two CamVid stand-in test images and the evaluation padding to 384 x 480."""
  source = data.load("synthetic:segmentation:camvid", "test").take(2)
  return source, (segmentation_transforms.PadTo(data_segmentation.EVAL_SIZES["camvid"]),)


def test_a_source_is_scored_on_its_valid_pixels_only(camvid_test):
  """An oracle reading each pixel's class from the stand-in's palette (noise +-24 around colours 92 apart) is right
  on every valid pixel: its confusion matrix is the diagonal of the labelled pixels' class counts, the padding and
  void pixels (which it gets wrong) left out."""
  source, pad = camvid_test
  palette = jnp.asarray(source.palette, jnp.float32)

  def oracle(params, images):  # images in [0, 1]
    return -jnp.sum((images[..., None, :] * 255.0 - palette) ** 2, axis=-1)

  classifier = inference.Classifier(oracle, ())
  confusion, images = segmentation.confusion_of_source(classifier, source, 11, batch_size=2, transforms=pad)
  counts = sum(np.bincount(label[mask], minlength=11) for label, mask in map(source.label_map, range(2)))
  np.testing.assert_array_equal(confusion, np.diag(counts))
  assert images == 2 and segmentation.mean_iou(confusion) == 1.0


def test_a_model_without_per_pixel_logits_is_named(camvid_test):
  source, pad = camvid_test
  classifier = inference.Classifier(lambda params, images: jnp.zeros((images.shape[0], 11)), ())
  with pytest.raises(ValueError, match=r"logits \(2, 11\) do not match the label maps \(2, 384, 480\)"):
    segmentation.confusion_of_source(classifier, source, 11, batch_size=2, transforms=pad)
