import numpy as np
import pytest

from el_jax.data import ArrayDataset, pipeline, transforms


def _record(image):
  return {"image": image, "label": 1}


def _coordinates(height, width):
  """An image whose pixel (r, c) holds (r, c, 7): crops reveal their offset."""
  rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
  return np.stack([rows, cols, np.full_like(rows, 7)], axis=-1).astype(np.uint8)


def test_random_crop_with_padding_is_a_window_of_the_zero_padded_image():
  image = _coordinates(32, 32) + 1  # no zero pixels, so padding is recognisable
  rng = np.random.default_rng(0)
  offsets = set()
  for _ in range(300):
    out = transforms.RandomCropWithPadding(32, 4).random_map(_record(image), rng)["image"]
    assert out.shape == (32, 32, 3)
    inside = out[..., 2] == 8
    rows, cols = np.nonzero(inside)
    top, left = rows.min(), cols.min()
    # The image part is a contiguous block of the original, shifted by at most 4 pixels; the rest is zero.
    r0, c0 = out[top, left, 0] - 1, out[top, left, 1] - 1
    np.testing.assert_array_equal(
      out[inside].reshape(-1, 3), image[r0 : r0 + inside.any(1).sum(), c0 : c0 + inside.any(0).sum()].reshape(-1, 3)
    )
    assert (out[~inside] == 0).all()
    offsets.add((int(top) - int(r0), int(left) - int(c0)))
  assert all(-4 <= d <= 4 for pair in offsets for d in pair)
  assert len(offsets) > 40  # of the 81 possible shifts


def test_horizontal_flip():
  image = _coordinates(4, 5)
  rng = np.random.default_rng(1)
  np.testing.assert_array_equal(
    transforms.RandomHorizontalFlip(1.0).random_map(_record(image), rng)["image"], image[:, ::-1]
  )
  np.testing.assert_array_equal(transforms.RandomHorizontalFlip(0.0).random_map(_record(image), rng)["image"], image)
  flips = sum(
    transforms.RandomHorizontalFlip().random_map(_record(image), rng)["image"][0, 0, 1] == 4 for _ in range(2000)
  )
  assert 900 < flips < 1100  # Binomial(2000, 0.5): mean 1000, sd 22


def test_random_resized_crop_windows_respect_scale_and_ratio():
  t = transforms.RandomResizedCrop(224)
  rng = np.random.default_rng(2)
  areas, ratios = [], []
  for _ in range(2000):
    top, left, h, w = t.window(300, 400, rng)
    assert 0 <= top and top + h <= 300 and 0 <= left and left + w <= 400
    areas.append(h * w / (300 * 400))
    ratios.append(w / h)
  # Rounding to whole pixels moves the bounds by at most a pixel's worth.
  assert 0.08 * 0.97 <= min(areas) and max(areas) <= 1.0
  assert 0.75 * 0.97 <= min(ratios) and max(ratios) <= 4 / 3 * 1.03
  assert np.mean(areas) > 0.3  # area is drawn uniformly from [0.08, 1] (then rejected when it does not fit)
  out = t.random_map(_record(np.zeros((300, 400, 3), np.uint8)), rng)["image"]
  assert out.shape == (224, 224, 3) and out.dtype == np.uint8


def test_random_resized_crop_falls_back_to_the_central_allowed_ratio():
  # A 10x1000 strip: no window of ratio <= 4/3 and >= 8% of the area fits, so the centre crop of ratio 4/3 is used.
  t = transforms.RandomResizedCrop(16)
  top, left, h, w = t.window(10, 1000, np.random.default_rng(0))
  assert (top, h) == (0, 10) and w == round(10 * 4 / 3) and left == (1000 - w) // 2


def test_resize_center_crop_geometry():
  image = _coordinates(200, 250)
  out = transforms.ResizeCenterCrop(100, 80).map(_record(image))["image"]
  assert out.shape == (80, 80, 3)
  # The shorter side (200) becomes 100: the scale is 1/2, and the crop's centre is the image's centre.
  centre = out[40, 40, :2].astype(float)
  np.testing.assert_allclose(centre, [100, 125], atol=2)
  assert abs(float(out[0, 0, 0]) - 2 * 10) <= 2 and abs(float(out[0, 0, 1]) - 2 * (125 // 2 - 40 + 0.5)) <= 3


def test_normalize_matches_formula():
  image = np.array([[[0, 255, 51]]], np.uint8)
  out = transforms.Normalize((0.5, 0.5, 0.1), (0.25, 0.5, 0.2)).map(_record(image))["image"]
  np.testing.assert_allclose(out[0, 0], [(0 - 0.5) / 0.25, (1 - 0.5) / 0.5, (0.2 - 0.1) / 0.2], rtol=1e-6)
  assert out.dtype == np.float32


def test_transform_argument_errors():
  with pytest.raises(ValueError, match=r"probability must lie in \[0, 1\]"):
    transforms.RandomHorizontalFlip(1.5)
  with pytest.raises(ValueError, match="cannot exceed"):
    transforms.ResizeCenterCrop(200, 224)
  with pytest.raises(ValueError, match="needs images"):
    transforms.RandomHorizontalFlip().random_map(_record(np.zeros(5)), np.random.default_rng(0))
  with pytest.raises(ValueError, match="resizing needs uint8"):
    transforms.ResizeCenterCrop(4, 2).map(_record(np.zeros((5, 5, 3), np.float32)))


def _ids_dataset(n=40):
  images = np.zeros((n, 6, 6, 1), np.uint8)
  images[:, :, :3, 0] = np.arange(n)[:, None, None]  # left half holds the example id, right half is 0
  return ArrayDataset(images, np.arange(n, dtype=np.int32) % 4, 4, name="ids")


def _augmented(seed=5, num_epochs=3):
  return pipeline.train_dataset(
    _ids_dataset(),
    batch_size=8,
    seed=seed,
    num_epochs=num_epochs,
    augment=[transforms.RandomCropWithPadding(6, 2), transforms.RandomHorizontalFlip()],
  )


def test_augmented_batches_are_a_pure_function_of_seed_and_step():
  a, b = _augmented(), _augmented()
  full = list(pipeline.train_batches(a))
  resumed = list(pipeline.train_batches(b, start_step=7))
  assert len(full) == 15
  for x, y in zip(full[7:], resumed, strict=True):
    np.testing.assert_array_equal(x["image"], y["image"])
    np.testing.assert_array_equal(x["label"], y["label"])
  np.testing.assert_array_equal(a[11]["image"], full[11]["image"])
  assert not np.array_equal(_augmented(seed=6)[0]["image"], full[0]["image"])


def test_augmentation_differs_between_epochs():
  ds = _augmented()
  # Per example (identified by its label-consistent order), collect the augmented views of epochs 0 and 1.
  views = [{}, {}]
  for epoch in range(2):
    for s in range(5):
      batch = ds[epoch * 5 + s]
      for image in batch["image"]:
        key = int(np.rint(image.max() * 255))
        views[epoch][key] = image
  common = set(views[0]) & set(views[1])
  assert len(common) > 20
  differ = sum(not np.array_equal(views[0][k], views[1][k]) for k in common)
  assert differ > len(common) // 2


def test_eval_rejects_random_transforms_and_unknown_objects():
  with pytest.raises(ValueError, match="deterministic transforms only"):
    next(pipeline.eval_batches(_ids_dataset(), batch_size=4, transforms=[transforms.RandomHorizontalFlip()]))
  with pytest.raises(TypeError, match="not a grain.transforms.RandomMap or Map"):
    pipeline.train_dataset(_ids_dataset(), batch_size=4, seed=0, num_epochs=1, augment=[lambda r: r])
  out = next(pipeline.eval_batches(_ids_dataset(), batch_size=4, transforms=[transforms.ResizeCenterCrop(6, 4)]))
  assert out["image"].shape == (4, 4, 4, 1)


def test_named_recipes():
  assert transforms.augmentation("none", size=28) == ((), ())
  train, evaluation = transforms.augmentation("cifar", size=32)
  assert [type(t).__name__ for t in train] == ["RandomCropWithPadding", "RandomHorizontalFlip"] and evaluation == ()
  train, evaluation = transforms.augmentation("imagenet", size=224)
  assert [type(t).__name__ for t in train] == ["RandomResizedCrop", "RandomHorizontalFlip"]
  assert (evaluation[0].resize, evaluation[0].size) == (256, 224)
  record = {"image": np.zeros((375, 500, 3), np.uint8), "label": 0}
  rng = np.random.default_rng(0)
  for t in train:
    record = t.random_map(record, rng)
  assert record["image"].shape == (224, 224, 3)
  with pytest.raises(ValueError, match="Unknown augmentation 'autoaugment'"):
    transforms.augmentation("autoaugment", size=32)
