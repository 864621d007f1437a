"""A tiny TFDS dataset written offline as array_record, without TensorFlow: `python -m tests.data.tiny_tfds DIR`.

Example `i` of a split is an 8x8x3 PNG image filled with the value `i` (train) or `100 + i` (test) and label `i % 3`,
so a reader can check that every record's label matches its image.
"""

import io
import sys

import numpy as np
import tensorflow_datasets as tfds
from PIL import Image

from tests.data.conftest import TINY_OFFSETS as OFFSETS
from tests.data.conftest import TINY_SIZES as SIZES


def _png(array: np.ndarray) -> io.BytesIO:
  buffer = io.BytesIO()
  Image.fromarray(array).save(buffer, format="PNG")
  buffer.seek(0)
  return buffer


class TinyImages(tfds.core.GeneratorBasedBuilder):
  VERSION = tfds.core.Version("1.0.0")

  def _info(self):
    features = tfds.features.FeaturesDict(
      {"image": tfds.features.Image(shape=(8, 8, 3)), "label": tfds.features.ClassLabel(num_classes=3)}
    )
    return tfds.core.DatasetInfo(builder=self, features=features)

  def _split_generators(self, dl_manager):
    return {split: self._generate_examples(split) for split in SIZES}

  def _generate_examples(self, split):
    for i in range(SIZES[split]):
      yield i, {"image": _png(np.full((8, 8, 3), OFFSETS[split] + i, np.uint8)), "label": i % 3}


def build(data_dir: str) -> None:
  TinyImages(data_dir=data_dir, file_format="array_record").download_and_prepare()


if __name__ == "__main__":
  build(sys.argv[1])
