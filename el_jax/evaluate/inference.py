"""A model as a pure function of its parameters and [0, 1] pixels, run over whole datasets in padded batches.

`Classifier` splits an NNX model once: `logits_fn(params, images)` merges the structure with `params`, applies the
dataset's normalisation `(x - mean) / std` and returns logits, so attacks can differentiate with respect to pixels.
Every dataset-level function visits each example exactly once: the last batch is zero-padded and the padding's
outputs are cut off, so nothing is dropped and nothing is counted twice.
"""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from el_jax.data import pipeline
from el_jax.data.arrays import ArrayDataset
from el_jax.evaluate import attacks


@dataclasses.dataclass(frozen=True, eq=False)
class Classifier:
  """An evaluation-mode model split into a static `logits_fn` and its `params` (all of its state)."""

  logits_fn: object
  params: object

  @classmethod
  def from_model(cls, model: nnx.Module, normalization: tuple | None) -> "Classifier":
    model.eval()
    graphdef, state = nnx.split(model)
    if normalization is None:
      mean, std = np.float32(0.0), np.float32(1.0)
    else:
      mean, std = (np.asarray(v, np.float32) for v in normalization)

    def logits_fn(params, images):
      return nnx.merge(graphdef, params)((images - mean) / std)

    return cls(logits_fn, state)


def _batches(images: np.ndarray, labels: np.ndarray, batch_size: int):
  data = ArrayDataset(images, labels, int(labels.max()) + 1 if len(labels) else 1, name="batches")
  for batch in pipeline.eval_batches(data, batch_size=batch_size):
    yield jnp.asarray(batch["image"]), jnp.asarray(batch["label"]), int(batch["mask"].sum())


@functools.partial(jax.jit, static_argnames="logits_fn")
def _logits(logits_fn, params, images):
  return logits_fn(params, images)


def logits(classifier: Classifier, images: np.ndarray, *, batch_size: int = 1000) -> np.ndarray:
  """The logits `[N, K]` of uint8 (or [0, 1] float) `images [N, H, W, C]`."""
  labels = np.zeros(len(images), np.int32)
  out = [
    np.asarray(_logits(classifier.logits_fn, classifier.params, x))[:count]
    for x, _, count in _batches(images, labels, batch_size)
  ]
  return np.concatenate(out)


def adversarial_logits(
  classifier: Classifier, data: ArrayDataset, attack: str, eps_values, *, seed: int = 0, batch_size: int = 1000, **kw
) -> np.ndarray:
  """The logits `[E, N, K]` of `attack`'s adversarial examples of `data` at each budget in `eps_values`.

  FGSM computes the input gradient once for all budgets; PGD runs once per budget (extra keywords, e.g. `steps`,
  go to it). `alpha` defaults to Madry et al.'s `2.5 eps / steps` for `pgd_linf` and `pgd_l2` unless given.
  """
  eps_values = [float(e) for e in eps_values]
  fn, params = classifier.logits_fn, classifier.params
  key = jax.random.key(seed)
  out = []
  for index, (x, y, count) in enumerate(_batches(data.images, data.labels, batch_size)):
    if attack == "fgsm":
      adv = attacks.fgsm_sweep(fn, params, x, y, jnp.asarray(eps_values))
      batch = [_logits(fn, params, a) for a in adv]
    else:
      batch = []
      for e_index, eps in enumerate(eps_values):
        options = dict(kw)
        options.setdefault("alpha", 2.5 * eps / options.get("steps", 10))
        batch_key = jax.random.fold_in(jax.random.fold_in(key, index), e_index)
        adv = attacks.attack(attack, fn, params, x, y, batch_key, eps=eps, **options)
        batch.append(_logits(fn, params, adv))
    out.append(np.stack([np.asarray(b)[:count] for b in batch]))
  return np.concatenate(out, axis=1)
