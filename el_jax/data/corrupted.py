"""The common-corruption test sets of Hendrycks & Dietterich (2019), read from their releases, with stand-ins.

Each set has the 15 corruption families of the benchmark (`FAMILIES`) and, in the releases that include them, the 4
extra ones (`EXTRA_FAMILIES`), each at severities 1-5; the papers report the accuracy averaged over the severities,
then over the families (HEM appendix A.1.2: "averaging performance over all the corruptions at all degrees of
intensity"). `open_set(name, data_dir)` gives a `CorruptedSet` whose `load(family, severity, count)` returns
`(uint8 images [N, H, W, C], int labels [N])`.

  name             release folder in data_dir   layout
  cifar10_c        CIFAR-10-C/                  `<family>.npy` uint8 [50000, 32, 32, 3]: severities 1..5 one after
  cifar100_c       CIFAR-100-C/                 the other, 10,000 test images each in the test set's order;
                                                `labels.npy` [50000]
  tiny_imagenet_c  Tiny-ImageNet-C/             `<family>/<severity>/<wnid>/*.JPEG`, 64 x 64 (10,000 a severity)
  imagenet_c       ImageNet-C/                  `<family>/<severity>/<wnid>/*.JPEG`, 224 x 224 (50,000 a severity);
                                                the release's per-group archives (noise.tar, blur.tar, ...) unpacked

Labels of the folder sets number the wnid folders in sorted order, ImageNet's class-index order (and that of Tiny
ImageNet's `wnids` sorted). With `count`, `load` reads the first `count` images of a severity for the array sets (the
test set's first `count`), `count` evenly spaced ones for the folder sets (whose files are sorted by class).
`synthetic:<name>` is a stand-in of the real shape: every family, uniform-noise images and labels.
"""

import dataclasses
import os

import numpy as np

from el_jax.data import image_files
from el_jax.data.synthetic import SHAPES

SEVERITIES = (1, 2, 3, 4, 5)
FAMILIES = (
  "gaussian_noise",
  "shot_noise",
  "impulse_noise",
  "defocus_blur",
  "glass_blur",
  "motion_blur",
  "zoom_blur",
  "snow",
  "frost",
  "fog",
  "brightness",
  "contrast",
  "elastic_transform",
  "pixelate",
  "jpeg_compression",
)
EXTRA_FAMILIES = ("speckle_noise", "gaussian_blur", "spatter", "saturate")
ALL_FAMILIES = FAMILIES + EXTRA_FAMILIES


@dataclasses.dataclass(frozen=True)
class SetInfo:
  """A corruption set: its release folder, download, in-distribution dataset (for the stand-in's shape) and size."""

  folder: str
  download: str
  dataset: str
  per_severity: int
  layout: str  # "arrays" or "folders"


SETS = {
  "cifar10_c": SetInfo(
    "CIFAR-10-C", "CIFAR-10-C.tar from zenodo.org/records/2535967, unpacked", "cifar10", 10_000, "arrays"
  ),
  "cifar100_c": SetInfo(
    "CIFAR-100-C", "CIFAR-100-C.tar from zenodo.org/records/3555552, unpacked", "cifar100", 10_000, "arrays"
  ),
  "tiny_imagenet_c": SetInfo(
    "Tiny-ImageNet-C",
    "Tiny-ImageNet-C.tar from zenodo.org/records/2536630, unpacked",
    "tiny_imagenet",
    10_000,
    "folders",
  ),
  "imagenet_c": SetInfo(
    "ImageNet-C",
    "the ImageNet-C archives (noise, blur, weather, digital, extra) from zenodo.org/records/2235448, "
    "unpacked into ImageNet-C/",
    "imagenet",
    50_000,
    "folders",
  ),
}


def names() -> list[str]:
  """The corruption set names (each also as `synthetic:<name>`)."""
  return list(SETS)


def info(name: str) -> SetInfo:
  """The `SetInfo` of `name` (with or without `synthetic:`); a ValueError naming the valid ones."""
  try:
    return SETS[name.removeprefix("synthetic:")]
  except KeyError:
    raise ValueError(
      f"Unknown corruption set {name!r}. Valid: {', '.join(SETS)} (each also as synthetic:<name>)."
    ) from None


def _check(family: str, severity: int, families) -> None:
  if family not in families:
    raise ValueError(f"No corruption family {family!r} here; valid: {', '.join(families)}.")
  if severity not in SEVERITIES:
    raise ValueError(f"Severity must be one of 1..5, got {severity}.")


def _rows(total: int, count: int | None, evenly: bool) -> np.ndarray:
  if count is None or count >= total:
    return np.arange(total)
  if count < 1:
    raise ValueError(f"count must be positive, got {count}.")
  return np.arange(count) * total // count if evenly else np.arange(count)


@dataclasses.dataclass(frozen=True)
class ArrayCorruptions:
  """CIFAR-10-C / CIFAR-100-C: `root/<family>.npy` (severities 1..5 one after the other) and `root/labels.npy`."""

  name: str
  root: str
  families: tuple

  def load(self, family: str, severity: int, count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    _check(family, severity, self.families)
    images = np.load(os.path.join(self.root, f"{family}.npy"), mmap_mode="r", allow_pickle=False)
    labels = np.load(os.path.join(self.root, "labels.npy"), allow_pickle=False)
    if images.ndim != 4 or images.dtype != np.uint8 or len(images) % len(SEVERITIES) or len(labels) != len(images):
      raise ValueError(
        f"{self.name}: {family}.npy must hold uint8 images [5 N, H, W, C] with as many labels in labels.npy; got "
        f"{images.dtype} {images.shape} and {len(labels)} labels."
      )
    per = len(images) // len(SEVERITIES)
    rows = (severity - 1) * per + _rows(per, count, evenly=False)
    return np.ascontiguousarray(images[rows]), labels[rows].astype(np.int32)


@dataclasses.dataclass(frozen=True)
class FolderCorruptions:
  """Tiny-ImageNet-C / ImageNet-C: `root/<family>/<severity>/<wnid>/*.JPEG`."""

  name: str
  root: str
  families: tuple

  def load(self, family: str, severity: int, count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    _check(family, severity, self.families)
    files = image_files.class_folders(os.path.join(self.root, family, str(severity)), f"{self.name}/{family}")
    rows = _rows(len(files), count, evenly=True)
    records = [files[int(i)] for i in rows]
    images = [r["image"] for r in records]
    if len({im.shape for im in images}) != 1:
      raise ValueError(
        f"{self.name}/{family}/{severity}: images of several sizes {sorted({im.shape for im in images})}."
      )
    return np.stack(images), np.asarray([r["label"] for r in records], np.int32)


@dataclasses.dataclass(frozen=True)
class SyntheticCorruptions:
  """A stand-in: `per_severity` uniform-noise images of the in-distribution shape for every family and severity."""

  name: str
  shape: tuple
  num_classes: int
  per_severity: int
  seed: int = 0
  families: tuple = ALL_FAMILIES

  def load(self, family: str, severity: int, count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    _check(family, severity, self.families)
    n = len(_rows(self.per_severity, count, evenly=False))
    rng = np.random.default_rng((self.seed, ALL_FAMILIES.index(family), severity))
    images = rng.integers(0, 256, (n, *self.shape), dtype=np.uint8)
    return images, rng.integers(0, self.num_classes, n).astype(np.int32)


def open_set(name: str, data_dir: str | None = None, *, seed: int = 0):
  """The corruption set `name` from `data_dir/<release folder>` (default data folder: `$TFDS_DATA_DIR`, else
  `~/tensorflow_datasets`); `synthetic:<name>` its stand-in. Its `families` are those of `ALL_FAMILIES` present.

  Raises:
    ValueError: for an unknown name.
    FileNotFoundError: when the release folder or every family in it is missing, saying what to download.
  """
  entry = info(name)
  if name.startswith("synthetic:"):
    shape, num_classes, _ = SHAPES[entry.dataset]
    return SyntheticCorruptions(name, shape, num_classes, entry.per_severity, seed)
  folder = data_dir or os.path.expanduser(os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets"))
  root = os.path.join(folder, entry.folder)
  present = ()
  if os.path.isdir(root):
    listing = set(os.listdir(root))
    if entry.layout == "arrays":
      present = tuple(f for f in ALL_FAMILIES if f"{f}.npy" in listing) if "labels.npy" in listing else ()
    else:
      present = tuple(f for f in ALL_FAMILIES if f in listing)
  if not present:
    raise FileNotFoundError(
      f"{name}: no {entry.folder} release with any corruption family in {folder}; get "
      f"{entry.download} into {folder}, or pass the folder that holds it"
    )
  cls = ArrayCorruptions if entry.layout == "arrays" else FolderCorruptions
  return cls(name, root, present)
