"""Global batches: each process reads only its rows of every batch, and together the rows are the whole batch."""

import jax
import numpy as np
import pytest
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from el_jax.data import ArrayDataset, global_batches, pipeline


def _dataset(count=10):
  images = np.arange(count * 4, dtype=np.uint8).reshape(count, 2, 2, 1)
  return ArrayDataset(images, np.arange(count) % 3, 3, name="tiny")


def test_the_rows_of_two_processes_make_up_every_padded_batch():
  data = _dataset()
  whole = list(pipeline.eval_batches(data, batch_size=8))
  first = list(pipeline.eval_batches(data, batch_size=8, rows=slice(0, 4)))
  second = list(pipeline.eval_batches(data, batch_size=8, rows=slice(4, 8)))
  assert len(whole) == len(first) == len(second) == 2
  for full, a, b in zip(whole, first, second, strict=True):
    for key in full:
      np.testing.assert_array_equal(np.concatenate([a[key], b[key]]), full[key], err_msg=key)
  # The second process's rows of the last batch (examples 12..15) lie past the 10 examples: all padding.
  assert not second[1]["mask"].any() and second[1]["image"].shape == (4, 2, 2, 1)
  assert int(sum(b["mask"].sum() for b in first + second)) == 10  # every example once


def test_local_rows_on_one_device_and_a_batch_that_does_not_split():
  mesh = Mesh(np.array(jax.devices()[:1]), ("data",))
  sharding = NamedSharding(mesh, P("data"))
  assert global_batches.local_rows(sharding, 6) == slice(0, 6)
  batches = list(global_batches.evaluation(_dataset(), batch_size=4, sharding=sharding))
  expected = list(pipeline.eval_batches(_dataset(), batch_size=4))
  for got, want in zip(batches, expected, strict=True):
    assert isinstance(got["image"], jax.Array) and got["image"].sharding == sharding
    np.testing.assert_array_equal(np.asarray(got["mask"]), want["mask"])
  with global_batches.train(_dataset(), batch_size=5, seed=0, num_epochs=1, sharding=sharding) as train:
    first = next(train)
  np.testing.assert_array_equal(
    np.asarray(first["label"]),
    next(iter(pipeline.train_dataset(_dataset(), batch_size=5, seed=0, num_epochs=1)))["label"],
  )


class _TwoDeviceSharding:
  """What `local_rows` reads of a sharding over two devices, one per process; this process holds `held`."""

  num_devices = 2

  def __init__(self, held: tuple[int, ...]):
    self.held = held

  def addressable_devices_indices_map(self, shape):
    half = shape[0] // 2
    return {device: (slice(device * half, (device + 1) * half),) for device in self.held}


def test_each_process_reads_the_rows_its_devices_hold():
  assert global_batches.local_rows(_TwoDeviceSharding((1,)), 8) == slice(4, 8)
  assert global_batches.local_rows(_TwoDeviceSharding((0, 1)), 8) == slice(0, 8)
  with pytest.raises(ValueError, match="a batch of 5 cannot be split over the 2 devices of the mesh"):
    global_batches.local_rows(_TwoDeviceSharding((0,)), 5)
