"""Device prefetch: batches are placed on the mesh in a background thread, a few steps ahead of the train step.

The host work of a step's input (reading and stacking records, `jax.make_array_from_process_local_data`) then
overlaps the previous steps' computation, and the training loop only waits when the input really falls behind.
"""

import queue
import threading

_DONE = object()


class DevicePrefetch:
  """Iterates `to_device(batch)` for each `batch` of `batches`, keeping up to `size` ready ahead.

  An exception raised while preparing a batch is re-raised by `next` in the consuming thread. `close()` (or leaving a
  `with` block) stops the thread; the iterator must not be used afterwards.
  """

  def __init__(self, batches, to_device, *, size: int = 2):
    if size < 1:
      raise ValueError(f"prefetch size must be >= 1, got {size}.")
    self._queue = queue.Queue(maxsize=size)
    self._stop = threading.Event()
    self._thread = threading.Thread(target=self._fill, args=(iter(batches), to_device), daemon=True)
    self._thread.start()

  def _put(self, item) -> bool:
    while not self._stop.is_set():
      try:
        self._queue.put(item, timeout=0.1)
        return True
      except queue.Full:
        continue
    return False

  def _fill(self, batches, to_device):
    try:
      for batch in batches:
        if not self._put(to_device(batch)):
          return
      self._put(_DONE)
    except BaseException as e:  # handed to the consumer
      self._put(e)

  def __iter__(self):
    return self

  def __next__(self):
    item = self._queue.get()
    if item is _DONE:
      self._queue.put(_DONE)
      raise StopIteration
    if isinstance(item, BaseException):
      raise item
    return item

  def close(self) -> None:
    self._stop.set()
    self._thread.join()

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()
