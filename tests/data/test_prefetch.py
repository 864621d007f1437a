"""Device prefetch keeps the order, re-raises errors in the consumer and stops when closed."""

import threading
import time

import pytest

from el_jax.data.prefetch import DevicePrefetch


def test_order_and_transform_are_kept():
  with DevicePrefetch(range(50), lambda x: x * 2, size=3) as batches:
    assert list(batches) == [2 * i for i in range(50)]


def test_an_error_while_preparing_reaches_the_consumer_after_the_good_batches():
  def source():
    yield 1
    yield 2
    raise OSError("disk gone")

  with DevicePrefetch(source(), lambda x: x) as batches:
    assert [next(batches), next(batches)] == [1, 2]
    with pytest.raises(OSError, match="disk gone"):
      next(batches)


def test_close_stops_an_endless_producer():
  produced = []

  def endless():
    i = 0
    while True:
      produced.append(i)
      yield i
      i += 1

  before = threading.active_count()
  batches = DevicePrefetch(endless(), lambda x: x, size=2)
  assert next(batches) == 0
  time.sleep(0.2)
  batches.close()
  assert threading.active_count() == before
  assert len(produced) <= 5  # at most `size` ready, one being put, one being read


def test_size_must_be_positive():
  with pytest.raises(ValueError, match="prefetch size"):
    DevicePrefetch([], lambda x: x, size=0)
