"""The interface every dataset offers the pipelines: a random-access sequence of labelled records.

In-memory arrays (`ArrayDataset`; text's `TokenArrays`), TFDS array-record datasets (`TfdsSource`; text's
`GlueSource`), files decoded on access (translation's `ParallelText`, graphs' `GraphSource`), synthetic stand-ins
(`SyntheticSource` and the text, translation and graph ones) and re-indexed views (`Subset`) all satisfy `Source`, so
`el_jax.data.pipeline` reads any of them the same way, and the training batch of step `s` stays a pure function of
`(seed, s)` whichever it is.
"""

from typing import Protocol, runtime_checkable


@runtime_checkable
class Source(Protocol):
  """`len(source)` labelled records, addressed by index; `num_classes` classes; `name` for error messages.

  Record `i` (`source[i]`, for `0 <= i < len(source)`) is a dict of NumPy arrays (a class `label` may be a Python
  int), the same on every call. Its keys are the model's inputs plus the targets:
    label        the class: an integer scalar in `[0, num_classes)` (a Python or NumPy int); or, for per-token
                 targets, int32 `[T]` with every entry in `[0, num_classes)` (translation: the target ids shifted
                 left, `num_classes` = the target vocabulary size)
    label_mask   with per-token labels only: bool, the shape of `label`, False on padding positions (their `label`
                 is 0), which the loss and the accuracy ignore
    (inputs)     every other key. One array of inputs is `image`: pixels `[H, W, C]` (uint8, or floats in
                 [0, 1]) or float32 features `[D]` (the UCI sets), which the pipeline converts to float32
                 (`el_jax.data.transforms.to_float`); named inputs have one fixed shape per source, e.g.
                   text         `tokens` int32 `[T]` right-padded with 0, with BERT's `segments` int32 `[T]` (0/1)
                   translation  `source` int32 `[S]`, `target_in` int32 `[T]` (BOS, then the target ids)
                   graphs       `nodes` float32 `[N, F]`, `adjacency` uint8 `[N, N]`, `node_mask` bool `[N]`
  `mask` is not a record key: evaluation batches add it (False on the padding of the last batch); see
  `el_jax.train.step` for how a batch of records reaches the model.

  `input_shape` is the shape of the inputs without the batch axis, which the model is built for: a tuple for `image`
  (`(H, W, C)`, `(D,)`, or `(None, None, C)` for images of varying size, which a pipeline transform must crop or resize
  to a fixed size before batching), or a dict `{input key: shape tuple}` over every input key, never over `label` or
  `label_mask` (text: `{"tokens": (T,)}`, graphs: `{"nodes": (N, F), "adjacency": (N, N), "node_mask": (N,)}`).

  `take(count)` is the source of the first `count` records (`0 < count <= len(source)`, else a ValueError), or the
  source itself when `count` is None; the records it keeps are unchanged.
  """

  name: str
  num_classes: int

  def __len__(self) -> int: ...

  def __getitem__(self, index: int) -> dict: ...

  @property
  def input_shape(self) -> tuple | dict: ...

  def take(self, count: int | None) -> "Source": ...
