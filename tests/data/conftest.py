import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The tiny TFDS dataset of tests/data/tiny_tfds.py: examples per split, and the pixel value of each split's example 0.
TINY_SIZES = {"train": 20, "test": 7}
TINY_OFFSETS = {"train": 0, "test": 100}


@pytest.fixture(scope="session")
def tiny_tfds_dir(tmp_path_factory):
  """A TFDS data folder holding `tiny_images` (see tests/data/tiny_tfds.py) in the array_record format."""
  folder = tmp_path_factory.mktemp("tfds")
  subprocess.run([sys.executable, "-m", "tests.data.tiny_tfds", str(folder)], cwd=ROOT, check=True, capture_output=True)
  return folder
