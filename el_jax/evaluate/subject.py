"""What every evaluator is given: a trained model, the run's inputs and the test examples it is evaluated on.

A `Subject` computes what several evaluators share once, on first use: the model as a pure function (`classifier`),
its predictions on the test examples (`predictions`) and, for image data, the test images as uint8 pixels
(`images`). An evaluator that does not apply to a subject raises `Skip` with the reason, which the report records.

Per-pixel labels (semantic segmentation, `per_pixel`): `predictions` and `images` raise `Skip`, so that every
evaluator built on one label per example (or per token) skips such a run instead of holding `[N, H, W, K]` logits;
the `segmentation` evaluator scores it from a confusion matrix instead.
"""

import dataclasses
import functools

import numpy as np
from flax import nnx

from el_jax.data import segmentation as segmentation_data
from el_jax.data.arrays import ArrayDataset
from el_jax.evaluate import inference
from el_jax.train import setup


class Skip(Exception):  # noqa: N818 (an outcome, not an error)
  """An evaluator does not apply to a subject (e.g. OOD images for a model of tokens); the message says why."""


@dataclasses.dataclass(frozen=True, eq=False)
class Subject:
  """A model under evaluation and its data.

  Attributes:
    model: the trained model, in evaluation mode.
    inputs: the run's inputs (`setup.Inputs`): training set, evaluation set, normalisation, transforms.
    loss: the run's `loss` config section (`{"name": ..., hyper-parameters}`).
    test_subset: evaluate on the first N examples of `inputs.eval` only (None: all of them).
    batch_size: examples per evaluation batch.
    seed: the seed of everything random (OOD sets, corruptions, attacks).
  """

  model: nnx.Module
  inputs: setup.Inputs
  loss: dict
  test_subset: int | None = None
  batch_size: int = 1000
  seed: int = 0

  @functools.cached_property
  def test(self):
    """The test examples: the first `test_subset` of `inputs.eval`."""
    return self.inputs.eval.take(self.test_subset)

  @functools.cached_property
  def classifier(self) -> inference.Classifier:
    return inference.Classifier.from_model(self.model, self.inputs.normalization)

  @functools.cached_property
  def per_pixel(self) -> bool:
    """Whether the labels are label maps `[H, W]`, one class per pixel (a `segmentation:<name>` set, or images whose
    first test record has a label of two or more axes)."""
    if segmentation_data.dataset_of(self.inputs.name) is not None:
      return True
    return bool(self.inputs.has_images and len(self.test) and np.ndim(self.test[0]["label"]) >= 2)

  def require_example_labels_or_tokens(self) -> None:
    """Raises `Skip` when the labels are per pixel (label maps): one label per example or per token needed."""
    if self.per_pixel:
      raise Skip(
        f"needs one label per example; {self.inputs.name} has per-pixel label maps (semantic segmentation), scored "
        "by the segmentation evaluator"
      )

  @functools.cached_property
  def predictions(self) -> inference.Predictions:
    """The model's logits and labels on the test examples (per unmasked token for per-token labels); `Skip` for
    per-pixel labels."""
    self.require_example_labels_or_tokens()
    return self.predict(self.test)

  def predict(self, source) -> inference.Predictions:
    """The model's predictions on the records of `source`, read as the test set is (the run's eval transforms)."""
    return inference.predict(
      self.classifier, source, batch_size=self.batch_size, transforms=self.inputs.eval_transforms
    )

  def logits(self, images: np.ndarray) -> np.ndarray:
    """The model's logits `[N, K]` on uint8 `images [N, H, W, C]` (of the shape of the test images)."""
    return inference.logits(self.classifier, images, batch_size=self.batch_size)

  def require_images(self) -> None:
    """Raises `Skip` unless the model takes images `[H, W, C]`."""
    if self.inputs.has_images:
      return
    shape = self.inputs.input_shape
    has = ", ".join(shape) if isinstance(shape, dict) else f"feature vectors of shape {list(shape)}"
    raise Skip(f"needs image inputs; {self.inputs.name} has {has}")

  def require_example_labels(self) -> None:
    """Raises `Skip` when the labels are per pixel or per token (one label per example needed)."""
    self.require_example_labels_or_tokens()
    if self.predictions.per_token:
      raise Skip(f"needs one label per example; {self.inputs.name} has per-token labels")

  @functools.cached_property
  def images(self) -> np.ndarray:
    """The test images as uint8 pixels `[N, H, W, C]`, after the run's evaluation transforms (`Skip` without images,
    and for per-pixel labels, which the image evaluators' attacks, OOD sets and corruptions do not handle)."""
    self.require_images()
    self.require_example_labels_or_tokens()
    if isinstance(self.test, ArrayDataset) and not self.inputs.eval_transforms:
      return self.test.images
    images = np.stack([self._pixels(self.test[i]) for i in range(len(self.test))])  # the batches hold floats
    if images.dtype != np.uint8:
      raise Skip(f"needs uint8 images; {self.inputs.name} has {images.dtype} inputs")
    return images

  def _pixels(self, record: dict) -> np.ndarray:
    for transform in self.inputs.eval_transforms:  # deterministic grain Maps
      record = transform.map(record)
    return np.asarray(record["image"])
