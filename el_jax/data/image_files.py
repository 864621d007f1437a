"""Image sets released as folders of image files, read on access: `ImageFiles` and the readers of the releases the
robustness evaluation uses (`el_jax.data.ood_sources`), each in the layout its archive unpacks to:

  imagenet_o(root)        ImageNet-O (Hendrycks et al., 2021): `imagenet-o/<wnid>/*.jpg`, 2,000 images of 200
                          classes (a README file at the top is ignored)
  dtd(root, split)        Describable Textures (Cimpoi et al., 2014): `dtd/images/<class>/*.jpg`, 5,640 images of 47
                          classes; `split` "test" (default), "train" or "val" of fold 1 reads the list
                          `dtd/labels/<split>1.txt` (lines `<class>/<file>.jpg`), "all" every image
  inaturalist2021(root)   iNaturalist 2021 (Van Horn et al., 2021) validation set: `val/<class folder>/*.jpg`, 100,000
                          images of 10,000 species, the folder names `<5-digit id>_<kingdom>_..._<species>`
  omniglot(root)          Omniglot (Lake et al., 2015) evaluation ("test") set: `images_evaluation/<alphabet>/
                          <character>/*.png`, 13,180 images of 659 characters

Records are `{"image": uint8 [H, W, 3] (Omniglot [105, 105, 1]), "label": int}`, decoded with PIL; labels number the
class folders in sorted order (for ImageNet's wnids, the order of ImageNet's class indices). Sizes vary
(`input_shape` has None sides); `el_jax.data.conform` brings them to a model's input shape.
"""

import dataclasses
import os

import numpy as np
from PIL import Image

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


@dataclasses.dataclass(frozen=True, eq=False)
class ImageFiles:
  """Labelled image files: `source[i]` is `{"image": uint8 [H, W, C], "label": int}` read from `paths[i]`.

  Attributes:
    name: for messages, e.g. "imagenet_o".
    paths: the image files.
    labels: int32 `[N]`, the class of each file.
    classes: the class names (folder names), `labels` indexing them.
    channels: 3 (RGB) or 1 (grey): what every image is converted to.
  """

  name: str
  paths: tuple
  labels: np.ndarray
  classes: tuple
  channels: int = 3

  @property
  def num_classes(self) -> int:
    return len(self.classes)

  @property
  def input_shape(self) -> tuple:
    return (None, None, self.channels)

  def __len__(self) -> int:
    return len(self.paths)

  def __getitem__(self, index: int) -> dict:
    if not 0 <= index < len(self):
      raise IndexError(f"{self.name}: index {index} out of range [0, {len(self)}).")
    path = self.paths[index]
    try:
      with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB" if self.channels == 3 else "L"))
    except OSError as e:
      raise OSError(
        f"{self.name}: cannot decode {path}: {e}. The file may be truncated; unpack the release again."
      ) from e
    return {"image": pixels.reshape(*pixels.shape[:2], self.channels), "label": int(self.labels[index])}

  def take(self, count: int | None) -> "ImageFiles":
    """The first `count` files (all of them when `count` is None)."""
    if count is None:
      return self
    if not 0 < count <= len(self):
      raise ValueError(f"{self.name}: cannot take {count} of {len(self)} images.")
    return dataclasses.replace(self, paths=self.paths[:count], labels=self.labels[:count])


def _require_dir(root: str, what: str) -> None:
  if not os.path.isdir(root):
    raise FileNotFoundError(f"{what}: no folder {root}.")


def _images_in(folder: str) -> list[str]:
  return sorted(f for f in os.listdir(folder) if f.lower().endswith(IMAGE_SUFFIXES))


def class_folders(root: str, name: str, *, depth: int = 1, channels: int = 3) -> ImageFiles:
  """The images of `root/<class>/<image>` (`depth` 1) or `root/<group>/<class>/<image>` (`depth` 2, the class named
  `<group>/<class>`), classes in sorted order, images sorted within each class.

  Raises:
    FileNotFoundError: if `root` is missing or holds no images at that depth.
  """
  _require_dir(root, name)
  classes = [""]
  for _ in range(depth):
    classes = [
      os.path.join(parent, child)
      for parent in classes
      for child in sorted(os.listdir(os.path.join(root, parent)))
      if os.path.isdir(os.path.join(root, parent, child))
    ]
  paths, labels, kept = [], [], []
  for cls in classes:
    files = _images_in(os.path.join(root, cls))
    if not files:
      continue
    paths += [os.path.join(root, cls, f) for f in files]
    labels += [len(kept)] * len(files)
    kept.append(cls.replace(os.sep, "/"))
  if not paths:
    raise FileNotFoundError(f"{name}: no images ({', '.join(IMAGE_SUFFIXES)}) in class folders {depth} deep in {root}.")
  return ImageFiles(name, tuple(paths), np.asarray(labels, np.int32), tuple(kept), channels)


def imagenet_o(root: str) -> ImageFiles:
  """ImageNet-O from its release folder `root` (`imagenet-o/`): `<wnid>/*.jpg`."""
  return class_folders(root, "imagenet_o")


def inaturalist2021(root: str) -> ImageFiles:
  """The iNaturalist 2021 validation set from its release folder `root` (`val/`): `<class folder>/*.jpg`."""
  return class_folders(root, "inaturalist2021")


def omniglot(root: str) -> ImageFiles:
  """Omniglot's evaluation set from its release folder `root` (`images_evaluation/`): `<alphabet>/<character>/*.png`,
  read as grey images `[105, 105, 1]`."""
  return class_folders(root, "omniglot", depth=2, channels=1)


DTD_SPLITS = ("train", "val", "test", "all")


def dtd(root: str, split: str = "test", fold: int = 1) -> ImageFiles:
  """The Describable Textures Dataset from its release folder `root` (`dtd/`): `images/<class>/*.jpg`; `split`
  ("train", "val", "test" of fold `fold` 1..10, or "all") as listed in `labels/<split><fold>.txt`."""
  if split not in DTD_SPLITS:
    raise ValueError(f"dtd has no split {split!r}; valid: {', '.join(DTD_SPLITS)}.")
  every = class_folders(os.path.join(root, "images"), "dtd")
  if split == "all":
    return every
  listing = os.path.join(root, "labels", f"{split}{fold}.txt")
  if not os.path.isfile(listing):
    raise FileNotFoundError(f"dtd: no split list {listing}; the release has labels/{split}1..10.txt.")
  index = {
    f"{every.classes[label]}/{os.path.basename(path)}": i
    for i, (path, label) in enumerate(zip(every.paths, every.labels, strict=True))
  }
  with open(listing) as f:
    wanted = [line.strip() for line in f if line.strip()]
  missing = [w for w in wanted if w not in index]
  if missing:
    raise FileNotFoundError(
      f"dtd: {len(missing)} image(s) listed in {listing} are not in {root}/images, e.g. {missing[0]}."
    )
  rows = [index[w] for w in wanted]
  return dataclasses.replace(
    every, name=f"dtd/{split}{fold}", paths=tuple(every.paths[i] for i in rows), labels=every.labels[rows]
  )
