"""Semantic-segmentation scores from a confusion matrix over the valid pixels (HEM paper §5.4, A.4.2: mean IoU).

The confusion matrix `C [K, K]` counts the valid (non-ignored) pixels of true class `i` predicted as class `j` in
`C[i, j]` (rows true, columns predicted, as scikit-learn's `confusion_matrix`). From it, per class `c`:

  IoU_c = TP_c / (TP_c + FP_c + FN_c) = C[c, c] / (sum_j C[c, j] + sum_i C[i, c] - C[c, c])

the intersection over the union of the pixels labelled `c` and those predicted `c`. A class with an empty union
(neither labelled nor predicted on any valid pixel) has no IoU (NaN), and the mean IoU is the mean over the classes
whose union is non-empty; a class that is labelled nowhere but predicted somewhere has IoU 0 and counts. Pixel
accuracy is `trace(C) / sum(C)`. With no valid pixel at all (every pixel ignored) there is nothing to score:
`mean_iou` and `pixel_accuracy` raise a ValueError instead of returning NaN.

Accumulation over batches: `batch_confusion(predictions, labels, where, num_classes)` is a jitted function of one
batch (int32 counts: a batch holds far fewer than 2^31 pixels) for a loop on the device, and `confusion_of_source`
adds the batches of a source into an int64 matrix on the host (a test set such as Cityscapes' 500 x 1024 x 2048
pixels nears 2^31), taking the argmax on the device so that only the `[N, H, W]` predictions, not the `[N, H, W, K]`
logits, leave it, and counting them with `np.bincount`.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from el_jax.data import pipeline
from el_jax.evaluate import inference
from el_jax.train import step


@functools.partial(jax.jit, static_argnames="num_classes")
def batch_confusion(predictions, labels, where, num_classes: int):
  """`[K, K]` int32 counts of the pixels where `where` is True: true class `labels` (row) against `predictions`
  (column), both integer arrays of one shape (any leading axes). Traceable: under jit a value outside `[0, K)` on a
  valid pixel is dropped, so callers with unchecked data use `confusion_matrix`, which checks."""
  labels, predictions = labels.astype(jnp.int32), predictions.astype(jnp.int32)
  weights = jnp.asarray(where, bool).astype(jnp.int32)
  index = jnp.where(weights > 0, labels * num_classes + predictions, 0)
  flat = jnp.zeros(num_classes * num_classes, jnp.int32).at[index.reshape(-1)].add(weights.reshape(-1))
  return flat.reshape(num_classes, num_classes)


def confusion_matrix(predictions, labels, num_classes: int, where=None) -> np.ndarray:
  """`[K, K]` int64 confusion matrix (rows true, columns predicted) of the valid pixels (`where` True; all when
  None) of concrete label maps. Raises a ValueError for mismatched shapes or a valid pixel whose label or prediction
  is outside `[0, num_classes)`."""
  predictions, labels = np.asarray(predictions), np.asarray(labels)
  where = np.ones(labels.shape, bool) if where is None else np.asarray(where)
  if predictions.shape != labels.shape or where.shape != labels.shape:
    raise ValueError(
      f"predictions {predictions.shape}, labels {labels.shape} and where {where.shape} must have one shape."
    )
  if where.dtype != bool:
    raise ValueError(f"where must be a bool mask (True on valid pixels), got dtype {where.dtype}.")
  if num_classes < 2:
    raise ValueError(f"num_classes must be at least 2, got {num_classes}.")
  for name, values in (("label", labels), ("prediction", predictions)):
    bad = values[where & ((values < 0) | (values >= num_classes))]
    if bad.size:
      raise ValueError(
        f"{bad.size} valid pixel(s) have a {name} outside [0, {num_classes}), e.g. {bad[:5].tolist()}: mark ignored "
        "pixels False in where (the label_mask) instead of giving them an out-of-range class."
      )
  return np.asarray(batch_confusion(predictions, labels, where, num_classes), np.int64)


def _checked(confusion) -> np.ndarray:
  confusion = np.asarray(confusion)
  if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1] or (confusion < 0).any():
    raise ValueError(f"a confusion matrix must be a square [K, K] array of counts >= 0, got shape {confusion.shape}.")
  return confusion.astype(np.float64)


def _require_pixels(confusion: np.ndarray) -> None:
  if confusion.sum() == 0:
    raise ValueError(
      "the confusion matrix is empty: every pixel is ignored (label_mask False), so there is no IoU or accuracy to "
      "report; evaluate on label maps with valid pixels."
    )


def per_class_iou(confusion) -> np.ndarray:
  """`[K]` IoU_c = C[c, c] / (row_c + column_c - C[c, c]); NaN for a class with an empty union."""
  confusion = _checked(confusion)
  intersection = np.diag(confusion)
  union = confusion.sum(axis=0) + confusion.sum(axis=1) - intersection
  with np.errstate(invalid="ignore", divide="ignore"):
    return np.where(union > 0, intersection / np.where(union > 0, union, 1.0), np.nan)


def mean_iou(confusion) -> float:
  """The mean of `per_class_iou` over the classes whose union is non-empty (ValueError with no valid pixel)."""
  confusion = _checked(confusion)
  _require_pixels(confusion)
  return float(np.nanmean(per_class_iou(confusion)))


def pixel_accuracy(confusion) -> float:
  """`trace(C) / sum(C)`: the fraction of valid pixels predicted right (ValueError with no valid pixel)."""
  confusion = _checked(confusion)
  _require_pixels(confusion)
  return float(np.trace(confusion) / confusion.sum())


def scores(confusion) -> dict:
  """The report's figures of a confusion matrix: `mean_iou`, `per_class_iou` (NaN for a class with an empty
  union), `pixel_accuracy`, `num_pixels` (valid pixels) and `num_classes_scored` (those with a non-empty union)."""
  iou = per_class_iou(confusion)
  return {
    "mean_iou": mean_iou(confusion),
    "pixel_accuracy": pixel_accuracy(confusion),
    "per_class_iou": iou.tolist(),
    "num_pixels": int(np.asarray(confusion).sum()),
    "num_classes_scored": int(np.sum(~np.isnan(iou))),
  }


@jax.jit
def _argmax(logits):
  return jnp.argmax(logits, axis=-1).astype(jnp.int32)


def _host_confusion(predictions: np.ndarray, labels: np.ndarray, where: np.ndarray, num_classes: int) -> np.ndarray:
  """`[K, K]` int64 counts of one batch on the host (np.bincount), the valid pixels' labels checked."""
  labels, predictions = labels[where].astype(np.int64), predictions[where].astype(np.int64)
  if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
    bad = labels[(labels < 0) | (labels >= num_classes)]
    raise ValueError(f"{bad.size} valid pixel(s) have a label outside [0, {num_classes}), e.g. {bad[:5].tolist()}.")
  counts = np.bincount(labels * num_classes + predictions, minlength=num_classes * num_classes)
  return counts.reshape(num_classes, num_classes)


# The most pixels in one evaluation batch (about 4 million: 22 CamVid images padded to 384 x 480, 2 of Cityscapes'
# 1024 x 2048): an evaluation batch size meant for classifiers (1000) would ask for tens of gigabytes of activations.
MAX_BATCH_PIXELS = 2**22


def batch_size_for(source, transforms, batch_size: int) -> int:
  """The evaluation batch size for `source`'s images after `transforms`: at most `batch_size` images, at most the
  source's size (a padded batch costs as much as a full one), and at most `MAX_BATCH_PIXELS` pixels (at least one
  image)."""
  record = source[0]
  for transform in transforms:  # deterministic evaluation Maps (e.g. padding to the evaluation size)
    record = transform.map(record)
  height, width = np.shape(record["image"])[:2]
  return max(1, min(batch_size, len(source), MAX_BATCH_PIXELS // (height * width)))


def confusion_of_source(classifier: inference.Classifier, source, num_classes: int, *, batch_size: int, transforms=()):
  """`(confusion [K, K] int64, num_images)` of `classifier` on every record of the segmentation source `source`
  (`image`, `label` and `label_mask` records), read in padded batches as evaluation reads them (`transforms`: the
  run's evaluation transforms, e.g. padding to the evaluation size); padding images and pixels are not counted."""
  confusion, images = np.zeros((num_classes, num_classes), np.int64), 0
  for batch in pipeline.eval_batches(source, batch_size=batch_size, transforms=transforms):
    if np.ndim(batch["label"]) != 3:
      raise ValueError(
        f"{getattr(source, 'name', 'the source')}: needs label maps [N, H, W], got {batch['label'].shape}."
      )
    logits = inference.run_logits(classifier, batch["image"])  # stays on the device
    if logits.shape[:-1] != batch["label"].shape:
      raise ValueError(
        f"the model's logits {logits.shape} do not match the label maps {batch['label'].shape}: a segmentation model "
        "gives [N, H, W, K] logits at the input's resolution."
      )
    where = np.asarray(step.label_weights(batch))  # the label_mask, False on padding images
    predictions = np.asarray(_argmax(logits))  # [N, H, W] int32 leave the device, not the [N, H, W, K] logits
    confusion += _host_confusion(predictions, np.asarray(batch["label"]), where, num_classes)
    images += int(batch["mask"].sum())
  if images != len(source):
    raise RuntimeError(f"evaluation saw {images} images instead of {len(source)}.")
  return confusion, images
