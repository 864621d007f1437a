import numpy as np
import pytest

from el_jax.data import ArrayDataset, pipeline


def _dataset(n=50, num_classes=5):
  images = np.arange(n, dtype=np.uint8).reshape(n, 1, 1, 1) * np.ones((1, 2, 2, 1), np.uint8)
  return ArrayDataset(images, np.arange(n, dtype=np.int32) % num_classes, num_classes, name="toy")


def _example_ids(batch):
  return np.rint(batch["image"][:, 0, 0, 0] * 255).astype(int).tolist()


def test_each_epoch_is_a_fresh_permutation_without_repeats():
  data = _dataset(50)
  ds = pipeline.train_dataset(data, batch_size=8, seed=3, num_epochs=3)
  spe = pipeline.steps_per_epoch(50, 8)
  assert spe == 6 and len(ds) == 18
  epochs = [sum((_example_ids(ds[e * spe + i]) for i in range(spe)), []) for e in range(3)]
  for ids in epochs:
    assert len(ids) == 48 and len(set(ids)) == 48  # 2 examples dropped per epoch, none repeated
  assert epochs[0] != epochs[1] != epochs[2]


def test_pixels_scaled_and_labels_match_images():
  data = _dataset(50)
  batch = pipeline.train_dataset(data, batch_size=8, seed=0, num_epochs=1)[2]
  assert batch["image"].dtype == np.float32 and batch["image"].max() <= 1.0
  np.testing.assert_array_equal(np.array(_example_ids(batch)) % 5, batch["label"])


def test_same_seed_same_order_and_resume_from_any_step():
  data = _dataset(50)
  a = pipeline.train_dataset(data, batch_size=8, seed=1, num_epochs=2)
  b = pipeline.train_dataset(data, batch_size=8, seed=1, num_epochs=2)
  full = [_example_ids(x) for x in pipeline.train_batches(a)]
  resumed = [_example_ids(x) for x in pipeline.train_batches(b, start_step=7)]
  assert len(full) == 12 and resumed == full[7:]
  c = pipeline.train_dataset(data, batch_size=8, seed=2, num_epochs=1)
  assert _example_ids(c[0]) != full[0]


def test_eval_batches_cover_every_example_once_with_mask():
  data = _dataset(23)
  batches = list(pipeline.eval_batches(data, batch_size=10))
  assert [len(b["label"]) for b in batches] == [10, 10, 10]
  assert [int(b["mask"].sum()) for b in batches] == [10, 10, 3]
  ids = sum((np.array(_example_ids(b))[b["mask"]].tolist() for b in batches), [])
  assert ids == list(range(23))


def test_batch_larger_than_dataset_is_an_error():
  with pytest.raises(ValueError, match="exceeds the 5 training examples"):
    pipeline.train_dataset(_dataset(5), batch_size=8, seed=0, num_epochs=1)


def test_array_dataset_validates():
  with pytest.raises(ValueError, match="3 images but 2 labels"):
    ArrayDataset(np.zeros((3, 2, 2, 1)), np.zeros(2, np.int32), 2)
  with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"):
    ArrayDataset(np.zeros((2, 2, 2, 1)), np.array([0, 2]), 2)


def test_normalization_standardises_per_channel():
  images = np.stack([np.full((2, 2), 51), np.full((2, 2), 102)], axis=-1)[None].astype(np.uint8)  # 0.2, 0.4
  out = pipeline.to_float(images, ((0.1, 0.2), (0.5, 0.25)))
  np.testing.assert_allclose(out[0, 0, 0], [(0.2 - 0.1) / 0.5, (0.4 - 0.2) / 0.25], rtol=1e-6)
  data = ArrayDataset(np.repeat(images, 4, axis=0), np.zeros(4, np.int32), 2)
  batch = pipeline.train_dataset(data, batch_size=2, seed=0, num_epochs=1, normalization=((0.2, 0.4), (1, 1)))[0]
  np.testing.assert_allclose(batch["image"], 0.0, atol=1e-6)
