import json
import os
import subprocess
import sys

import numpy as np
import pytest

from el_jax import data
from el_jax.data import pipeline, tfds_source
from tests.data.conftest import ROOT
from tests.data.conftest import TINY_OFFSETS as OFFSETS
from tests.data.conftest import TINY_SIZES as SIZES

# Runs in a fresh interpreter: reads the tiny dataset through `data.load` (the path of "cifar10" and "imagenet"),
# batches it, and reports what it saw and whether TensorFlow was imported on the way.
_READER = """
import json, sys
import numpy as np
from el_jax import data
from el_jax.data import pipeline, transforms
folder = sys.argv[1]
train = data.load("tfds:tiny_images", "train", data_dir=folder)
test = data.load("tfds:tiny_images", "test", data_dir=folder)
records = [train[i] for i in range(len(train))]
ds = pipeline.train_dataset(train, batch_size=8, seed=3, num_epochs=2, augment=[transforms.RandomHorizontalFlip()])
steps = [ds[s] for s in range(len(ds))]
evals = list(pipeline.eval_batches(test, batch_size=4))
print(json.dumps({
  "len": [len(train), len(test)],
  "num_classes": train.num_classes,
  "input_shape": list(train.input_shape),
  "pixels": [int(r["image"][0, 0, 0]) for r in records],
  "labels": [int(r["label"]) for r in records],
  "shapes": sorted({tuple(r["image"].shape) for r in records}),
  "dtypes": sorted({str(r["image"].dtype) for r in records}),
  "step_pixels": [np.rint(b["image"][:, 0, 0, 0] * 255).astype(int).tolist() for b in steps],
  "step_labels": [b["label"].tolist() for b in steps],
  "eval_pixels": [np.rint(b["image"][:, 0, 0, 0] * 255).astype(int).tolist() for b in evals],
  "eval_masks": [b["mask"].tolist() for b in evals],
  "tensorflow_imported": "tensorflow" in sys.modules,
}))
"""


@pytest.fixture(scope="module")
def reader_output(tiny_tfds_dir):
  out = subprocess.run(
    [sys.executable, "-c", _READER, str(tiny_tfds_dir)], cwd=ROOT, check=True, capture_output=True, text=True
  )
  return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_reads_array_record_without_tensorflow(reader_output):
  out = reader_output
  assert out["tensorflow_imported"] is False
  assert out["len"] == [SIZES["train"], SIZES["test"]]
  assert out["num_classes"] == 3 and out["input_shape"] == [8, 8, 3]
  assert out["shapes"] == [[8, 8, 3]] and out["dtypes"] == ["uint8"]
  # Every record is there once, and its label is the one written with its image.
  assert sorted(out["pixels"]) == list(range(SIZES["train"]))
  assert [p % 3 for p in out["pixels"]] == out["labels"]


@pytest.mark.slow
def test_record_source_batches_like_in_memory_data(reader_output):
  out = reader_output
  assert len(out["step_pixels"]) == 2 * (SIZES["train"] // 8)
  for pixels, labels in zip(out["step_pixels"], out["step_labels"], strict=True):
    assert len(set(pixels)) == 8 and [p % 3 for p in pixels] == labels
  # Evaluation sees every test record once, padded and masked.
  seen = [
    p for ps, ms in zip(out["eval_pixels"], out["eval_masks"], strict=True) for p, m in zip(ps, ms, strict=True) if m
  ]
  assert sorted(seen) == [OFFSETS["test"] + i for i in range(SIZES["test"])]
  assert [sum(m) for m in out["eval_masks"]] == [4, 3]


@pytest.mark.slow  # builds the tiny dataset (about 15 s)
def test_take_and_index_errors(tiny_tfds_dir):
  source = data.load("tfds:tiny_images", "train", data_dir=str(tiny_tfds_dir))
  assert isinstance(source, data.Source)
  taken = source.take(5)
  assert len(taken) == 5 and len(source) == SIZES["train"]
  np.testing.assert_array_equal(taken[4]["image"], source[4]["image"])
  with pytest.raises(IndexError, match="out of range"):
    taken[5]
  with pytest.raises(ValueError, match="cannot take 30"):
    source.take(30)


@pytest.mark.slow  # builds the tiny dataset (about 15 s)
def test_per_process_sources_hold_disjoint_shares(tiny_tfds_dir, monkeypatch):
  shares, whole = [], []
  for index in range(2):
    monkeypatch.setattr(tfds_source.jax, "process_count", lambda: 2)
    monkeypatch.setattr(tfds_source.jax, "process_index", lambda index=index: index)
    source = data.load("tfds:tiny_images", "train", data_dir=str(tiny_tfds_dir), per_process=True)
    shares.append({int(source[i]["image"][0, 0, 0]) for i in range(len(source))})
    # By default (as the trainer uses it) every process addresses the whole split.
    whole.append(len(data.load("tfds:tiny_images", "train", data_dir=str(tiny_tfds_dir))))
  assert [len(s) for s in shares] == [SIZES["train"] // 2] * 2
  assert shares[0].isdisjoint(shares[1]) and shares[0] | shares[1] == set(range(SIZES["train"]))
  assert whole == [SIZES["train"]] * 2


def test_missing_dataset_names_the_command_that_prepares_it(tmp_path):
  with pytest.raises(FileNotFoundError, match=r"not prepared.*tfds build cifar10 --file_format=array_record"):
    data.load("cifar10", "train", data_dir=str(tmp_path))
  with pytest.raises(FileNotFoundError, match="neither registered nor found"):
    data.load("tfds:no_such_dataset_anywhere", "train", data_dir=str(tmp_path))


@pytest.mark.slow  # builds the tiny dataset (about 15 s)
def test_corrupt_record_file_is_a_clear_error(tiny_tfds_dir, tmp_path):
  import shutil

  folder = tmp_path / "copy"
  shutil.copytree(tiny_tfds_dir, folder)
  (shard,) = [os.path.join(root, f) for root, _, files in os.walk(folder) for f in files if "train.array_record" in f]
  with open(shard, "r+b") as f:
    f.truncate(os.path.getsize(shard) // 2)
  with pytest.raises(OSError, match="corrupt or truncated"):
    source = data.load("tfds:tiny_images", "train", data_dir=str(folder))
    for i in range(len(source)):
      source[i]


def test_tfds_normalization_statistics():
  assert data.normalization("cifar10") == ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))
  assert data.normalization("imagenet")[0] == (0.485, 0.456, 0.406)
  with pytest.raises(ValueError, match="No pixel statistics"):
    data.normalization("tfds:tiny_images")


def test_pipeline_rejects_unbatchable_records():
  class Ragged:
    name, num_classes, input_shape = "ragged", 2, (None, None, 3)

    def __len__(self):
      return 4

    def __getitem__(self, i):
      return {"image": np.zeros((4 + i, 4, 3), np.uint8), "label": 0}

  with pytest.raises(ValueError, match="cannot be batched; add a transform that crops"):
    pipeline.train_dataset(Ragged(), batch_size=2, seed=0, num_epochs=1)[0]
