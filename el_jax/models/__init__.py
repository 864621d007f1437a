"""Flax NNX classifiers by name: `create(name, num_classes=..., input_shape=...)`."""

import jax
import numpy as np
from flax import nnx

from el_jax.models.lenet import LeNet
from el_jax.models.mlp import MLP

_MODELS = {
  "lenet": LeNet,
  "mlp": MLP,
}


def names() -> list[str]:
  """The registered model names."""
  return sorted(_MODELS)


def create(name: str, *, num_classes: int, input_shape: tuple[int, ...], seed: int = 0, **kwargs) -> nnx.Module:
  """Builds model `name` for inputs of shape `input_shape` (without the batch axis), initialised from `seed`.

  Extra keyword arguments go to the model's constructor (e.g. `depth`, `width` for `mlp`).
  """
  if name not in _MODELS:
    raise ValueError(f"Unknown model {name!r}. Valid names: {', '.join(names())}.")
  try:
    return _MODELS[name](num_classes=num_classes, input_shape=tuple(input_shape), rngs=nnx.Rngs(seed), **kwargs)
  except TypeError as e:
    raise ValueError(f"Bad arguments {kwargs} for model {name!r}: {e}") from None


def count_params(model: nnx.Module) -> int:
  """The number of trainable parameters (`nnx.Param` leaves)."""
  return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(nnx.state(model, nnx.Param)))


__all__ = ["LeNet", "MLP", "count_params", "create", "names"]
