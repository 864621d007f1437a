"""AutoAttack (Croce & Hein, ICML 2020): attacks run in a fixed order, each only on the samples still robust.

A sample is robust to an ensemble when it is classified correctly and no attack of the ensemble finds a
misclassified point in its eps ball (L-inf or L2) within the pixel box [0, 1]. `run` applies the attacks in order,
each to the samples that every earlier one left robust (so a sample broken once is never reported robust), and
reports the robust accuracy after each attack and overall: the fraction of all attacked samples still robust.

The standard version, `ENSEMBLES["autoattack"]` (the reference implementation's `version="standard"` for L-inf and
L2), is APGD-CE (100 iterations, 1 restart), APGD-T (100 iterations, 9 target classes, 1 restart each), FAB-T (100
iterations, 9 target classes, 1 restart) and Square (5000 queries, `p_init = 0.8`, 1 restart). Only that ensemble at
those settings is called "autoattack"; the other named ensembles are cheaper subsets, never reported as AutoAttack:

  autoattack        APGD-CE, APGD-T, FAB-T, Square: the standard version
  apgd-ce           APGD-CE alone
  apgd-ce+apgd-t    APGD-CE, then APGD-T
  apgd-ce+apgd-t3   APGD-CE, then APGD-T on 3 target classes only

A result's `name` is the ensemble's name, with `(custom settings)` appended when `run` is given settings other than
the ensemble's own, so a reduced AutoAttack reads `autoattack (custom settings)`.

The `adversarial` evaluator (`el_jax.evaluate.evaluators`) runs an ensemble by name at given budgets and reports,
beside the robust accuracies, the detection accuracy rate under it (DAR; HEM §5.1: with the rejection threshold that
accepts 95% of the correctly classified clean samples, the fraction of the ensemble's adversarial examples, the clean
image where no attack succeeded, that are accepted and correct or rejected and wrong).

Samples are attacked in chunks of `batch_size` still-robust samples, the last chunk padded (by repeating a sample,
whose results are dropped) to a power of two of at least `min_chunk`, so each attack compiles for a few batch sizes
only and a handful of samples left robust is not attacked at the cost of a full batch. The randomness of attack `a`
on chunk `c` is `fold_in(fold_in(key(seed), a), c)`: a run is deterministic given its seed.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from el_jax.evaluate import apgd, fab, square

STANDARD_ORDER = ("apgd-ce", "apgd-t", "fab-t", "square")
MIN_CHUNK = 8  # the smallest padded chunk of still-robust samples
BALL_TOLERANCE = 1e-5  # float32 rounding of x + delta - x; a larger excess means an attack left the ball


@dataclasses.dataclass(frozen=True)
class Settings:
  """The attacks' settings; the defaults are the standard version's (L-inf and L2).

  Attributes:
    n_iter: iterations per run of APGD-CE, APGD-T and FAB-T.
    apgd_restarts: APGD-CE's random restarts.
    n_target_classes: APGD-T's and FAB-T's target classes (the highest clean logits after the top one; every other
      class when the model has fewer than `n_target_classes + 1`), one run each.
    square_queries: Square's queries (model evaluations) per sample.
    square_p_init: Square's initial fraction of the image a square covers.
  """

  n_iter: int = 100
  apgd_restarts: int = 1
  n_target_classes: int = 9
  square_queries: int = 5000
  square_p_init: float = 0.8


@dataclasses.dataclass(frozen=True)
class Result:
  """What an ensemble found on `N` samples at one budget.

  Attributes:
    name: the ensemble's name (`(custom settings)` appended when they are not the standard version's).
    attacks: the attacks, in the order they ran.
    norm: `linf` or `l2`.
    eps: the budget.
    adv: `[N, ...]` the first misclassified point found for each broken sample; the clean image for the others.
    clean_correct: `[N]` whether the model classifies the clean image correctly.
    robust: `[N]` correct and unbroken by every attack.
    broken_by: `[N]` the index in `attacks` of the attack that broke the sample; -1 where none did (robust, or
      misclassified clean).
    robust_accuracy: `{"clean": ..., attack: ...}` the fraction of the `N` samples robust before any attack and
      after each attack (cumulative: the last is the ensemble's robust accuracy).
  """

  name: str
  attacks: tuple
  norm: str
  eps: float
  adv: np.ndarray
  clean_correct: np.ndarray
  robust: np.ndarray
  broken_by: np.ndarray
  robust_accuracy: dict


def _apgd_ce(logits_fn, params, images, labels, key, *, eps, norm, settings):
  n_iter, restarts = settings.n_iter, settings.apgd_restarts
  return apgd.apgd(logits_fn, params, images, labels, key, eps=eps, norm=norm, n_iter=n_iter, n_restarts=restarts)


def _apgd_t(logits_fn, params, images, labels, key, *, eps, norm, settings):
  return apgd.apgd_targeted(
    logits_fn,
    params,
    images,
    labels,
    key,
    eps=eps,
    norm=norm,
    n_iter=settings.n_iter,
    n_target_classes=settings.n_target_classes,
  )


def _fab_t(logits_fn, params, images, labels, key, *, eps, norm, settings):
  n_iter, targets = settings.n_iter, settings.n_target_classes
  return fab.fab_targeted(
    logits_fn, params, images, labels, key, eps=eps, norm=norm, n_iter=n_iter, n_target_classes=targets
  )


def _square(logits_fn, params, images, labels, key, *, eps, norm, settings):
  return square.square(
    logits_fn,
    params,
    images,
    labels,
    key,
    eps=eps,
    norm=norm,
    n_queries=settings.square_queries,
    p_init=settings.square_p_init,
  )


ATTACKS = {"apgd-ce": _apgd_ce, "apgd-t": _apgd_t, "fab-t": _fab_t, "square": _square}
ENSEMBLES = {  # name: (attacks, settings)
  "autoattack": (STANDARD_ORDER, Settings()),
  "apgd-ce": (("apgd-ce",), Settings()),
  "apgd-ce+apgd-t": (("apgd-ce", "apgd-t"), Settings()),
  "apgd-ce+apgd-t3": (("apgd-ce", "apgd-t"), Settings(n_target_classes=3)),
}


def resolve(ensemble) -> tuple[str, tuple, Settings]:
  """`(name, attacks, settings)` of a named ensemble (`ENSEMBLES`) or of a sequence of attack names (`ATTACKS`, in
  the standard version's order, at its settings); a ValueError naming the valid ones otherwise."""
  if isinstance(ensemble, str):
    if ensemble in ENSEMBLES:
      return ensemble, *ENSEMBLES[ensemble]
    raise ValueError(f"Unknown attack ensemble {ensemble!r}. Valid: {', '.join(ENSEMBLES)}.")
  attacks = tuple(ensemble)
  unknown = [a for a in attacks if a not in ATTACKS]
  if unknown or not attacks:
    raise ValueError(f"Unknown or no attacks {unknown or attacks}. Valid: {', '.join(ATTACKS)}.")
  order = [STANDARD_ORDER.index(a) for a in attacks]
  if order != sorted(set(order)):
    raise ValueError(f"attacks {list(attacks)} must be distinct and in the standard order {', '.join(STANDARD_ORDER)}.")
  return "autoattack" if attacks == STANDARD_ORDER else "+".join(attacks), attacks, Settings()


def perturbation_norm(adv, images, norm: str) -> np.ndarray:
  """The per-sample size `||adv - images||` (L-inf or L2) of `[N, ...]` arrays."""
  delta = (np.asarray(adv, np.float64) - np.asarray(images, np.float64)).reshape(len(adv), -1)
  return np.abs(delta).max(1, initial=0.0) if norm == "linf" else np.linalg.norm(delta, axis=1)


def _predictions(logits_fn, params, images):
  return np.asarray(jnp.argmax(apgd._clean_logits(logits_fn, params, jnp.asarray(images)), -1))


def run(
  logits_fn,
  params,
  images,
  labels,
  *,
  eps: float,
  norm: str = "linf",
  ensemble="autoattack",
  settings: Settings | None = None,
  seed: int = 0,
  batch_size: int = 500,
  min_chunk: int = MIN_CHUNK,
) -> Result:
  """Runs `ensemble` (a name of `ENSEMBLES`, or attack names in the standard order) with budget `eps` in `norm` on
  `images [N, H, W, C]` in [0, 1] with integer `labels [N]`; `logits_fn(params, images)` is the model. `settings`
  replace the ensemble's own (the result's name then says so). Chunks hold at most `batch_size` samples and are
  padded to at least `min_chunk` (a larger `min_chunk` compiles fewer batch sizes).

  Raises:
    ValueError: for an unknown ensemble or norm, a negative budget, images outside [0, 1] or mismatched labels.
    RuntimeError: if an attack returns a point outside the eps ball or the pixel box (a bug, never expected).
  """
  name, attacks, own_settings = resolve(ensemble)
  if settings is None:
    settings = own_settings
  elif settings != own_settings:
    name += " (custom settings)"
  if norm not in apgd.NORMS:
    raise ValueError(f"Unknown norm {norm!r}. Valid: {', '.join(apgd.NORMS)}.")
  if not eps >= 0:
    raise ValueError(f"eps must be >= 0, got {eps}.")
  images, labels = np.asarray(images, np.float32), np.asarray(labels, np.int32)
  if labels.shape != images.shape[:1]:
    raise ValueError(f"labels {labels.shape} must have one entry per image of {images.shape}.")
  if images.size and (images.min() < 0 or images.max() > 1):
    raise ValueError(f"images must be in [0, 1] pixel space, got [{images.min()}, {images.max()}]: divide by 255.")
  if batch_size < 1 or min_chunk < 1:
    raise ValueError(f"batch_size and min_chunk must be >= 1, got {batch_size} and {min_chunk}.")
  n = len(images)
  chunk = max(1, min(batch_size, n))
  clean_correct = np.concatenate(
    [_predictions(logits_fn, params, images[i : i + chunk]) == labels[i : i + chunk] for i in range(0, n, chunk)]
    or [np.zeros(0, bool)]
  )
  robust, adv = clean_correct.copy(), images.copy()
  broken_by = np.full(n, -1, np.int32)
  accuracy = {"clean": float(robust.mean()) if n else float("nan")}
  key = jax.random.key(seed)
  for a, attack in enumerate(attacks):
    remaining = np.flatnonzero(robust)
    for c, start in enumerate(range(0, len(remaining), chunk)):
      index = remaining[start : start + chunk]
      padded_size = min(chunk, max(min_chunk, 1 << (len(index) - 1).bit_length()))  # the next power of two
      padded = np.concatenate([index, np.full(padded_size - len(index), index[-1])])
      x, y = images[padded], labels[padded]
      out, _ = ATTACKS[attack](
        logits_fn,
        params,
        jnp.asarray(x),
        jnp.asarray(y),
        jax.random.fold_in(jax.random.fold_in(key, a), c),
        eps=eps,
        norm=norm,
        settings=settings,
      )
      broken = (_predictions(logits_fn, params, out) != y)[: len(index)]
      out = np.asarray(out)[: len(index)]
      size = perturbation_norm(out, images[index], norm)
      if np.any(size > eps * (1 + BALL_TOLERANCE) + BALL_TOLERANCE) or out.min() < 0 or out.max() > 1:
        raise RuntimeError(f"{attack} returned a point outside the {norm} ball of radius {eps} or the pixel box.")
      adv[index[broken]] = out[broken]
      robust[index[broken]] = False
      broken_by[index[broken]] = a
    accuracy[attack] = float(robust.mean()) if n else float("nan")
  return Result(name, attacks, norm, float(eps), adv, clean_correct, robust, broken_by, accuracy)
