"""White-box adversarial attacks in [0, 1] pixel space, jitted and batched, with torchattacks' semantics.

An attack takes `logits_fn(params, images) -> logits`, a pure function of the parameters and of `[B, H, W, C]`
images in [0, 1] (it applies the model's input normalisation itself), and maximises the cross-entropy of the
true labels:

- `fgsm` (Goodfellow et al., 2015): `x' = clip(x + eps * sign(grad), 0, 1)`.
- `pgd_linf` (Madry et al., 2018): a uniform random start in the eps-box, then `steps` of
  `x' <- clip(x + clip(x' + alpha * sign(grad) - x, -eps, eps), 0, 1)`.
- `pgd_l2`: a random start `delta = eps * r * g / ||g||` (g Gaussian, r uniform in [0, 1]), then `steps` of
  `x' <- x' + alpha * grad / (||grad|| + 1e-10)`, the perturbation rescaled into the L2 ball of radius eps and the
  image clipped to [0, 1].

These are torchattacks' `FGSM`, `PGD` and `PGDL2` (defaults alpha 2/255 and 0.2, 10 steps, random start on).
Each example's gradient is its own loss's (the batch is not averaged, which for sign and normalised steps is
the same). `logits_fn` is a static argument: pass the same function object for every batch to reuse the
compiled attack.
"""

import functools

import jax
import jax.numpy as jnp
import optax

L2_DIVISION_EPS = 1e-10


def _input_grad(logits_fn, params, images, labels):
  def total_loss(x):
    return jnp.sum(optax.softmax_cross_entropy_with_integer_labels(logits_fn(params, x), labels))

  return jax.grad(total_loss)(images)


def _l2_norm(x):
  return jnp.sqrt(jnp.sum(jnp.square(x), axis=tuple(range(1, x.ndim)), keepdims=True))


@functools.partial(jax.jit, static_argnames="logits_fn")
def fgsm(logits_fn, params, images, labels, *, eps):
  r"""Fast gradient sign method: :math:`x' = \mathrm{clip}_{[0,1]}(x + \epsilon\,\mathrm{sign}\nabla_x L)`."""
  grad = _input_grad(logits_fn, params, images, labels)
  return jnp.clip(images + eps * jnp.sign(grad), 0.0, 1.0)


@functools.partial(jax.jit, static_argnames="logits_fn")
def fgsm_sweep(logits_fn, params, images, labels, eps_values):
  """`fgsm` at every budget of `eps_values [E]` from one gradient: adversarial images `[E, B, ...]`."""
  step = jnp.sign(_input_grad(logits_fn, params, images, labels))
  eps_values = jnp.asarray(eps_values, images.dtype).reshape((-1,) + (1,) * images.ndim)
  return jnp.clip(images[None] + eps_values * step[None], 0.0, 1.0)


@functools.partial(jax.jit, static_argnames=("logits_fn", "steps", "random_start"))
def pgd_linf(logits_fn, params, images, labels, key, *, eps, alpha=2 / 255, steps=10, random_start=True):
  r"""Projected gradient descent in the :math:`L_\infty` ball of radius `eps` (torchattacks' `PGD`)."""
  adv = images
  if random_start:
    adv = jnp.clip(images + jax.random.uniform(key, images.shape, images.dtype, -eps, eps), 0.0, 1.0)

  def step(adv, _):
    adv = adv + alpha * jnp.sign(_input_grad(logits_fn, params, adv, labels))
    delta = jnp.clip(adv - images, -eps, eps)
    return jnp.clip(images + delta, 0.0, 1.0), None

  return jax.lax.scan(step, adv, None, length=steps)[0]


@functools.partial(jax.jit, static_argnames=("logits_fn", "steps", "random_start"))
def pgd_l2(logits_fn, params, images, labels, key, *, eps, alpha=0.2, steps=10, random_start=True):
  r"""Projected gradient descent in the :math:`L_2` ball of radius `eps` (torchattacks' `PGDL2`)."""
  adv = images
  if random_start:
    direction_key, radius_key = jax.random.split(key)
    direction = jax.random.normal(direction_key, images.shape, images.dtype)
    radius = jax.random.uniform(radius_key, (images.shape[0],) + (1,) * (images.ndim - 1), images.dtype)
    adv = jnp.clip(images + direction / _l2_norm(direction) * radius * eps, 0.0, 1.0)

  def step(adv, _):
    grad = _input_grad(logits_fn, params, adv, labels)
    adv = adv + alpha * grad / (_l2_norm(grad) + L2_DIVISION_EPS)
    delta = adv - images
    norm = _l2_norm(delta)
    delta = delta * jnp.where(norm > eps, eps / jnp.maximum(norm, L2_DIVISION_EPS), 1.0)
    return jnp.clip(images + delta, 0.0, 1.0), None

  return jax.lax.scan(step, adv, None, length=steps)[0]


ATTACKS = {"fgsm": fgsm, "pgd_linf": pgd_linf, "pgd_l2": pgd_l2}


def attack(name: str, logits_fn, params, images, labels, key, *, eps, **kwargs):
  """Runs attack `name` (`fgsm`, `pgd_linf` or `pgd_l2`) with budget `eps`; extra keywords go to the attack."""
  if name not in ATTACKS:
    raise ValueError(f"Unknown attack {name!r}. Valid: {', '.join(ATTACKS)}.")
  if eps < 0:
    raise ValueError(f"eps must be >= 0, got {eps}.")
  if name == "fgsm":
    return fgsm(logits_fn, params, images, labels, eps=eps)
  return ATTACKS[name](logits_fn, params, images, labels, key, eps=eps, **kwargs)
