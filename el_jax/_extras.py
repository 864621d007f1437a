"""The optional parts of el_jax and the pip extras that install them.

The core (`el_jax.losses`) needs only jax and numpy. Every other part names its extra when a module it needs is
missing, in an ImportError that says what to install, rather than failing on a bare ModuleNotFoundError deep inside.
The extras are declared in pyproject.toml; `MODULES` lists what each provides, by import name.
"""

import importlib
import importlib.util

MODULES = {
  "train": (
    "flax",
    "optax",
    "orbax.checkpoint",
    "ml_collections",
    "absl",
    "tqdm",
    "tensorboardX",
    "grain",
    "PIL",
    "scipy",  # the evaluators that run during training (OOD scores, corruptions)
  ),
  "eval": ("matplotlib",),
  "data": ("tensorflow_datasets", "sklearn", "mlxtend"),
  "text": ("safetensors",),
  "wandb": ("wandb",),  # config.writers "wandb": Weights & Biases
}


def _installed(module: str) -> bool:
  try:
    return importlib.util.find_spec(module) is not None
  except ModuleNotFoundError:  # a missing parent package of a dotted name
    return False


def _message(what: str, extra: str, missing) -> str:
  return f"{what} needs the '{extra}' extra (missing: {', '.join(missing)}). Install it: pip install 'el_jax[{extra}]'"


def require(what: str, *extras: str) -> None:
  """Raises an ImportError naming the extra to install if a module of one of `extras` is missing; `what` names the
  part of el_jax that needs them ("el_jax.train")."""
  for extra in extras:
    missing = [m for m in MODULES[extra] if not _installed(m)]
    if missing:
      raise ImportError(_message(what, extra, missing))


def load(module: str, extra: str, what: str):
  """`importlib.import_module(module)`, or an ImportError naming `extra` if it is not installed."""
  if not _installed(module):
    raise ImportError(_message(what, extra, [module]))
  return importlib.import_module(module)
