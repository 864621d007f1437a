"""A reader for the idx format of (Fashion-)MNIST, parsed with numpy and validated.

An idx file is a big-endian header, `0x00 0x00 <dtype code> <ndim>` followed by `ndim` uint32 dimensions, then
the array data. Files may be gzip-compressed (`.gz`).
"""

import gzip
import os

import numpy as np

# idx type codes -> numpy dtypes (big-endian where it matters).
_DTYPES = {
  0x08: np.dtype(np.uint8),
  0x09: np.dtype(np.int8),
  0x0B: np.dtype(">i2"),
  0x0C: np.dtype(">i4"),
  0x0D: np.dtype(">f4"),
  0x0E: np.dtype(">f8"),
}


class IdxFormatError(ValueError):
  """An idx file is truncated, corrupt or not of the expected shape."""


def read_idx(path: str | os.PathLike, *, expected_shape: tuple[int | None, ...] | None = None):
  """Reads an idx (or idx.gz) file into a numpy array.

  Args:
    path: the file; names ending in `.gz` are decompressed.
    expected_shape: optional shape to check, `None` entries match any size.

  Raises:
    FileNotFoundError: if `path` does not exist.
    IdxFormatError: naming the file, if the magic number, header, data size or shape is wrong.
  """
  path = os.fspath(path)
  opener = gzip.open if path.endswith(".gz") else open
  try:
    with opener(path, "rb") as f:
      raw = f.read()
  except (OSError, EOFError, gzip.BadGzipFile) as e:
    if isinstance(e, FileNotFoundError):
      raise
    raise IdxFormatError(f"{path}: cannot be read as {'gzip' if path.endswith('.gz') else 'idx'}: {e}") from e

  if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
    raise IdxFormatError(
      f"{path}: bad idx magic number {raw[:4].hex() or '(empty file)'}; expected 0000<type><ndim> with a "
      f"type code in {sorted(hex(c) for c in _DTYPES)}."
    )
  dtype, ndim = _DTYPES[raw[2]], raw[3]
  header = 4 + 4 * ndim
  if ndim == 0 or len(raw) < header:
    raise IdxFormatError(f"{path}: header declares {ndim} dimensions but the file is {len(raw)} bytes.")
  shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
  expected_bytes = int(np.prod(shape)) * dtype.itemsize
  if len(raw) - header != expected_bytes:
    raise IdxFormatError(
      f"{path}: header declares shape {shape} ({expected_bytes} data bytes) but the file holds "
      f"{len(raw) - header}; it is truncated or corrupt."
    )
  if expected_shape is not None and (
    len(shape) != len(expected_shape)
    or any(e is not None and e != s for e, s in zip(expected_shape, shape, strict=True))
  ):
    raise IdxFormatError(f"{path}: shape {shape} does not match the expected {expected_shape}.")
  data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
  return data.astype(dtype.newbyteorder("="))
