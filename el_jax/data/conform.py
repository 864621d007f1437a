"""Converting images of one data set to the input shape of a model trained on another (an OOD or corrupted set to the
in-distribution test images' `[H, W, C]`), keeping uint8 pixels.

`conform(images, shape, resize=None)` maps each image `[h, w, c]` to `shape = (H, W, C)` in two steps:

1. channels: grey to colour repeats the channel (`R = G = B = L`); colour to grey is the ITU-R 601-2 luma
   `L = (299 R + 587 G + 114 B) / 1000`, rounded (PIL's `convert("L")`); an alpha channel is dropped first;
2. size: if `(h, w) != (H, W)`, the shorter side is resized to `resize` (default: `H`) with PIL's antialiased
   bilinear filter, keeping the aspect ratio, and the centre `H x W` is cut out (`transforms.ResizeCenterCrop`, the
   ImageNet evaluation transform). ImageNet-scale sets use `resize = round(H * 8 / 7)` (256 for 224), as the
   in-distribution test images are; smaller sets `resize = H`, so the whole shorter side is kept.

The HEM paper (appendix A.1.2) names the OOD sets but not how they were brought to the in-distribution shape; this is
the usual choice (e.g. Omniglot 105 x 105 x 3 -> 28 x 28 x 1 for MNIST; Textures -> 32 x 32 x 3 for CIFAR).
"""

import numpy as np
from PIL import Image

from el_jax.data import transforms


def _channels(image: np.ndarray, channels: int) -> np.ndarray:
  have = image.shape[-1]
  if have == 4:  # RGBA (PNG releases): the alpha channel is not part of the picture
    image, have = image[..., :3], 3
  if have == channels:
    return image
  if have == 1 and channels == 3:
    return np.repeat(image, 3, axis=-1)
  if have == 3 and channels == 1:
    return np.asarray(Image.fromarray(np.ascontiguousarray(image)).convert("L"))[..., None]
  raise ValueError(f"cannot convert images of {have} channels to {channels}; only 1 <-> 3 (and RGBA -> RGB).")


def conform_image(image: np.ndarray, shape: tuple, *, resize: int | None = None) -> np.ndarray:
  """One uint8 image `[h, w, c]` (or `[h, w]`) as uint8 `shape = (H, W, C)` (see the module docstring)."""
  image = np.asarray(image)
  if image.ndim == 2:
    image = image[..., None]
  if image.dtype != np.uint8 or image.ndim != 3:
    raise ValueError(f"conform needs uint8 images [H, W, C], got {image.dtype} {image.shape}.")
  height, width, channels = (int(s) for s in shape)
  if height != width:
    raise ValueError(f"conform makes square images; the target shape {tuple(shape)} is not square.")
  image = _channels(image, channels)
  if image.shape[:2] != (height, width):
    resize = height if resize is None else int(resize)
    image = transforms.ResizeCenterCrop(resize, height).map({"image": image})["image"]
  return np.ascontiguousarray(image)


def conform(images, shape: tuple, *, resize: int | None = None) -> np.ndarray:
  """uint8 `[N, H, W, C]` of `images` (an array `[N, h, w, c]` or a sequence of images of any sizes) brought to
  `shape = (H, W, C)` one by one (`conform_image`)."""
  shape = tuple(int(s) for s in shape)
  if isinstance(images, np.ndarray) and images.ndim == 4 and images.shape[1:] == shape:
    if images.dtype != np.uint8:
      raise ValueError(f"conform needs uint8 images, got {images.dtype}.")
    return images
  out = np.empty((len(images), *shape), np.uint8)
  for i, image in enumerate(images):
    out[i] = conform_image(image, shape, resize=resize)
  return out
