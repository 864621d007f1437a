"""Shared fixtures: idx files written by the tests themselves, and a tiny Fashion-MNIST built from them."""

import gzip
import os
import struct

import numpy as np
import pytest

# Under pytest-xdist (`make test`), each worker process runs XLA on one thread, so that the workers share the cores
# instead of oversubscribing them. XLA reads the flags when its CPU backend starts, after this module is imported.
if os.environ.get("PYTEST_XDIST_WORKER"):
  from el_jax.studies import runner

  os.environ.update(runner.single_thread_env({"XLA_FLAGS": os.environ.get("XLA_FLAGS", "")}))

_TYPE_CODES = {
  np.dtype(np.uint8): 0x08,
  np.dtype(np.int8): 0x09,
  np.dtype(">i4"): 0x0C,
  np.dtype(">f4"): 0x0D,
}


def write_idx(path, array, *, compress=None):
  """Writes `array` in the idx format (big-endian header: 0, 0, type code, ndim, then the dims)."""
  array = np.asarray(array)
  if array.dtype.itemsize > 1:
    array = array.astype(array.dtype.newbyteorder(">"))
  header = bytes([0, 0, _TYPE_CODES[array.dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
  payload = header + array.tobytes()
  compress = str(path).endswith(".gz") if compress is None else compress
  with (gzip.open if compress else open)(path, "wb") as f:
    f.write(payload)


def make_fashion_mnist(folder, *, num_train=512, num_test=300, seed=0):
  """Writes the four Fashion-MNIST idx.gz files with learnable synthetic data: class c brightens row band c."""
  rng = np.random.default_rng(seed)
  for prefix, count in (("train", num_train), ("t10k", num_test)):
    labels = rng.integers(0, 10, count).astype(np.uint8)
    images = rng.integers(0, 60, (count, 28, 28)).astype(np.uint8)
    for i, c in enumerate(labels):
      images[i, 2 + 2 * c : 4 + 2 * c, 4:24] = 200
    write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
  return folder


@pytest.fixture(scope="session")
def fake_fashion_mnist_dir(tmp_path_factory):
  return make_fashion_mnist(tmp_path_factory.mktemp("fashion_mnist"))


@pytest.fixture
def fake_fashion_mnist(fake_fashion_mnist_dir, monkeypatch):
  """Points EL_JAX_DATA_DIR at a tiny synthetic Fashion-MNIST (512 train, 300 test examples)."""
  monkeypatch.setenv("EL_JAX_DATA_DIR", str(fake_fashion_mnist_dir))
  return fake_fashion_mnist_dir
