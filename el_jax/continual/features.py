"""Running a model for its logits and its penultimate-layer features (the input of its classifier layer).

The classifier is the model's `head` attribute (`nnx.Linear`; `mlp`, the ResNets and most el_jax models name it
so). Inside the trace the head is swapped for an identity, the model's forward pass gives the features, and the
head maps them to the logits, so no model needs a separate feature method.
"""

import jax
from flax import nnx

from el_jax.train.step import ModelParts


class _Identity(nnx.Module):
  def __call__(self, x):
    return x


def apply_with_features(
  graphdef, model_parts: ModelParts, params, model_state, images, *, rng=None, head: str = "head"
):
  """`(logits, features, new_model_state)` of the model of `graphdef` (train or eval mode) on `images`."""
  rng_state, model_state = jax.tree.map(lambda x: x, (model_parts.rng_state, model_state))
  model = nnx.merge(graphdef, params, rng_state, model_state)
  if rng is not None and model_parts.rng_streams:
    nnx.reseed(model, **{name: jax.random.fold_in(rng, i) for i, name in enumerate(model_parts.rng_streams)})
  classifier = getattr(model, head, None)
  if not isinstance(classifier, nnx.Module):
    raise ValueError(
      f"{type(model).__name__} has no classifier layer named {head!r}; LFL needs the penultimate features of a model "
      "whose last layer is its `head` attribute (e.g. mlp, resnet18)."
    )
  setattr(model, head, _Identity())
  features = model(images)
  setattr(model, head, classifier)
  logits = classifier(features)
  return logits, features, nnx.state(model, nnx.Not(nnx.Any(nnx.Param, nnx.RngState)))
