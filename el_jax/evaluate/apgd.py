r"""Auto-PGD (APGD; Croce & Hein, ICML 2020), L-inf and L2, in [0, 1] pixel space, jitted and batched.

APGD is projected gradient ascent on a loss `f` of the logits with momentum and a step size that halves when
progress stalls, so it needs no step-size tuning (the paper's Algorithm 1):

.. math::
  z^{(k+1)} = P_S\big(x^{(k)} + \eta^{(k)} s(\nabla f(x^{(k)}))\big), \quad
  x^{(k+1)} = P_S\big(x^{(k)} + \alpha (z^{(k+1)} - x^{(k)}) + (1 - \alpha)(x^{(k)} - x^{(k-1)})\big),

with `S` the intersection of the eps ball around the clean image `x` and the pixel box [0, 1], `P_S` the projection
onto it (L-inf: clip to the box around `x`, then to [0, 1]; L2: rescale into the ball, then clip to [0, 1]),
`s(g) = sign(g)` (L-inf) or `g / ||g||_2` (L2), the momentum `alpha = 0.75` (1 at the first step), and
`eta^{(0)} = 2 eps`. At the checkpoints `w_j` (`checkpoints`: `p_0 = 0`, `p_1 = 0.22`,
`p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06)`, `w_j = ceil(p_j N_iter)`) the step size is halved, and the
iterate restarts from the best point found so far, for the examples where

1. the loss increased in at most `rho = 0.75` of the steps since the last checkpoint (Eq. (4)), or
2. the step size was not halved at the last checkpoint and the best loss has not improved since then (Eq. (5)).

Losses (`LOSSES`, of the logits `z`, with `pi` the indices of `z` sorted in decreasing order):

- `ce`: the cross-entropy `-log softmax(z)_y` (APGD-CE);
- `dlr`: the difference of logits ratio `-(z_y - max_{i != y} z_i) / (z_{pi_1} - z_{pi_3})` (Eq. (6), APGD-DLR),
  invariant to shifting and scaling the logits; needs 3 classes;
- `dlr_targeted`: `-(z_y - z_t) / (z_{pi_1} - (z_{pi_3} + z_{pi_4}) / 2)` for a target class `t` (APGD-T, the
  paper's Eq. (7)); needs 4 classes.

A sample counts as broken by the first iterate (any of them, not only the last) that the model misclassifies; the
attack returns that iterate, and the clean image for the samples it did not break. `apgd` runs `n_restarts`
random starts (uniform on the eps sphere), each only against the samples still unbroken; `apgd_targeted` runs once
per target class, the `n_target_classes` classes with the highest clean logits after the top one.

Settings and how they follow the reference implementation (`fra31/auto-attack`, `autopgd_base.py`), which the
reported AutoAttack numbers come from: the checkpoint arithmetic in integers (`max(int(0.22 N), 1)` iterations to
the first checkpoint, windows shrinking by `max(int(0.03 N), 1)` to at least `max(int(0.06 N), 1)`), condition 1
as `count <= rho * window` as there (the paper writes `<`, which differs only when `rho * window` is an integer),
the denominators' `+ 1e-12`, and the momentum term after a restart from the best point using the iterate before the
step, as there. One difference is kept: condition 1 counts, at the first checkpoint, the steps whose loss rose above
the previous iterate's, starting from the random start's loss (the paper's sum), where the reference compares the
first step's loss with zero. Randomness comes from `key` (restart `r` uses `fold_in(key, r)`), so a run is
deterministic given its key. The norm is an argument of the compiled attack, not a constant of it: one compilation
per model serves both norms.
"""

import functools

import jax
import jax.numpy as jnp
import optax

NORMS = ("linf", "l2")
LOSSES = ("ce", "dlr", "dlr_targeted")
MOMENTUM = 0.75  # alpha of Algorithm 1
RHO = 0.75  # the fraction of increasing steps below which the step size halves (condition 1)
INITIAL_STEP = 2.0  # eta^(0) = 2 eps
DIVISION_EPS = 1e-12


def checkpoints(n_iter: int) -> tuple[tuple[int, int], ...]:
  """The checkpoints of `n_iter` iterations as `(iteration, window)` pairs: the step size is checked after the
  0-based iteration `iteration`, over the `window` iterations since the previous checkpoint."""
  window = max(int(0.22 * n_iter), 1)
  shrink, smallest = max(int(0.03 * n_iter), 1), max(int(0.06 * n_iter), 1)
  out, last = [], -1
  while last + window < n_iter:
    last += window
    out.append((last, window))
    window = max(window - shrink, smallest)
  return tuple(out)


def _per_example(fn, x):
  return fn(x, axis=tuple(range(1, x.ndim)), keepdims=True)


def _l2(x):
  return jnp.sqrt(_per_example(jnp.sum, jnp.square(x)))


def unit(x, norm):
  """`x / ||x||` per example in the L-inf or L2 norm (`+ 1e-12` in the denominator). `norm` is `"linf"`, `"l2"` or
  a traced boolean, True for L-inf (so that one compiled attack serves both norms)."""
  linf = norm == "linf" if isinstance(norm, str) else norm
  size = jnp.where(linf, _per_example(jnp.max, jnp.abs(x)), _l2(x))
  return x / (size + DIVISION_EPS)


def project(images, adv, eps, norm):
  """The projection `P_S` of `adv` onto the eps ball around `images` intersected with the pixel box [0, 1] (`norm`
  as in `unit`)."""
  linf = norm == "linf" if isinstance(norm, str) else norm
  delta = adv - images
  delta = jnp.where(linf, jnp.clip(delta, -eps, eps), unit(delta, "l2") * jnp.minimum(eps, _l2(delta)))
  return jnp.clip(images + delta, 0.0, 1.0)


def _top4(logits):
  # The four largest logits; a 3-class problem pads the fourth with the third (only `dlr_targeted` reads it).
  if logits.shape[-1] < 4:
    logits = jnp.concatenate([logits, jnp.repeat(logits.min(-1, keepdims=True), 4 - logits.shape[-1], -1)], -1)
  return jax.lax.top_k(logits, 4)[0]


def _label_logit(logits, labels):
  return jnp.take_along_axis(logits, labels[:, None], axis=-1)[:, 0]


def loss_values(name: str, logits, labels, targets=None):
  """The per-example loss `name` (`LOSSES`) of `logits [B, K]`, to be maximised; `targets` for `dlr_targeted`."""
  if name == "ce":
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels)
  top = _top4(logits)
  z_y = _label_logit(logits, labels)
  if name == "dlr":
    other = jnp.where(jnp.argmax(logits, -1) == labels, top[:, 1], top[:, 0])  # max_{i != y} z_i
    return -(z_y - other) / (top[:, 0] - top[:, 2] + DIVISION_EPS)
  z_t = _label_logit(logits, targets)
  return -(z_y - z_t) / (top[:, 0] - 0.5 * (top[:, 2] + top[:, 3]) + DIVISION_EPS)


def check(logits_shape, *, eps, norm: str, loss: str = "ce", n_iter: int = 100) -> None:
  """Raises a ValueError naming the problem for a budget, norm, loss or class count APGD cannot use."""
  if norm not in NORMS:
    raise ValueError(f"Unknown norm {norm!r}. Valid: {', '.join(NORMS)}.")
  if loss not in LOSSES:
    raise ValueError(f"Unknown APGD loss {loss!r}. Valid: {', '.join(LOSSES)}.")
  if not eps >= 0:
    raise ValueError(f"eps must be >= 0, got {eps}.")
  if n_iter < 1:
    raise ValueError(f"n_iter must be >= 1, got {n_iter}.")
  need = {"ce": 2, "dlr": 3, "dlr_targeted": 4}[loss]
  if logits_shape[-1] < need:
    raise ValueError(
      f"the {loss} loss needs at least {need} classes, the model has {logits_shape[-1]}: use the ce loss "
      "(APGD-CE) instead."
    )


def single_run(logits_fn, params, images, labels, targets, active, key, eps, *, norm, loss, n_iter, rho=RHO):
  """One APGD run from a random start: `(adv, broken)`, `adv` the first misclassified iterate of the samples that
  are `active` and `broken`, the clean image elsewhere. `targets` are used by `dlr_targeted` only."""
  return _single_run(
    logits_fn, params, images, labels, targets, active, key, eps, norm == "linf", loss=loss, n_iter=n_iter, rho=rho
  )


@functools.partial(jax.jit, static_argnames=("logits_fn", "loss", "n_iter", "rho"))
def _single_run(logits_fn, params, images, labels, targets, active, key, eps, linf, *, loss, n_iter, rho):
  eps = jnp.asarray(eps, images.dtype)

  def total_loss(x):
    logits = logits_fn(params, x)
    values = loss_values(loss, logits, labels, targets)
    return jnp.sum(values), (values, jnp.argmax(logits, -1) != labels)

  grad_fn = jax.grad(total_loss, has_aux=True)
  # The start: uniform in the box scaled onto its surface (L-inf), or a Gaussian direction on the sphere (L2).
  uniform_key, normal_key = jax.random.split(key)
  start = jnp.where(
    linf,
    jax.random.uniform(uniform_key, images.shape, images.dtype, -1.0, 1.0),
    jax.random.normal(normal_key, images.shape, images.dtype),
  )
  x = jnp.clip(images + eps * unit(start, linf), 0.0, 1.0)
  grad, (value, wrong) = grad_fn(x)
  scalar = (images.shape[0],) + (1,) * (images.ndim - 1)
  state = {
    "x": x,
    "x_prev": x,
    "grad": grad,
    "step": jnp.full(scalar, INITIAL_STEP, images.dtype) * eps,
    "x_best": x,
    "grad_best": grad,
    "loss_best": value,
    "adv": x,
    "broken": wrong,
    "loss_prev": value,
    "increases": jnp.zeros(value.shape, jnp.int32),
    "loss_best_at_check": value,
    "halved_at_check": jnp.ones(value.shape, bool),  # condition 2 cannot hold at the first checkpoint
  }
  is_check = [False] * n_iter
  window = [1] * n_iter
  for iteration, length in checkpoints(n_iter):
    is_check[iteration], window[iteration] = True, length

  def step(s, xs):
    index, checking, length = xs
    alpha = jnp.where(index == 0, 1.0, MOMENTUM)
    direction = jnp.where(linf, jnp.sign(s["grad"]), unit(s["grad"], "l2"))
    z = project(images, s["x"] + s["step"] * direction, eps, linf)
    x_new = project(images, s["x"] + alpha * (z - s["x"]) + (1 - alpha) * (s["x"] - s["x_prev"]), eps, linf)
    grad, (value, wrong) = grad_fn(x_new)
    s = dict(s, x_prev=s["x"])
    s["adv"] = jnp.where(_expand(wrong, x_new), x_new, s["adv"])
    s["broken"] = s["broken"] | wrong
    s["increases"] = s["increases"] + (value > s["loss_prev"]).astype(jnp.int32)
    s["loss_prev"] = value
    better = value > s["loss_best"]
    s["x_best"] = jnp.where(_expand(better, x_new), x_new, s["x_best"])
    s["grad_best"] = jnp.where(_expand(better, x_new), grad, s["grad_best"])
    s["loss_best"] = jnp.where(better, value, s["loss_best"])
    oscillating = s["increases"] <= length * rho  # condition 1
    stalled = ~s["halved_at_check"] & (s["loss_best_at_check"] >= s["loss_best"])  # condition 2
    halve = checking & (oscillating | stalled)
    s["step"] = jnp.where(_expand(halve, x_new), s["step"] / 2, s["step"])
    s["x"] = jnp.where(_expand(halve, x_new), s["x_best"], x_new)
    s["grad"] = jnp.where(_expand(halve, x_new), s["grad_best"], grad)
    s["halved_at_check"] = jnp.where(checking, halve, s["halved_at_check"])
    s["loss_best_at_check"] = jnp.where(checking, s["loss_best"], s["loss_best_at_check"])
    s["increases"] = jnp.where(checking, 0, s["increases"])
    return s, None

  xs = (jnp.arange(n_iter), jnp.asarray(is_check), jnp.asarray(window, jnp.float32))
  state = jax.lax.scan(step, state, xs)[0]
  broken = state["broken"] & active
  return jnp.where(_expand(broken, images), state["adv"], images), broken


def _expand(flags, like):
  return flags.reshape(flags.shape + (1,) * (like.ndim - 1))


@functools.partial(jax.jit, static_argnames="logits_fn")
def _clean_logits(logits_fn, params, images):
  return logits_fn(params, images)


def apgd(
  logits_fn,
  params,
  images,
  labels,
  key,
  *,
  eps: float,
  norm: str = "linf",
  loss: str = "ce",
  n_iter: int = 100,
  n_restarts: int = 1,
  rho: float = RHO,
):
  """Untargeted APGD on `loss` (`ce`: APGD-CE, `dlr`: APGD-DLR): `(adv, broken)` for images `[B, ...]` in [0, 1].

  Only the samples the model classifies correctly are attacked; each restart attacks those still unbroken. The
  defaults are AutoAttack's standard APGD-CE (100 iterations, 1 restart).
  """
  images, labels = jnp.asarray(images), jnp.asarray(labels)
  clean = _clean_logits(logits_fn, params, images)
  check(clean.shape, eps=eps, norm=norm, loss=loss, n_iter=n_iter)
  if n_restarts < 1:
    raise ValueError(f"n_restarts must be >= 1, got {n_restarts}.")
  active = jnp.argmax(clean, -1) == labels
  adv, broken = images, jnp.zeros(labels.shape, bool)
  for restart in range(n_restarts):
    if not jnp.any(active & ~broken):
      break
    run_adv, run_broken = single_run(
      logits_fn,
      params,
      images,
      labels,
      labels,
      active & ~broken,
      jax.random.fold_in(key, restart),
      eps,
      norm=norm,
      loss=loss,
      n_iter=n_iter,
      rho=rho,
    )
    adv = jnp.where(_expand(run_broken, images), run_adv, adv)
    broken = broken | run_broken
  return adv, broken


def target_classes(clean_logits, n_target_classes: int):
  """The targets of APGD-T, `[T, B]`: for each sample the classes ranked 2nd to `(T + 1)`-th by its clean logits,
  `T = min(n_target_classes, K - 1)` (every other class when the model has fewer than `n_target_classes + 1`)."""
  count = min(n_target_classes, clean_logits.shape[-1] - 1)
  ranked = jnp.argsort(-clean_logits, axis=-1)
  return ranked[:, 1 : count + 1].T


def apgd_targeted(
  logits_fn,
  params,
  images,
  labels,
  key,
  *,
  eps: float,
  norm: str = "linf",
  n_iter: int = 100,
  n_target_classes: int = 9,
  n_restarts: int = 1,
  rho: float = RHO,
):
  """APGD-T: APGD on the targeted DLR loss, once per target class (`target_classes`) and restart, each run only
  against the samples still unbroken: `(adv, broken)`. The defaults are AutoAttack's standard APGD-T (100
  iterations, 9 target classes, 1 restart each); the model needs at least 4 classes."""
  images, labels = jnp.asarray(images), jnp.asarray(labels)
  clean = _clean_logits(logits_fn, params, images)
  check(clean.shape, eps=eps, norm=norm, loss="dlr_targeted", n_iter=n_iter)
  if n_target_classes < 1 or n_restarts < 1:
    raise ValueError(f"n_target_classes and n_restarts must be >= 1, got {n_target_classes} and {n_restarts}.")
  active = jnp.argmax(clean, -1) == labels
  adv, broken = images, jnp.zeros(labels.shape, bool)
  for index, targets in enumerate(target_classes(clean, n_target_classes)):
    for restart in range(n_restarts):
      if not jnp.any(active & ~broken):
        break
      run_adv, run_broken = single_run(
        logits_fn,
        params,
        images,
        labels,
        targets,
        active & ~broken,
        jax.random.fold_in(key, index * n_restarts + restart),
        eps,
        norm=norm,
        loss="dlr_targeted",
        n_iter=n_iter,
        rho=rho,
      )
      adv = jnp.where(_expand(run_broken, images), run_adv, adv)
      broken = broken | run_broken
  return adv, broken
