"""The device mesh and how arrays are laid out on it.

The mesh has two axes: `data` (data parallelism: each device holds a slice of the batch and a full copy of the
parameters) and `fsdp` (parameters and optimiser state are also split over this axis, FSDP-style, and gathered by
XLA where a layer needs them). The batch is split over both axes. On a single process the mesh spans all local
devices; on several processes (TPU pods, or CPU processes joined by `jax.distributed`) it spans all global devices.

`config.mesh`: `data` (-1: all devices not used by fsdp), `fsdp` (default 1: parameters replicated),
`fsdp_min_size` (arrays with fewer elements stay replicated).
"""

import math

import jax
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

AXES = ("data", "fsdp")


def create(config) -> Mesh:
  """A `(data, fsdp)` mesh over all devices, shaped by `config.mesh`."""
  count = jax.device_count()
  fsdp = config.get("fsdp", 1)
  data = config.get("data", -1)
  if data == -1:
    if count % fsdp:
      raise ValueError(f"mesh.fsdp={fsdp} does not divide the {count} devices.")
    data = count // fsdp
  if data * fsdp != count:
    raise ValueError(f"mesh data={data} x fsdp={fsdp} must equal the {count} devices; set mesh.data=-1 to fill.")
  # Auto axes: inputs and state carry explicit NamedShardings and XLA propagates them through the model.
  return jax.make_mesh((data, fsdp), AXES, axis_types=(AxisType.Auto,) * len(AXES))


def batch_sharding(mesh: Mesh) -> NamedSharding:
  """Batch arrays: the leading axis split over every device of the mesh."""
  return NamedSharding(mesh, P(AXES))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def state_shardings(abstract_state, mesh: Mesh, *, fsdp_min_size: int = 2**14):
  """Shardings for a train state: each array's largest axis divisible by the fsdp size is split over `fsdp`.

  Arrays smaller than `fsdp_min_size` elements, scalars, and all arrays when the fsdp axis has size 1 are
  replicated.
  """
  fsdp = mesh.shape["fsdp"]

  def rule(leaf):
    shape = getattr(leaf, "shape", ())
    if fsdp == 1 or math.prod(shape) < fsdp_min_size:
      return replicated(mesh)
    for axis in np.argsort(shape)[::-1]:
      if shape[axis] % fsdp == 0:
        spec = [None] * len(shape)
        spec[axis] = "fsdp"
        return NamedSharding(mesh, P(*spec))
    return replicated(mesh)

  return jax.tree.map(rule, abstract_state)
