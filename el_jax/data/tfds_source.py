"""TFDS datasets by name, read as random-access array-record sources without TensorFlow.

`TfdsSource("cifar10", "train", data_dir=...)` opens a dataset prepared in the array_record file format with
`tfds.builder(...).as_data_source(...)` (the machinery behind `tfds.data_source`); records are decoded with numpy
and PIL, and TensorFlow is never imported. Nothing is held in memory: ImageNet reads one record at a time.
With several JAX processes, each reads its own contiguous part of the split (`tfds.even_splits`).

Preparing a dataset needs TensorFlow once, on any machine:
`tfds build cifar10 --file_format=array_record --data_dir=DIR`.
"""

import os

import jax

from el_jax import _extras

# Per-channel pixel mean and standard deviation of the training split on the [0, 1] scale, by TFDS name.
NORMALIZATION = {
  "mnist": ((0.1307,), (0.3081,)),
  "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
  "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
  "imagenet2012": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}


def _build_hint(name: str, data_dir) -> str:
  folder = data_dir or os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")
  return (
    f"Prepare it once (this step needs `pip install tensorflow`) with "
    f"`tfds build {name} --file_format=array_record --data_dir={folder}`, or pass data_dir= where it is."
  )


class TfdsSource:
  """Split `split` of TFDS dataset `name` from `data_dir`: `source[i]` is `{"image": uint8 [H, W, C], "label"}`.

  Args:
    name: the TFDS name (e.g. "cifar10", "imagenet2012"), optionally with a version ("cifar10:3.0.2").
    split: a TFDS split expression ("train", "test", "train[:90%]").
    data_dir: the TFDS data folder (default: `$TFDS_DATA_DIR`, else `~/tensorflow_datasets`).
    per_process: with several JAX processes, make this source only this process's even share of the split. The
      trainer leaves it off: every process addresses the whole split and reads just the rows of each batch that
      its devices hold (`pipeline.train_dataset(rows=...)`).
    image_key, label_key: the feature names of the input and the label.

  Raises:
    FileNotFoundError: if the dataset is not prepared in `data_dir`, with the command that prepares it.
    ValueError: if it is prepared in another file format than array_record, or lacks the features.
  """

  def __init__(
    self,
    name: str,
    split: str,
    *,
    data_dir: str | None = None,
    per_process: bool = False,
    image_key: str = "image",
    label_key: str = "label",
  ):
    # imported here: it is slow to import and only TFDS names need it
    tfds = _extras.load("tensorflow_datasets", "data", f"Reading the TFDS dataset {name!r}")

    try:
      builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError as e:
      raise FileNotFoundError(f"TFDS dataset {name!r} is neither registered nor found in {data_dir}. {e}") from None
    if not builder.is_prepared():
      raise FileNotFoundError(
        f"TFDS dataset {name!r} is not prepared in {builder.data_dir}. {_build_hint(name, data_dir)}"
      )
    file_format = str(builder.info.file_format.value if builder.info.file_format else "tfrecord")
    if file_format != "array_record":
      raise ValueError(
        f"TFDS dataset {name!r} in {builder.data_dir} is stored as {file_format}; random access needs array_record. "
        f"{_build_hint(name, data_dir)}"
      )
    features = builder.info.features
    for key in (image_key, label_key):
      if key not in features:
        raise ValueError(f"TFDS dataset {name!r} has no feature {key!r}; its features are {sorted(features)}.")
    if per_process and jax.process_count() > 1:
      split = tfds.even_splits(split, n=jax.process_count())[jax.process_index()]
    self._source = builder.as_data_source(split=split)
    self._image_key, self._label_key = image_key, label_key
    self.name = f"{name}/{split}"
    self.num_classes = int(features[label_key].num_classes)
    self._input_shape = tuple(features[image_key].shape)
    self.tfds_name, self.split, self.data_dir = name, split, data_dir
    self._stop = len(self._source)

  def __len__(self) -> int:
    return self._stop

  @property
  def input_shape(self) -> tuple:
    """The image shape; `None` sides where images vary in size (e.g. ImageNet)."""
    return self._input_shape

  def __getitem__(self, index: int) -> dict:
    if not 0 <= index < self._stop:
      raise IndexError(f"{self.name}: index {index} out of range [0, {self._stop}).")
    try:
      record = self._source[index]
    except Exception as e:
      raise OSError(
        f"{self.name}: cannot read record {index} from {self.data_dir}: {e}. The files may be corrupt or "
        f"truncated; {_build_hint(self.tfds_name, self.data_dir)}"
      ) from e
    return {"image": record[self._image_key], "label": int(record[self._label_key])}

  def take(self, count: int | None) -> "TfdsSource":
    """The first `count` records (all of them when `count` is None)."""
    if count is None:
      return self
    if not 0 < count <= len(self):
      raise ValueError(f"{self.name}: cannot take {count} of {len(self)} examples.")
    taken = object.__new__(TfdsSource)
    taken.__dict__.update(self.__dict__)
    taken._stop = count
    return taken
