"""Per-example transforms as grain operations on records `{"image": [H, W, C] array, "label": int}`.

Random ones are `grain.transforms.RandomMap`s: `random_map(record, rng)` draws only from the `numpy` Generator it is
given, so a pipeline that seeds that Generator from `(seed, epoch, example index)` makes the augmented batch of each
step a pure function of the seed and the step. Deterministic ones are `grain.transforms.Map`s.

- `RandomCropWithPadding(32, 4)` and `RandomHorizontalFlip()`: the CIFAR augmentation of He et al. (2016a).
- `RandomResizedCrop(224)` for ImageNet training and `ResizeCenterCrop(256, 224)` for evaluation, with
  torchvision's sampling rule and bilinear resizing (Szegedy et al., 2015).
- `Normalize(mean, std)`: pixels to float32 in [0, 1], then standardised per channel.
- `RandomErasing()` (Zhong et al., 2020) and `ColorJitter(0.4, 0.4, 0.4)`: the extra regularisation of the mixing
  paper's Table 6.

`augmentation(name, size=...)` gives the recipes of the papers by name ("none", "cifar", "imagenet",
"cifar_random_erasing", "cifar_color_jitter").
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


def _pixel_range(image: np.ndarray) -> float:
  """The top of the pixel scale: 255 for uint8 pixels, 1 for floats in [0, 1]."""
  return 255.0 if image.dtype == np.uint8 else 1.0


class RandomErasing(grain.transforms.RandomMap):
  r"""With probability `p`, replaces a random rectangle by random pixel values (Zhong et al., 2020, Algorithm 1).

  The rectangle has area :math:`S_e = s\,HW`, :math:`s \sim U(s_l, s_h)`, and aspect ratio
  :math:`r_e \sim U(r_1, 1 / r_1)`, so :math:`H_e = \sqrt{S_e r_e}`, :math:`W_e = \sqrt{S_e / r_e}` (rounded);
  its top-left corner is uniform over the image, and a draw that does not fit is redrawn (at most `attempts` times;
  the image is left unchanged if none fits). Every erased pixel and channel gets an independent uniform value over
  the pixel range ([0, 255] for uint8, [0, 1) for floats). Zhong et al.'s setting: `p=0.5`, `area=(0.02, 0.4)`,
  `r_1 = 0.3` (aspect ratio in [0.3, 3.33]).
  """

  def __init__(self, p: float = 0.5, area=(0.02, 0.4), min_aspect: float = 0.3, attempts: int = 100):
    if not 0 <= p <= 1:
      raise ValueError(f"RandomErasing probability must lie in [0, 1], got {p}.")
    if not 0 < area[0] <= area[1] <= 1:
      raise ValueError(f"RandomErasing needs 0 < area[0] <= area[1] <= 1 (fractions of the image), got {area}.")
    if not 0 < min_aspect <= 1:
      raise ValueError(f"RandomErasing needs min_aspect in (0, 1] (aspect ratios span [r1, 1/r1]), got {min_aspect}.")
    self.p, self.area, self.min_aspect, self.attempts = p, tuple(area), min_aspect, attempts

  def window(self, height: int, width: int, rng: np.random.Generator) -> tuple[int, int, int, int] | None:
    """`(top, left, h, w)` of the rectangle to erase, or None if no draw fitted."""
    for _ in range(self.attempts):
      target = rng.uniform(*self.area) * height * width
      aspect = rng.uniform(self.min_aspect, 1.0 / self.min_aspect)
      h, w = round(math.sqrt(target * aspect)), round(math.sqrt(target / aspect))
      top, left = int(rng.integers(0, height)), int(rng.integers(0, width))
      if 0 < h and 0 < w and top + h <= height and left + w <= width:
        return top, left, h, w
    return None

  def random_map(self, record: dict, rng: np.random.Generator) -> dict:
    image = record["image"]
    _check_image(image, "RandomErasing")
    if rng.random() >= self.p:
      return record
    window = self.window(*image.shape[:2], rng)
    if window is None:
      return record
    top, left, h, w = window
    shape = (h, w, image.shape[2])
    if image.dtype == np.uint8:
      noise = rng.integers(0, 256, shape, dtype=np.uint8)
    else:
      noise = rng.random(shape).astype(image.dtype)
    erased = image.copy()
    erased[top : top + h, left : left + w] = noise
    return {**record, "image": erased}


# ITU-R 601-2 luma, the grey level PIL and torchvision use
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


class ColorJitter(grain.transforms.RandomMap):
  r"""Random brightness, contrast and saturation, applied in a random order, as torchvision's `ColorJitter`.

  Each factor is drawn uniformly from :math:`[1 - s, 1 + s]` for its strength `s` (0 turns that change off) and
  applied to the pixels `x` (floats on the pixel scale, clipped to it after each change):
  brightness :math:`f x`; contrast :math:`f x + (1 - f)\,\bar g`, with :math:`\bar g` the mean grey level of the
  image; saturation :math:`f x + (1 - f)\,g`, with :math:`g` each pixel's grey level (ITU-R 601-2 luma, RGB only).
  The mixing paper (Table 6) names colour jitter without its strengths: 0.4 each, torchvision's usual setting.
  """

  def __init__(self, brightness: float = 0.4, contrast: float = 0.4, saturation: float = 0.4):
    for name, value in (("brightness", brightness), ("contrast", contrast), ("saturation", saturation)):
      if not 0 <= value <= 1:
        raise ValueError(f"ColorJitter {name} must lie in [0, 1] (factors drawn from [1 - s, 1 + s]), got {value}.")
    self.strengths = {"brightness": brightness, "contrast": contrast, "saturation": saturation}

  def draw(self, rng: np.random.Generator) -> list[tuple[str, float]]:
    """The changes to make, in order: `(name, factor)` for each change with a non-zero strength."""
    order = [list(self.strengths)[i] for i in rng.permutation(3)]
    return [
      (name, float(rng.uniform(1 - self.strengths[name], 1 + self.strengths[name])))
      for name in order
      if self.strengths[name]
    ]

  @staticmethod
  def apply(image: np.ndarray, changes) -> np.ndarray:
    """`image` after the `changes` of `draw`, in its own dtype (uint8 pixels rounded)."""
    top = _pixel_range(image)
    x = image.astype(np.float32)
    for name, factor in changes:
      if name == "brightness":
        blend = 0.0
      elif image.shape[2] == 1:
        blend = x if name == "saturation" else x.mean()
      elif image.shape[2] == 3:
        grey = (x @ _LUMA)[..., None]
        blend = grey.mean() if name == "contrast" else grey
      else:
        raise ValueError(f"ColorJitter needs 1 or 3 channels for {name}, got {image.shape[2]}.")
      x = np.clip(factor * x + (1.0 - factor) * blend, 0.0, top)
    return np.round(x).astype(np.uint8) if image.dtype == np.uint8 else x.astype(image.dtype)

  def random_map(self, record: dict, rng: np.random.Generator) -> dict:
    _check_image(record["image"], "ColorJitter")
    return {**record, "image": self.apply(record["image"], self.draw(rng))}


AUGMENTATIONS = ("none", "cifar", "imagenet", "cifar_random_erasing", "cifar_color_jitter")


def augmentation(name: str, *, size: int) -> tuple[tuple, tuple]:
  """`(train_transforms, eval_transforms)` of a named recipe producing `size` x `size` images.

  - "none": nothing (inputs are used as they are);
  - "cifar": random crop of `size` from the image zero-padded by 4, and horizontal flip (He et al., 2016a);
  - "imagenet": random-resized crop to `size` and horizontal flip for training; resize to `size * 8 / 7` (256 for
    224) and centre crop for evaluation;
  - "cifar_random_erasing": "cifar", then `RandomErasing()` (mixing paper Table 6);
  - "cifar_color_jitter": `ColorJitter()`, then "cifar" (mixing paper Table 6).
  """
  cifar = (RandomCropWithPadding(size, 4), RandomHorizontalFlip())
  if name == "none":
    return (), ()
  if name == "cifar":
    return cifar, ()
  if name == "imagenet":
    return (RandomResizedCrop(size), RandomHorizontalFlip()), (ResizeCenterCrop(round(size * 8 / 7), size),)
  if name == "cifar_random_erasing":
    return (*cifar, RandomErasing()), ()
  if name == "cifar_color_jitter":
    return (ColorJitter(), *cifar), ()
  raise ValueError(f"Unknown augmentation {name!r}; valid: {', '.join(map(repr, AUGMENTATIONS))}.")
