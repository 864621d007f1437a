"""Joint transforms of segmentation records `{"image": [H, W, C], "label": [H, W], "label_mask": [H, W], ...}`.

Every transform moves the image, the label map and its mask together, and pixels it adds are ignored (`label` 0,
`label_mask` False, image 0). As in `el_jax.data.transforms`, the random one is a `grain.transforms.RandomMap` that
draws only from the Generator the pipeline gives it (seeded by `(seed, epoch, example index)`), so the training batch
of step `s` stays a pure function of `(seed, s)`.

- `RandomCropFlip((h, w))`: training. A random `h` x `w` window (placing the image at a random offset inside it,
  padded with ignored pixels, along a side where the image is smaller), then a horizontal flip with probability 1/2.
- `PadTo((h, w))`: evaluation. The whole image, padded at the bottom and right with ignored pixels to `h` x `w`.

`augmentation(dataset, crop_size, eval_size)` gives both for `dataset.augmentation = "segmentation"`.
"""

import grain
import numpy as np

from el_jax.data import segmentation

SEGMENTATION_KEYS = ("image", "label", "label_mask")


def _size(size, what: str) -> tuple[int, int]:
  size = tuple(size)
  if len(size) != 2 or not all(isinstance(s, int | np.integer) and s >= 1 for s in size):
    raise ValueError(f"{what} must be [h, w], two integers >= 1; got {size!r}.")
  return int(size[0]), int(size[1])


def _check(record: dict, what: str) -> tuple[int, int]:
  missing = [k for k in SEGMENTATION_KEYS if k not in record]
  if missing:
    raise ValueError(f"{what} transforms segmentation records; this one lacks {missing} (keys: {sorted(record)}).")
  image, label, mask = (np.asarray(record[k]) for k in SEGMENTATION_KEYS)
  if image.ndim != 3 or label.shape != image.shape[:2] or mask.shape != label.shape:
    raise ValueError(
      f"{what} needs image [H, W, C] with label and label_mask [H, W], got {image.shape}, {label.shape}, {mask.shape}."
    )
  return image.shape[0], image.shape[1]


def _window(record: dict, top: int, left: int, height: int, width: int) -> dict:
  """The `height` x `width` window of `record` whose top-left corner is at `(top, left)` of the image (negative or
  past the image where it overhangs; those pixels are ignored)."""
  h, w = record["label"].shape
  src_rows = slice(max(top, 0), min(top + height, h))
  src_cols = slice(max(left, 0), min(left + width, w))
  dst_rows = slice(src_rows.start - top, src_rows.stop - top)
  dst_cols = slice(src_cols.start - left, src_cols.stop - left)
  out = dict(record)
  for key in SEGMENTATION_KEYS:
    value = np.asarray(record[key])
    window = np.zeros((height, width, *value.shape[2:]), value.dtype)
    window[dst_rows, dst_cols] = value[src_rows, src_cols]
    out[key] = window
  return out


class RandomCropFlip(grain.transforms.RandomMap):
  """A random `crop_size` window, padded with ignored pixels where the image is smaller, then a horizontal flip with
  probability `flip`.

  Along each axis the window's offset is uniform over the positions where it lies inside the image (`[0, H - h]`),
  or, when the image is smaller, where the image lies inside the window (`[H - h, 0]`).
  """

  def __init__(self, crop_size, flip: float = 0.5):
    self.crop_size = _size(crop_size, "RandomCropFlip's crop_size")
    if not 0 <= flip <= 1:
      raise ValueError(f"RandomCropFlip's flip probability must lie in [0, 1], got {flip}.")
    self.flip = flip

  def random_map(self, record: dict, rng: np.random.Generator) -> dict:
    height, width = _check(record, "RandomCropFlip")
    h, w = self.crop_size
    top = int(rng.integers(min(0, height - h), max(0, height - h) + 1))
    left = int(rng.integers(min(0, width - w), max(0, width - w) + 1))
    out = _window(record, top, left, h, w)
    if rng.random() < self.flip:
      out.update({key: out[key][:, ::-1] for key in SEGMENTATION_KEYS})
    return out


class PadTo(grain.transforms.Map):
  """The whole record padded at the bottom and right with ignored pixels to `eval_size`; a larger image is an error
  (nothing is cut from an evaluation image)."""

  def __init__(self, eval_size):
    self.eval_size = _size(eval_size, "PadTo's eval_size")

  def map(self, record: dict) -> dict:
    height, width = _check(record, "PadTo")
    h, w = self.eval_size
    if height > h or width > w:
      raise ValueError(
        f"PadTo: an image of {height} x {width} does not fit eval_size {h} x {w}: set dataset.eval_size to at least "
        f"the largest image, rounded up to a multiple of 32."
      )
    return _window(record, 0, 0, h, w)


def augmentation(dataset: str, crop_size=None, eval_size=None) -> tuple[tuple, tuple, tuple[int, int]]:
  """`(train_transforms, eval_transforms, crop_size)` of segmentation dataset `dataset` (e.g. "camvid"): a random
  crop to `crop_size` with a flip, and padding to `eval_size`; None means the dataset's default
  (`segmentation.CROP_SIZES`, `segmentation.EVAL_SIZES`)."""
  if dataset not in segmentation.CROP_SIZES:
    raise ValueError(f"Unknown segmentation dataset {dataset!r}; valid: {', '.join(segmentation.CROP_SIZES)}.")
  crop = _size(segmentation.CROP_SIZES[dataset] if crop_size is None else crop_size, "dataset.crop_size")
  pad = _size(segmentation.EVAL_SIZES[dataset] if eval_size is None else eval_size, "dataset.eval_size")
  if pad[0] % 32 or pad[1] % 32:
    raise ValueError(f"dataset.eval_size={list(pad)} must be multiples of 32 (the FPN models' stride): round it up.")
  return (RandomCropFlip(crop),), (PadTo(pad),), crop
