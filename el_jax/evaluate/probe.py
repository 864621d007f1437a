"""The linear probe on frozen features (EL §4.3 and appendix B.2; Kang et al., 2020's decoupled classifier).

The representation is what the model feeds its last linear layer: models keep that layer as `head` (LeNet, MLP
and the other registered classifiers do), so the features are the model's output with `head` replaced by the
identity. A freshly initialised linear layer is trained on the frozen training features with cross-entropy —
EL's recipe: 20 epochs, SGD from learning rate 0.1, multiplied by 0.1 every 5 epochs (momentum 0.9, batch 256,
here) — and its test accuracy measures the representation. Each epoch visits the training features in a new
random order, in full batches (an epoch's last partial batch is left for the next reshuffle, as in training).

Classifier re-training (CRT; Kang et al., 2020, "Decoupling representation and classifier", EL Table 3) is the same
retraining with class-balanced sampling (`CRT_RECIPE`): each example of an epoch is drawn by picking a class
uniformly among the classes with training examples, then one of its examples uniformly, so that rare classes weigh
as much as common ones. EL appendix B.3: "fix representations but only re-initializes and re-train the classifier
with a re-sampling strategy ... for additional 30 epochs". Here the features are computed once without augmentation
(Kang et al. re-train with the training augmentation through the frozen network), so the classifier sees each
example's one view.
"""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from el_jax.evaluate import inference, metrics


class _Identity(nnx.Module):
  def __call__(self, x):
    return x


def has_linear_head(model: nnx.Module) -> bool:
  """Whether `model` keeps its last linear layer as the attribute `head` (where the probe takes its features)."""
  return isinstance(getattr(model, "head", None), nnx.Linear)


def feature_classifier(model: nnx.Module, normalization: tuple | None) -> inference.Classifier:
  """A copy of `model` whose output is the input of its `head` layer, as a `Classifier`."""
  if not has_linear_head(model):
    raise ValueError(
      f"{type(model).__name__} has no linear `head` layer: the probe takes features from the input of the model's "
      "last linear layer, which must be the attribute `head`."
    )
  graphdef, state = nnx.split(model)
  features = nnx.merge(graphdef, state)  # a copy: the original keeps its head
  features.head = _Identity()
  return inference.Classifier.from_model(features, normalization)


SAMPLINGS = ("uniform", "class_balanced")
SCHEDULES = ("step", "cosine")


@dataclasses.dataclass(frozen=True)
class Recipe:
  """A classifier retraining schedule; the defaults are EL appendix B.2's probe.

  `schedule="step"` multiplies the learning rate by `decay` every `decay_every_epochs`; `"cosine"` decays it to 0
  over the epochs. `sampling="uniform"` visits every training feature once per epoch in a random order;
  `"class_balanced"` draws as many per epoch, class first (uniform over the classes present), then an example of it.
  """

  epochs: int = 20
  learning_rate: float = 0.1
  decay: float = 0.1
  decay_every_epochs: int = 5
  momentum: float = 0.9
  batch_size: int = 256
  seed: int = 0
  schedule: str = "step"
  sampling: str = "uniform"

  def __post_init__(self):
    if self.schedule not in SCHEDULES:
      raise ValueError(f"Recipe.schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}.")
    if self.sampling not in SAMPLINGS:
      raise ValueError(f"Recipe.sampling must be one of {', '.join(SAMPLINGS)}, got {self.sampling!r}.")


# CRT's classifier stage on iNaturalist (EL appendix B.3: 30 more epochs with class-balanced re-sampling); the learning
# rate, momentum, batch and cosine decay are those of the representation stage the paper gives (Kang et al.'s recipe:
# SGD lr 0.2, momentum 0.9, batch 512), which the paper says it keeps unchanged.
CRT_RECIPE = Recipe(epochs=30, learning_rate=0.2, batch_size=512, schedule="cosine", sampling="class_balanced")


def train_linear(features, labels, num_classes: int, recipe: Recipe = Recipe()) -> dict:
  """Trains `W, b` on `features [N, D]` with cross-entropy as `recipe` says; returns `{"w", "b"}`."""
  features, labels = jnp.asarray(features, jnp.float32), jnp.asarray(labels, jnp.int32)
  n, dim = features.shape
  steps_per_epoch = n // recipe.batch_size
  if steps_per_epoch == 0:
    raise ValueError(f"{n} training features are fewer than the probe's batch size {recipe.batch_size}.")
  if recipe.schedule == "step":
    schedule = optax.exponential_decay(
      recipe.learning_rate, recipe.decay_every_epochs * steps_per_epoch, recipe.decay, staircase=True
    )
  else:
    schedule = optax.cosine_decay_schedule(recipe.learning_rate, recipe.epochs * steps_per_epoch)
  tx = optax.sgd(schedule, momentum=recipe.momentum)
  key_init, key_order = jax.random.split(jax.random.key(recipe.seed))
  params = {
    "w": jax.nn.initializers.lecun_normal()(key_init, (dim, num_classes)),
    "b": jnp.zeros(num_classes),
  }
  balanced = recipe.sampling == "class_balanced"
  return _fit(params, tx, features, labels, key_order, recipe.epochs, steps_per_epoch, recipe.batch_size, balanced)


def class_balanced_indices(key, labels, count: int):
  """`count` indices into `labels [N]`, each drawn by picking a class uniformly among those present in `labels`,
  then one of its examples uniformly (class-balanced sampling, with replacement)."""
  order = jnp.argsort(labels, stable=True)
  sorted_labels = labels[order]
  classes, starts, sizes = jnp.unique(sorted_labels, return_index=True, return_counts=True, size=labels.shape[0])
  present = jnp.sum(sizes > 0)  # `unique` pads its fixed-size outputs with size-0 entries after the present classes
  key_class, key_example = jax.random.split(key)
  chosen = jax.random.randint(key_class, (count,), 0, present)
  offset = jnp.floor(jax.random.uniform(key_example, (count,)) * sizes[chosen]).astype(jnp.int32)
  del classes
  return order[starts[chosen] + jnp.minimum(offset, sizes[chosen] - 1)]


@functools.partial(jax.jit, static_argnames=("tx", "epochs", "steps_per_epoch", "batch_size", "balanced"))
def _fit(params, tx, features, labels, key, epochs, steps_per_epoch, batch_size, balanced):
  def loss(params, x, y):
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(x @ params["w"] + params["b"], y))

  def epoch(carry, epoch_key):
    if balanced:
      order = class_balanced_indices(epoch_key, labels, steps_per_epoch * batch_size)
    else:
      order = jax.random.permutation(epoch_key, features.shape[0])[: steps_per_epoch * batch_size]

    def step(carry, indices):
      params, opt_state = carry
      grads = jax.grad(loss)(params, features[indices], labels[indices])
      updates, opt_state = tx.update(grads, opt_state, params)
      return (optax.apply_updates(params, updates), opt_state), None

    return jax.lax.scan(step, carry, order.reshape(steps_per_epoch, batch_size))[0], None

  carry = (params, tx.init(params))
  return jax.lax.scan(epoch, carry, jax.random.split(key, epochs))[0][0]


def accuracy(params, features, labels) -> float:
  """Top-1 accuracy of the linear classifier `params` on `features`."""
  return metrics.accuracy(jnp.asarray(features) @ params["w"] + params["b"], jnp.asarray(labels))


def retrained_classifier(model, normalization, train, test, *, recipe: Recipe, batch_size: int = 1000, transforms=()):
  """`(params, train_out, test_out)`: a fresh linear classifier trained on the frozen features of `train` (read with
  the evaluation `transforms`) with `recipe`, and the features and labels of both sources."""
  extractor = feature_classifier(model, normalization)
  train_out, test_out = (
    inference.predict(extractor, source, batch_size=batch_size, transforms=transforms) for source in (train, test)
  )
  if train_out.per_token:
    raise ValueError("a classifier on frozen features needs one label per example, got per-token labels.")
  return train_linear(train_out.logits, train_out.labels, train.num_classes, recipe), train_out, test_out


def linear_probe(
  model, normalization, train, test, *, recipe: Recipe = Recipe(), batch_size: int = 1000, transforms=()
) -> dict:
  """Probe accuracy: `{"train_accuracy", "test_accuracy", "feature_dim", "num_train", "recipe"}`.

  `train` and `test` are sources with one label per example (any `el_jax.data.source.Source`), read with the
  deterministic evaluation `transforms`; images are normalised with `normalization` as the model was trained.
  """
  params, train_out, test_out = retrained_classifier(
    model, normalization, train, test, recipe=recipe, batch_size=batch_size, transforms=transforms
  )
  return {
    "train_accuracy": accuracy(params, train_out.logits, train_out.labels),
    "test_accuracy": accuracy(params, test_out.logits, test_out.labels),
    "feature_dim": int(train_out.logits.shape[1]),
    "num_train": len(train),
    "recipe": dataclasses.asdict(recipe),
  }
