"""Optimisers and learning-rate schedules from a config (`config.optimizer`), with optax.

`config.optimizer`:
  name: "sgd" | "adam" | "adamw" | "rmsprop"
  learning_rate: the base learning rate
  schedule: "constant" | "cosine" | "multistep"
  boundaries: epochs at which "multistep" multiplies the learning rate by `decay_factor` (cumulatively)
  decay_factor: the multiplier at each boundary (e.g. 0.1)
  warmup_epochs: linear warm-up from 0 over this many epochs (0: none)
  weight_decay: L2 coefficient added to the gradient before the update, as PyTorch's SGD does ("coupled");
    for "adamw" it is AdamW's decoupled decay instead
  any other key is passed to the optax optimiser (e.g. momentum, nesterov, b1, b2, eps, decay).
"""

import inspect

import optax

_OPTIMIZERS = {
  "sgd": optax.sgd,
  "adam": optax.adam,
  "adamw": optax.adamw,
  "rmsprop": optax.rmsprop,
}
_SCHEDULE_KEYS = (
  "name",
  "learning_rate",
  "schedule",
  "boundaries",
  "decay_factor",
  "warmup_epochs",
  "weight_decay",
)


def learning_rate_schedule(config, *, steps_per_epoch: int, num_epochs: int) -> optax.Schedule:
  """The learning rate as a function of the step, from `config.optimizer`."""
  base = config.learning_rate
  warmup = int(round(config.get("warmup_epochs", 0) * steps_per_epoch))
  name = config.get("schedule", "constant")
  if name == "constant":
    schedule = optax.constant_schedule(base)
  elif name == "cosine":
    schedule = optax.cosine_decay_schedule(base, max(1, steps_per_epoch * num_epochs - warmup))
  elif name == "multistep":
    factor = config.get("decay_factor", 0.1)
    schedule = optax.piecewise_constant_schedule(
      base, {int(round(epoch * steps_per_epoch)) - warmup: factor for epoch in config.boundaries}
    )
  else:
    raise ValueError(f"Unknown learning-rate schedule {name!r}. Valid: constant, cosine, multistep.")
  if warmup:
    schedule = optax.join_schedules([optax.linear_schedule(0.0, base, warmup), schedule], [warmup])
  return schedule


def create(config, *, steps_per_epoch: int, num_epochs: int) -> optax.GradientTransformation:
  """The optax optimiser described by `config.optimizer` (see the module docstring)."""
  if config.name not in _OPTIMIZERS:
    raise ValueError(f"Unknown optimizer {config.name!r}. Valid names: {', '.join(sorted(_OPTIMIZERS))}.")
  make = _OPTIMIZERS[config.name]
  kwargs = {k: v for k, v in config.items() if k not in _SCHEDULE_KEYS}
  valid = set(inspect.signature(make).parameters) - {"learning_rate", "weight_decay"}
  unknown = sorted(set(kwargs) - valid)
  if unknown:
    raise ValueError(f"Unknown option(s) {unknown} for optimizer {config.name!r}. Valid: {', '.join(sorted(valid))}.")
  learning_rate = learning_rate_schedule(config, steps_per_epoch=steps_per_epoch, num_epochs=num_epochs)
  weight_decay = config.get("weight_decay", 0.0)
  if config.name == "adamw":
    return make(learning_rate, weight_decay=weight_decay, **kwargs)
  tx = make(learning_rate, **kwargs)
  return optax.chain(optax.add_decayed_weights(weight_decay), tx) if weight_decay else tx
