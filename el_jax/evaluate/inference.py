"""A model as a pure function of its parameters and inputs, run over any source in padded batches.

`Classifier` splits an NNX model once: `logits_fn(params, inputs)` runs it on images `[B, H, W, C]` in [0, 1] pixel
space, applying the dataset's normalisation `(x - mean) / std` itself so that attacks can differentiate with respect
to pixels, or on a dict of named inputs (tokens, graphs, a translation's source and target), which reach the model by
name as in training (`el_jax.train.step.apply_model`).

`predict` runs a classifier over every record of a source through `el_jax.data.pipeline.eval_batches`, the one
padded-batch loop of evaluation: the last batch is zero-padded and the padding's outputs are dropped, so no example
is left out and none is counted twice. Per-token labels (`label [T]` with a `label_mask`) are flattened to one row
per unmasked token.
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
from el_jax.train import step


@dataclasses.dataclass(frozen=True, eq=False)
class Classifier:
  """An evaluation-mode model split into a static `logits_fn` and its `params` (all of its state)."""

  logits_fn: object
  params: object

  @classmethod
  def from_model(cls, model: nnx.Module, normalization: tuple | None) -> "Classifier":
    """`model` (left in evaluation mode) as a pure function; image inputs are normalised with `normalization`."""
    model_parts, params, model_state = step.split_model(model)
    if normalization is None:
      mean, std = np.float32(0.0), np.float32(1.0)
    else:
      mean, std = (np.asarray(v, np.float32) for v in normalization)

    def logits_fn(variables, inputs):
      if not isinstance(inputs, dict):  # images in [0, 1]
        inputs = (inputs - mean) / std
      return step.apply_model(model_parts.eval, model_parts, *variables, inputs)[0]

    return cls(logits_fn, (params, model_state))


@dataclasses.dataclass(frozen=True)
class Predictions:
  """A classifier's logits on a source, one row per labelled position.

  Attributes:
    logits: `[N, K]`: one row per example, or per unmasked token for per-token labels.
    labels: `[N]` int32, the labels of those rows.
    num_examples: the number of examples (records) the rows come from.
    per_token: whether the source's labels are per token (`N` counts tokens, not examples).
  """

  logits: np.ndarray
  labels: np.ndarray
  num_examples: int
  per_token: bool


@functools.partial(jax.jit, static_argnames="logits_fn")
def _logits(logits_fn, params, inputs):
  return logits_fn(params, inputs)


def run_logits(classifier: Classifier, inputs):
  """The classifier's logits on one batch of `inputs` (images in [0, 1], or a dict of named inputs), as a device
  array (jitted once per input shape)."""
  return _logits(classifier.logits_fn, classifier.params, inputs)


def _inputs(batch: dict):
  """The model inputs of a batch: its images, or the dict of its named inputs."""
  inputs = step.model_inputs(batch)
  return inputs["image"] if set(inputs) == {"image"} else inputs


def predict(classifier: Classifier, source, *, batch_size: int = 1000, transforms=()) -> Predictions:
  """The logits of `classifier` on every record of `source` (any `el_jax.data.source.Source`), with their labels.

  `transforms` are the run's deterministic evaluation transforms (e.g. a resize and centre crop); images are given
  to the classifier in [0, 1], which normalises them.
  """
  logits, labels, examples, per_token = [], [], 0, False
  for batch in pipeline.eval_batches(source, batch_size=batch_size, transforms=transforms):
    out = np.asarray(_logits(classifier.logits_fn, classifier.params, _inputs(batch)))
    keep = np.asarray(step.label_weights(batch))  # False on padding examples and padding tokens
    logits.append(out[keep])
    labels.append(batch["label"][keep])
    examples += int(batch["mask"].sum())
    per_token = batch["label"].ndim > 1
  if examples != len(source):
    raise RuntimeError(f"evaluation saw {examples} examples instead of {len(source)}.")
  if not logits:
    raise ValueError(f"{getattr(source, 'name', 'the source')} has no examples to evaluate.")
  return Predictions(np.concatenate(logits), np.concatenate(labels), examples, per_token)


def logits(classifier: Classifier, images: np.ndarray, *, batch_size: int = 1000) -> np.ndarray:
  """The logits `[N, K]` of unlabelled uint8 (or [0, 1] float) `images [N, H, W, C]` (e.g. an OOD set)."""
  unlabelled = ArrayDataset(images, np.zeros(len(images), np.int32), 1, name="images")
  return predict(classifier, unlabelled, batch_size=batch_size).logits


def adversarial_logits(
  classifier: Classifier, data, attack: str, eps_values, *, seed: int = 0, batch_size: int = 1000, transforms=(), **kw
) -> np.ndarray:
  """The logits `[E, N, K]` of `attack`'s adversarial examples of the images of `data` (a source of images and
  labels) at each budget in `eps_values`, the attack working in [0, 1] pixel space.

  FGSM computes the input gradient once for all budgets; PGD runs once per budget (extra keywords, e.g. `steps`,
  go to it), with the key `fold_in(fold_in(key(seed), batch index), budget index)`. `alpha` defaults to Madry
  et al.'s `2.5 eps / steps` for `pgd_linf` and `pgd_l2` unless given.
  """
  eps_values = [float(e) for e in eps_values]
  fn, params = classifier.logits_fn, classifier.params
  key = jax.random.key(seed)
  out = []
  for index, batch in enumerate(pipeline.eval_batches(data, batch_size=batch_size, transforms=transforms)):
    if "image" not in batch:
      raise ValueError(f"{getattr(data, 'name', 'the source')}: attacks need images, got {sorted(batch)}.")
    x, y, count = jnp.asarray(batch["image"]), jnp.asarray(batch["label"]), int(batch["mask"].sum())
    if attack == "fgsm":
      adv = attacks.fgsm_sweep(fn, params, x, y, jnp.asarray(eps_values))
      logits_by_eps = [_logits(fn, params, a) for a in adv]
    else:
      logits_by_eps = []
      for e_index, eps in enumerate(eps_values):
        options = dict(kw)
        options.setdefault("alpha", 2.5 * eps / options.get("steps", 10))
        batch_key = jax.random.fold_in(jax.random.fold_in(key, index), e_index)
        adv = attacks.attack(attack, fn, params, x, y, batch_key, eps=eps, **options)
        logits_by_eps.append(_logits(fn, params, adv))
    out.append(np.stack([np.asarray(b)[:count] for b in logits_by_eps]))
  return np.concatenate(out, axis=1)
