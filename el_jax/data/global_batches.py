"""The input pipeline's last stage: global batches sharded over the device mesh, prefetched.

`train(...)` and `evaluation(...)` turn a source into an iterator of global batches, `jax.Array`s laid out by a batch
sharding (the leading axis split over the mesh's devices). Each process reads only the rows of every global batch
that its devices hold (`local_rows`), and `jax.make_array_from_process_local_data` joins them; a background thread
prepares them a few batches ahead of the step that consumes them (`DevicePrefetch`). The training batch of step `s`
stays a pure function of `(seed, s)` (`el_jax.data.pipeline`; `train_tokens`: token-count batches of parallel text,
`el_jax.data.token_batches`), and evaluation visits every example once, padded and
masked, whatever the number of processes.
"""

import jax
from jax.sharding import NamedSharding

from el_jax.data import pipeline, token_batches
from el_jax.data.prefetch import DevicePrefetch


def local_rows(sharding: NamedSharding, global_batch_size: int) -> slice:
  """The rows of a global batch that this process's devices hold (each process reads only those)."""
  if global_batch_size % sharding.num_devices:
    raise ValueError(
      f"a batch of {global_batch_size} cannot be split over the {sharding.num_devices} devices of the mesh: "
      f"use a multiple of {sharding.num_devices}."
    )
  indices = sharding.addressable_devices_indices_map((global_batch_size,))
  starts = sorted({(idx[0].start or 0, idx[0].stop or global_batch_size) for idx in indices.values()})
  lo, hi = starts[0][0], starts[-1][1]
  if sum(b - a for a, b in starts) != hi - lo:
    raise ValueError("this process's devices hold non-contiguous rows of the batch; use a mesh from mesh.create.")
  return slice(lo, hi)


def to_global(local_batch: dict, sharding: NamedSharding, global_batch_size: int) -> dict:
  """Global batch arrays from each process's rows of them (`local_rows`), as `local_batch` holds."""
  return {
    k: jax.make_array_from_process_local_data(sharding, v, (global_batch_size, *v.shape[1:]))
    for k, v in local_batch.items()
  }


def train(
  source,
  *,
  batch_size: int,
  seed: int,
  num_epochs: int,
  sharding: NamedSharding,
  start_step: int = 0,
  normalization: tuple | None = None,
  transforms=(),
  prefetch: int = 2,
) -> DevicePrefetch:
  """The global training batches of steps `start_step, start_step + 1, ...` (`pipeline.train_dataset`).

  `close()` the iterator (or use it in a `with` block) when done with it.
  """
  dataset = pipeline.train_dataset(
    source,
    batch_size=batch_size,
    seed=seed,
    num_epochs=num_epochs,
    normalization=normalization,
    augment=transforms,
    rows=local_rows(sharding, batch_size),
  )
  return DevicePrefetch(
    pipeline.train_batches(dataset, start_step=start_step),
    lambda batch: to_global(batch, sharding, batch_size),
    size=prefetch,
  )


def train_tokens(
  source,
  plan: token_batches.TokenBatches,
  *,
  num_epochs: int,
  sharding: NamedSharding,
  start_step: int = 0,
  prefetch: int = 2,
) -> DevicePrefetch:
  """The global token-count batches (`token_batches.train_dataset`) of steps `start_step, start_step + 1, ...`;
  a batch's rows (a multiple of the mesh's devices, `plan.multiple`) are split over the devices like `train`'s."""
  if plan.multiple % sharding.num_devices:
    raise ValueError(
      f"token batches with rows in multiples of {plan.multiple} cannot be split over the {sharding.num_devices} "
      "devices of the mesh: build the plan with multiple=sharding.num_devices."
    )
  rows = {r: local_rows(sharding, r) for r in plan.rows}
  # A process's rows of a batch say its global rows: the split over the devices is even (`local_rows`).
  global_rows = {s.stop - s.start: r for r, s in rows.items()}
  dataset = token_batches.train_dataset(source, plan, num_epochs=num_epochs, rows_of=rows.__getitem__)
  return DevicePrefetch(
    pipeline.train_batches(dataset, start_step=start_step),
    lambda batch: to_global(batch, sharding, global_rows[len(batch["label"])]),
    size=prefetch,
  )


def evaluation(
  source,
  *,
  batch_size: int,
  sharding: NamedSharding,
  normalization: tuple | None = None,
  transforms=(),
  prefetch: int = 2,
) -> DevicePrefetch:
  """Global batches covering every example of `source` once (`pipeline.eval_batches`: padded, with a `mask`)."""
  batches = pipeline.eval_batches(
    source,
    batch_size=batch_size,
    normalization=normalization,
    transforms=transforms,
    rows=local_rows(sharding, batch_size),
  )
  return DevicePrefetch(batches, lambda batch: to_global(batch, sharding, batch_size), size=prefetch)
