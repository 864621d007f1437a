"""el_jax.data.uci121 on tiny sets the tests write in the release's layout (Fernández-Delgado et al.'s folders)."""

import numpy as np
import pytest

from el_jax import data
from el_jax.data import uci121

# 10 examples, 2 features, 3 classes; row i has features (i, -i / 2) and class i % 3
ROWS = [(i, float(i), -i / 2, i % 3) for i in range(10)]
CONXUNTOS = [[0, 2, 4, 6, 8], [1, 3, 5, 7, 9]]
KFOLD = [
  [*range(0, k), *range(k + 3, 10)] if part == "train" else list(range(k, k + 3))
  for k in range(4)
  for part in ("train", "test")
]


def write_set(root, name="tiny", rows=ROWS, conxuntos=CONXUNTOS, kfold=KFOLD):
  folder = root / name
  folder.mkdir(parents=True)
  lines = ["\tf1\tf2\tclase"] + ["\t".join(str(v) for v in row) for row in rows]
  (folder / f"{name}_R.dat").write_text("\n".join(lines) + "\n")
  (folder / "conxuntos.dat").write_text("\n".join(" ".join(map(str, r)) for r in conxuntos) + "\n")
  (folder / "conxuntos_kfold.dat").write_text("\n".join(" ".join(map(str, r)) for r in kfold) + "\n")
  return root


@pytest.mark.parametrize(
  "split, rows",
  [("train", CONXUNTOS[0]), ("validation", CONXUNTOS[1]), ("fold0_train", KFOLD[0]), ("fold2_test", KFOLD[5])],
)
def test_splits_select_the_listed_rows(tmp_path, split, rows):
  source = data.load("uci121:tiny", split, data_dir=str(write_set(tmp_path)))
  np.testing.assert_array_equal(source.images, [[float(i), -i / 2] for i in rows])
  np.testing.assert_array_equal(source.labels, [i % 3 for i in rows])
  assert source.num_classes == 3 and source.input_shape == (2,) and source.images.dtype == np.float32


def test_number_of_classes_is_the_whole_files(tmp_path):
  # the validation rows hold classes 0 and 1 only; the file has 3
  rows = [(i, float(i), 0.0, 2 if i == 0 else i % 2) for i in range(10)]
  source = data.load("uci121:tiny", "validation", data_dir=str(write_set(tmp_path, rows=rows)))
  assert set(source.labels) == {1} and source.num_classes == 3


def test_missing_folder_files_and_data_dir_are_named(tmp_path):
  with pytest.raises(ValueError, match="needs data_dir.*conxuntos_kfold.dat.*--config.dataset.options.data_dir"):
    data.load("uci121:tiny", "train")
  with pytest.raises(FileNotFoundError, match="no folder .*abalone"):
    data.load("uci121:abalone", "train", data_dir=str(tmp_path))
  write_set(tmp_path)
  (tmp_path / "tiny" / "conxuntos_kfold.dat").unlink()
  with pytest.raises(FileNotFoundError, match="conxuntos_kfold.dat missing from"):
    data.load("uci121:tiny", "train", data_dir=str(tmp_path))


def test_malformed_files_are_named(tmp_path):
  write_set(tmp_path / "a", conxuntos=[[0, 1, 12], [3]])
  with pytest.raises(ValueError, match=r"row indices \[12\] outside \[0, 10\).*0-based"):
    data.load("uci121:tiny", "train", data_dir=str(tmp_path / "a"))
  write_set(tmp_path / "b", kfold=KFOLD[:6])
  with pytest.raises(ValueError, match="conxuntos_kfold.dat: expected 8 lines of row indices, found 6"):
    data.load("uci121:tiny", "fold0_test", data_dir=str(tmp_path / "b"))
  write_set(tmp_path / "c", rows=[(i, 0.5, 0.5, 0.5) for i in range(10)])
  with pytest.raises(ValueError, match="last column must hold the class"):
    data.load("uci121:tiny", "train", data_dir=str(tmp_path / "c"))
  with pytest.raises(ValueError, match="Unknown UCI-121 split 'test'.*fold3_test"):
    data.load("uci121:tiny", "test", data_dir=str(tmp_path / "a"))


def test_stand_in_has_its_documented_shape_and_is_deterministic():
  train = data.load("synthetic:uci121:abalone", "train")
  assert (len(train), train.input_shape, train.num_classes) == (96, (16,), 3)
  assert len(data.load("synthetic:uci121:abalone", "fold1_test")) == uci121.STAND_IN["rows"]["fold"]
  np.testing.assert_array_equal(train.images, data.load("synthetic:uci121:abalone", "train").images)
  with pytest.raises(ValueError, match="reads no files"):
    data.load("synthetic:uci121:abalone", "train", data_dir="/x")
