"""Per-example transforms as grain operations on records `{"image": [H, W, C] array, "label": int}`.

Random ones are `grain.transforms.RandomMap`s: `random_map(record, rng)` draws only from the `numpy` Generator it is
given, so a pipeline that seeds that Generator from `(seed, epoch, example index)` makes the augmented batch of each
step a pure function of the seed and the step. Deterministic ones are `grain.transforms.Map`s.

- `RandomCropWithPadding(32, 4)` and `RandomHorizontalFlip()`: the CIFAR augmentation of He et al. (2016a).
- `RandomResizedCrop(224)` for ImageNet training and `ResizeCenterCrop(256, 224)` for evaluation, with
  torchvision's sampling rule and bilinear resizing (Szegedy et al., 2015).
- `Normalize(mean, std)`: pixels to float32 in [0, 1], then standardised per channel.

`augmentation(name, size=...)` gives the recipes of the papers by name ("none", "cifar", "imagenet").
"""

import math

import grain
import numpy as np
from PIL import Image


def to_float(images: np.ndarray, normalization: tuple | None = None) -> np.ndarray:
  """Pixels as float32: uint8 [0, 255] -> [0, 1], then `(x - mean) / std` per channel if `normalization`.

  Args:
    images: `[..., C]` uint8 pixels or floats already in [0, 1] (or standardised features).
    normalization: optional `(mean, std)`, each a sequence of `C` floats (the training split's statistics).
  """
  x = images.astype(np.float32) * np.float32(1.0 / 255.0) if images.dtype == np.uint8 else images.astype(np.float32)
  if normalization is None:
    return x
  mean, std = (np.asarray(v, np.float32) for v in normalization)
  return (x - mean) / std


def _check_image(image: np.ndarray, what: str) -> None:
  if image.ndim != 3:
    raise ValueError(f"{what} needs images [H, W, C], got shape {image.shape}.")


def _resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
  """Bilinear (antialiased) resize of a uint8 `[H, W, C]` image with PIL, as torchvision does."""
  if image.dtype != np.uint8:
    raise ValueError(f"resizing needs uint8 pixels, got {image.dtype}: resize before Normalize.")
  channels = image.shape[-1]
  pil = Image.fromarray(image[..., 0] if channels == 1 else image)
  out = np.asarray(pil.resize((width, height), Image.BILINEAR))
  return out.reshape(height, width, channels)


class RandomCropWithPadding(grain.transforms.RandomMap):
  """Zero-pads `padding` pixels on every side and crops a random `size` x `size` window (He et al., 2016a)."""

  def __init__(self, size: int, padding: int = 4):
    if size < 1 or padding < 0:
      raise ValueError(f"RandomCropWithPadding needs size >= 1 and padding >= 0, got {size}, {padding}.")
    self.size, self.padding = size, padding

  def random_map(self, record: dict, rng: np.random.Generator) -> dict:
    image = record["image"]
    _check_image(image, "RandomCropWithPadding")
    p = self.padding
    padded = np.pad(image, ((p, p), (p, p), (0, 0)))
    height, width = padded.shape[:2]
    if height < self.size or width < self.size:
      raise ValueError(f"RandomCropWithPadding: cannot crop {self.size}x{self.size} from {image.shape} + {p} padding.")
    top, left = rng.integers(0, height - self.size + 1), rng.integers(0, width - self.size + 1)
    return {**record, "image": padded[top : top + self.size, left : left + self.size]}


class RandomHorizontalFlip(grain.transforms.RandomMap):
  """Mirrors the image left-right with probability `p`."""

  def __init__(self, p: float = 0.5):
    if not 0 <= p <= 1:
      raise ValueError(f"RandomHorizontalFlip probability must lie in [0, 1], got {p}.")
    self.p = p

  def random_map(self, record: dict, rng: np.random.Generator) -> dict:
    _check_image(record["image"], "RandomHorizontalFlip")
    if rng.random() < self.p:
      return {**record, "image": record["image"][:, ::-1]}
    return record


class RandomResizedCrop(grain.transforms.RandomMap):
  """A random crop of `scale` x the area and aspect ratio in `ratio` (log-uniform), resized to `size` x `size`.

  torchvision's rule: ten tries to draw a window that fits; otherwise the centre crop whose aspect ratio is the
  nearest allowed one.
  """

  def __init__(self, size: int, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
    if not (0 < scale[0] <= scale[1] <= 1 and 0 < ratio[0] <= ratio[1]):
      raise ValueError("RandomResizedCrop needs 0 < scale[0] <= scale[1] <= 1 and 0 < ratio[0] <= ratio[1].")
    self.size, self.scale, self.ratio = size, tuple(scale), tuple(ratio)

  def window(self, height: int, width: int, rng: np.random.Generator) -> tuple[int, int, int, int]:
    """`(top, left, h, w)` of the crop of a `height` x `width` image."""
    area = height * width
    log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
    for _ in range(10):
      target = area * rng.uniform(*self.scale)
      aspect = math.exp(rng.uniform(*log_ratio))
      w, h = round(math.sqrt(target * aspect)), round(math.sqrt(target / aspect))
      if 0 < w <= width and 0 < h <= height:
        return int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1)), h, w
    aspect = width / height
    if aspect < self.ratio[0]:
      w, h = width, round(width / self.ratio[0])
    elif aspect > self.ratio[1]:
      w, h = round(height * self.ratio[1]), height
    else:
      w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w

  def random_map(self, record: dict, rng: np.random.Generator) -> dict:
    image = record["image"]
    _check_image(image, "RandomResizedCrop")
    top, left, h, w = self.window(*image.shape[:2], rng)
    return {**record, "image": _resize(image[top : top + h, left : left + w], self.size, self.size)}


class ResizeCenterCrop(grain.transforms.Map):
  """Resizes the shorter side to `resize` pixels (keeping the aspect ratio), then takes the centre `size` x `size`."""

  def __init__(self, resize: int = 256, size: int = 224):
    if size > resize:
      raise ValueError(f"ResizeCenterCrop: the crop ({size}) cannot exceed the resized shorter side ({resize}).")
    self.resize, self.size = resize, size

  def map(self, record: dict) -> dict:
    image = record["image"]
    _check_image(image, "ResizeCenterCrop")
    height, width = image.shape[:2]
    if height <= width:
      new_h, new_w = self.resize, int(self.resize * width / height)
    else:
      new_h, new_w = int(self.resize * height / width), self.resize
    image = _resize(image, new_h, new_w) if (new_h, new_w) != (height, width) else image
    top, left = int(round((new_h - self.size) / 2)), int(round((new_w - self.size) / 2))
    return {**record, "image": image[top : top + self.size, left : left + self.size]}


class Normalize(grain.transforms.Map):
  """uint8 pixels -> float32 in [0, 1] -> `(x - mean) / std` per channel (`to_float`)."""

  def __init__(self, mean=None, std=None):
    if (mean is None) != (std is None):
      raise ValueError("Normalize needs both mean and std, or neither.")
    self.normalization = None if mean is None else (tuple(mean), tuple(std))

  def map(self, record: dict) -> dict:
    return {**record, "image": to_float(np.asarray(record["image"]), self.normalization)}


def augmentation(name: str, *, size: int) -> tuple[tuple, tuple]:
  """`(train_transforms, eval_transforms)` of a named recipe producing `size` x `size` images.

  - "none": nothing (inputs are used as they are);
  - "cifar": random crop of `size` from the image zero-padded by 4, and horizontal flip (He et al., 2016a);
  - "imagenet": random-resized crop to `size` and horizontal flip for training; resize to `size * 8 / 7` (256 for
    224) and centre crop for evaluation.
  """
  if name == "none":
    return (), ()
  if name == "cifar":
    return (RandomCropWithPadding(size, 4), RandomHorizontalFlip()), ()
  if name == "imagenet":
    return (RandomResizedCrop(size), RandomHorizontalFlip()), (ResizeCenterCrop(round(size * 8 / 7), size),)
  raise ValueError(f"Unknown augmentation {name!r}; valid: 'none', 'cifar', 'imagenet'.")
