"""Optimisers and learning-rate schedules from a config (`config.optimizer`), with optax.

`config.optimizer` keys:
  name:              "sgd" | "adam" | "adamw" | "rmsprop"
  learning_rate:     the base (peak) learning rate
  schedule:          "constant" | "cosine" (to 0 at the end of training) | "linear" (to 0 at the end of training)
                     | "multistep" | "inverse_sqrt"
                     (fairseq's `inverse_sqrt`: `lr * t / W` for `t < W`, then `lr * sqrt(W / t)`, see `inverse_sqrt`)
  boundaries:        for "multistep", the epochs at which the learning rate is multiplied by a factor
  decay_factor:      for "multistep", the factor at each boundary (cumulative: 0.1 at 30 and 60 gives 0.01 after 60),
                     or a list with one factor per boundary
  warmup_epochs:     warm-up length in epochs before the schedule starts (0: none; not with "inverse_sqrt")
  warmup_steps:      for "inverse_sqrt" (and only for it), its warm-up length `W` in updates (e.g. 4000)
  warmup:            "linear" (from 0) | "exponential" (geometric, from `learning_rate * warmup_init_factor`)
  warmup_init_factor: the starting fraction of the exponential warm-up (default 1e-3)
  weight_decay:      the L2 coefficient `wd` (0: none)
  weight_decay_mode: "coupled": `wd * w` is added to the gradient before the optimiser, as PyTorch's SGD, Adam and
                     RMSprop do; "decoupled": `-lr(t) * wd * w` is added to the update, as AdamW does. Default:
                     decoupled for "adamw", coupled otherwise.
  any other key goes to the optax optimiser: e.g. momentum, nesterov (sgd); b1, b2, eps (adam, adamw); decay, eps,
  momentum, centered, eps_in_sqrt, initial_scale (rmsprop; TensorFlow's RMSProp is eps_in_sqrt=True, initial_scale=1).
"""

import inspect

import jax.numpy as jnp
import optax

_OPTIMIZERS = {
  "sgd": optax.sgd,
  "adam": optax.adam,
  "adamw": optax.adam,  # + decoupled weight decay
  "rmsprop": optax.rmsprop,
}
_OWN_KEYS = (
  "name",
  "learning_rate",
  "schedule",
  "boundaries",
  "decay_factor",
  "warmup_epochs",
  "warmup_steps",
  "warmup",
  "warmup_init_factor",
  "weight_decay",
  "weight_decay_mode",
)


def _warmup(config, steps: int) -> optax.Schedule:
  base = config.learning_rate
  kind = config.get("warmup", "linear")
  if kind == "linear":
    return optax.linear_schedule(0.0, base, steps)
  if kind == "exponential":
    start = base * config.get("warmup_init_factor", 1e-3)
    return optax.exponential_decay(start, steps, base / start)  # start * (base / start) ** (t / steps)
  raise ValueError(f"Unknown warm-up {kind!r}. Valid: linear, exponential.")


def inverse_sqrt(learning_rate: float, warmup_steps: int) -> optax.Schedule:
  r"""fairseq's `inverse_sqrt` schedule (Vaswani et al. 2017, Eq. 3, with the peak rate as a parameter):

  .. math::  \eta(t) = \eta \, t / W \ (t < W), \qquad \eta(t) = \eta \sqrt{W / t} \ (t \ge W)

  for the update count `t` (0 before the first update, so the first update has rate 0, as in fairseq with its
  default `--warmup-init-lr 0`) and `W` warm-up updates: a linear warm-up to the peak `learning_rate` at `t = W`,
  then a decay proportional to `1 / sqrt(t)`.
  """
  if int(warmup_steps) != warmup_steps or warmup_steps < 1:
    raise ValueError(f"optimizer.warmup_steps must be a positive integer for inverse_sqrt, got {warmup_steps!r}.")
  warmup = float(warmup_steps)

  def schedule(count):
    t = jnp.asarray(count, jnp.float32)
    return learning_rate * jnp.where(t < warmup, t / warmup, jnp.sqrt(warmup / jnp.maximum(t, 1.0)))

  return schedule


def learning_rate_schedule(config, *, steps_per_epoch: int, num_epochs: int) -> optax.Schedule:
  """The learning rate as a function of the step, from `config.optimizer` (see the module docstring)."""
  base = config.learning_rate
  warmup = int(round(config.get("warmup_epochs", 0) * steps_per_epoch))
  name = config.get("schedule", "constant")
  if (name == "inverse_sqrt") != (config.get("warmup_steps") is not None):
    raise ValueError(
      "optimizer.warmup_steps is the warm-up of schedule 'inverse_sqrt' and is required by it; with other schedules "
      f"use warmup_epochs (schedule={name!r}, warmup_steps={config.get('warmup_steps')!r})."
    )
  if name == "inverse_sqrt":
    if warmup:
      raise ValueError("schedule 'inverse_sqrt' has its own warm-up (optimizer.warmup_steps); set warmup_epochs=0.")
    return inverse_sqrt(base, config.warmup_steps)
  if name == "constant":
    schedule = optax.constant_schedule(base)
  elif name == "cosine":
    schedule = optax.cosine_decay_schedule(base, max(1, steps_per_epoch * num_epochs - warmup))
  elif name == "linear":  # as Hugging Face's fine-tuning scripts decay it
    schedule = optax.linear_schedule(base, 0.0, max(1, steps_per_epoch * num_epochs - warmup))
  elif name == "multistep":
    boundaries = list(config.get("boundaries", ()))
    factors = config.get("decay_factor", 0.1)
    factors = list(factors) if isinstance(factors, (list, tuple)) else [factors] * len(boundaries)
    if len(factors) != len(boundaries):
      raise ValueError(f"optimizer.decay_factor has {len(factors)} entries for {len(boundaries)} boundaries.")
    steps = [int(round(epoch * steps_per_epoch)) - warmup for epoch in boundaries]
    schedule = optax.piecewise_constant_schedule(base, dict(zip(steps, factors, strict=True)))
  else:
    raise ValueError(
      f"Unknown learning-rate schedule {name!r}. Valid: constant, cosine, linear, multistep, inverse_sqrt."
    )
  if warmup:
    schedule = optax.join_schedules([_warmup(config, warmup), schedule], [warmup])
  return schedule


def create(config, *, steps_per_epoch: int, num_epochs: int) -> optax.GradientTransformation:
  """The optax optimiser described by `config.optimizer` (see the module docstring)."""
  if config.name not in _OPTIMIZERS:
    raise ValueError(f"Unknown optimizer {config.name!r}. Valid names: {', '.join(sorted(_OPTIMIZERS))}.")
  make = _OPTIMIZERS[config.name]
  kwargs = {k: v for k, v in config.items() if k not in _OWN_KEYS}
  valid = set(inspect.signature(make).parameters) - {"learning_rate"}
  unknown = sorted(set(kwargs) - valid)
  if unknown:
    raise ValueError(
      f"Unknown option(s) {unknown} for optimizer {config.name!r}. Valid: {', '.join(sorted(valid | set(_OWN_KEYS)))}."
    )
  learning_rate = learning_rate_schedule(config, steps_per_epoch=steps_per_epoch, num_epochs=num_epochs)
  tx = make(learning_rate, **kwargs)

  weight_decay = config.get("weight_decay", 0.0)
  mode = config.get("weight_decay_mode", "decoupled" if config.name == "adamw" else "coupled")
  if mode not in ("coupled", "decoupled"):
    raise ValueError(f"Unknown optimizer.weight_decay_mode {mode!r}. Valid: coupled, decoupled.")
  if not weight_decay:
    return tx
  if mode == "coupled":
    return optax.chain(optax.add_decayed_weights(weight_decay), tx)
  # Decoupled: the decay follows the learning-rate schedule, w <- w - lr(t) * (update + wd * w).
  return optax.chain(tx, optax.add_decayed_weights(lambda count: -weight_decay * learning_rate(count)))
