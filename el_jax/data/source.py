"""The interface every dataset offers the pipelines: a random-access sequence of labelled records.

In-memory sets (`ArrayDataset`), TFDS array-record datasets (`TfdsSource`) and synthetic stand-ins
(`SyntheticSource`) all satisfy `Source`, so `el_jax.data.pipeline` reads any of them the same way, and the training
batch of step `s` stays a pure function of `(seed, s)` whichever it is.
"""

from typing import Protocol, runtime_checkable


@runtime_checkable
class Source(Protocol):
  """`len(source)` records; `source[i]` is `{"image": array, "label": int}` and never changes between calls.

  `input_shape` is the shape of one input (`(H, W, C)`, `(D,)`, or with `None` sides for images of varying size,
  which a pipeline transform must crop to a fixed size); `num_classes` bounds the labels.
  """

  name: str
  num_classes: int

  def __len__(self) -> int: ...

  def __getitem__(self, index: int) -> dict: ...

  @property
  def input_shape(self) -> tuple: ...

  def take(self, count: int | None) -> "Source": ...
