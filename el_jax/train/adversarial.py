"""Adversarial training (`config.adversarial`): part of each training batch replaced by adversarial examples crafted,
inside the jitted train step, against the current parameters.

PGD adversarial training (Madry et al., 2018) minimises `E_(x,y) max_{||delta|| <= eps} L(f(x + delta), y)`; the
inner maximisation is `el_jax.evaluate.attacks`' PGD (or FGSM, Goodfellow et al., 2015), the attacks the evaluation
suite runs, so a run is attacked during training exactly as it is tested. EL Table 7 / Fig. 8 train this way on
MNIST with CE and with EL (`configs/encouraging_loss/adversarial.py`); any registered loss works, since only the
inputs change.

The `adversarial` section (every entry None, the default of every config: off):

  attack        "pgd" | "fgsm": the inner maximiser (of the cross-entropy of the true labels, as in torchattacks)
  norm          "linf" (default) | "l2": the ball of the perturbation; fgsm is Linf only
  eps           radius of the ball in [0, 1] pixel space (the papers' eps), > 0
  steps         pgd: number of steps (>= 1); fgsm: one step of size eps, leave unset
  step_size     pgd: alpha of each step (> 0); fgsm: leave unset
  random_start  pgd: start at a random point of the ball (default True, as torchattacks' PGD); fgsm: leave unset
  ratio         fraction of each batch replaced by its adversarial version, in (0, 1] (default 1: Madry's PGD-AT)
  attack_mode   "eval" (default) | "train": the model mode that crafts the attack

The objective. The first `k = ratio * B` examples of each (shuffled) batch of `B` are replaced by their adversarial
versions and the run's objective is computed on the mixed batch, as on any batch:
`L = (1 / B) [sum_{i < k} l(x_i + delta_i, y_i) + sum_{i >= k} l(x_i, y_i)]` for per-example losses, i.e. Goodfellow
et al.'s (2015, Eq. 3) mixture `alpha L_clean + (1 - alpha) L_adv` with `alpha = 1 - ratio`. `ratio * B` must be a
whole number (checked: no example is silently rounded in or out).

Pixel space. Batches reach the step standardised, `x = (p - mean) / std` with `p` in [0, 1] (`dataset.normalize`,
`el_jax.data.transforms.to_float`); the attack maps them back to `p = x * std + mean`, perturbs and clips `p` in
[0, 1] and in the eps ball, and standardises the result, so eps is the papers' (and the evaluation suite's) eps.

The attack's model mode. "eval" (the default) crafts the attack with batch norm on its running statistics, not
updating them, and dropout off: each example's perturbation then depends on that example alone (batch statistics
would couple the perturbations of a batch through its mean and variance), the running statistics see only the
training forward pass, and it is what torchattacks does (its attacks put the model in eval mode), whose training
script EL's Table 7 follows. "train" crafts it on batch statistics (of the part attacked) with the update's dropout
masks; the statistics it would update are discarded either way. The attack's gradients do not reach the update:
its parameters are the current ones, held constant (`stop_gradient` on the adversarial images).
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from el_jax.evaluate import attacks

ATTACKS = ("pgd", "fgsm")
NORMS = ("linf", "l2")
ATTACK_MODES = ("eval", "train")
# The config entries of the section, in the order the module docstring lists them.
FIELDS = ("attack", "norm", "eps", "steps", "step_size", "random_start", "ratio", "attack_mode")
# fold_in constant of the attack's random start: apart from the model's RNG streams, which take 0, 1, ...
ATTACK_RNG_FOLD = 0x7FFF_FFFF


def _section(section) -> dict:
  if section is None:
    return {}
  entries = section.to_dict() if hasattr(section, "to_dict") else dict(section)
  return {k: v for k, v in entries.items() if v is not None}


@dataclasses.dataclass(frozen=True)
class Adversarial:
  """The settings of adversarial training (see the module docstring); `from_config` validates them."""

  attack: str
  eps: float
  norm: str = "linf"
  steps: int = 1
  step_size: float | None = None
  random_start: bool = False
  ratio: float = 1.0
  attack_mode: str = "eval"

  @classmethod
  def from_config(cls, section, *, has_images: bool = True, batch_size: int | None = None) -> "Adversarial | None":
    """The settings of a config's `adversarial` section; None when it is absent or all of its entries are None.

    Raises:
      ValueError: naming the entry and the fix, for an unknown entry, attack, norm or mode, `eps <= 0`, a
        missing or extra entry for the attack, `ratio` outside (0, 1] or `ratio * batch_size` not a whole number,
        and for inputs that are not images (`has_images` False: tokens, graphs, feature vectors).
    """
    given = _section(section)
    if not given:
      return None
    unknown = sorted(set(given) - set(FIELDS))
    if unknown:
      raise ValueError(f"config.adversarial has unknown entries {unknown}. Valid: {', '.join(FIELDS)}.")

    def fail(key, problem):
      raise ValueError(f"config.adversarial.{key}={given.get(key)!r} is invalid: {problem}.")

    if "attack" not in given:
      fail("attack", f"set one of {', '.join(ATTACKS)} to train adversarially, or unset every adversarial entry")
    attack = given["attack"]
    if attack not in ATTACKS:
      fail("attack", f"use one of {', '.join(ATTACKS)}")
    if not has_images:
      raise ValueError(
        "config.adversarial is set, but the run's inputs are not images [H, W, C] in [0, 1] pixels (tokens, graphs "
        "or feature vectors have no pixel-space eps ball): unset config.adversarial.attack."
      )
    norm = given.get("norm", "linf")
    if norm not in NORMS:
      fail("norm", f"use one of {', '.join(NORMS)}")
    eps = given.get("eps")
    if isinstance(eps, bool) or not isinstance(eps, int | float) or not eps > 0:
      fail("eps", "use a number > 0, the radius of the ball in [0, 1] pixel space")
    if attack == "fgsm":
      if norm != "linf":
        fail("norm", "fgsm is the Linf attack (a sign step of size eps): use norm='linf', or attack='pgd'")
      for key in ("steps", "step_size", "random_start"):
        if key in given:
          fail(key, "fgsm takes one step of size eps from the clean image: leave it unset, or use attack='pgd'")
      steps, step_size, random_start = 1, float(eps), False
    else:
      steps, step_size = given.get("steps"), given.get("step_size")
      if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        fail("steps", "pgd needs an integer number of steps >= 1")
      if isinstance(step_size, bool) or not isinstance(step_size, int | float) or not step_size > 0:
        fail("step_size", "pgd needs a step size (alpha) > 0 in pixel units")
      random_start = given.get("random_start", True)
      if random_start not in (True, False):
        fail("random_start", "use True or False")
    ratio = given.get("ratio", 1.0)
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 < ratio <= 1:
      fail("ratio", "use a fraction of the batch in (0, 1] (1: every example adversarial)")
    mode = given.get("attack_mode", "eval")
    if mode not in ATTACK_MODES:
      fail("attack_mode", f"use one of {', '.join(ATTACK_MODES)}")
    settings = cls(attack, float(eps), norm, int(steps), float(step_size), bool(random_start), float(ratio), mode)
    if batch_size is not None:
      settings.count(batch_size)
    return settings

  def count(self, batch_size: int) -> int:
    """`ratio * batch_size`, the number of adversarial examples of a batch; a ValueError unless a whole number."""
    k = round(self.ratio * batch_size)
    if k < 1 or abs(k - self.ratio * batch_size) > 1e-6:
      raise ValueError(
        f"config.adversarial.ratio={self.ratio} of a batch of {batch_size} is {self.ratio * batch_size:g} examples: "
        f"use a ratio that makes a whole number >= 1 of them (a multiple of 1/{batch_size})."
      )
    return k

  def perturb(self, logits_fn, params, pixels, labels, key):
    """Adversarial versions of `pixels [B, H, W, C]` in [0, 1] against `logits_fn(params, pixels)`, by the attacks
    of `el_jax.evaluate.attacks` (`fgsm`, `pgd_linf`, `pgd_l2`)."""
    if self.attack == "fgsm":
      return attacks.fgsm(logits_fn, params, pixels, labels, eps=self.eps)
    pgd = attacks.pgd_linf if self.norm == "linf" else attacks.pgd_l2
    return pgd(
      logits_fn,
      params,
      pixels,
      labels,
      key,
      eps=self.eps,
      alpha=self.step_size,
      steps=self.steps,
      random_start=self.random_start,
    )


def pixel_scale(normalization: tuple | None, dtype=jnp.float32):
  """`(mean, std)` arrays with `x = (p - mean) / std` for pixels `p` in [0, 1] (`(0, 1)` without normalisation)."""
  if normalization is None:
    return np.zeros((), dtype), np.ones((), dtype)
  return tuple(np.asarray(v, dtype) for v in normalization)


def adversarial_images(settings: Adversarial, logits_fn, params, images, labels, key, *, normalization=None):
  """`images [B, H, W, C]` (standardised with `normalization`) with the first `settings.count(B)` replaced by their
  adversarial versions against `logits_fn(params, standardised images)`, crafted in [0, 1] pixel space; the rest are
  returned unchanged (the same bits). No gradient flows through the attack."""
  k = settings.count(images.shape[0])
  mean, std = pixel_scale(normalization, images.dtype)

  def pixel_logits(variables, pixels):
    return logits_fn(variables, (pixels - mean) / std)

  # Pixels of uint8 images are in [0, 1] up to rounding; the clip makes the ball's centre an exact [0, 1] image.
  pixels = jnp.clip(images[:k] * std + mean, 0.0, 1.0)
  adv = settings.perturb(pixel_logits, params, pixels, labels[:k], key)
  adv = jax.lax.stop_gradient((adv - mean) / std).astype(images.dtype)
  return jnp.concatenate([adv, images[k:]], axis=0) if k < images.shape[0] else adv
