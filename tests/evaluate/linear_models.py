"""Linear models with known weights, whose smallest adversarial perturbations have a closed form."""

import jax.numpy as jnp
import numpy as np

SHAPE = (6, 6, 1)  # the attack tests share image shapes and batch sizes, so each attack compiles once


def linear_logits(params, images):
  return images.reshape(images.shape[0], -1) @ params["w"] + params["b"]


def linear_problem(num_classes, *, n=64, seed=0):
  """A random linear model labelling its own interior images (pixels in [0.3, 0.7], so no budget below 0.3 meets
  the pixel box), and each image's smallest L-inf and L2 distance to another class: for the affine logits
  `z = W^T x + b`, reaching class j from y takes `(z_y - z_j) / ||w_y - w_j||_q`, q the dual norm (1 for L-inf,
  2 for L2), so the distance to the decision boundary is the minimum of that over j != y."""
  rng = np.random.default_rng(seed)
  dim = int(np.prod(SHAPE))
  params = {"w": jnp.asarray(rng.normal(size=(dim, num_classes)), jnp.float32), "b": jnp.zeros(num_classes)}
  images = jnp.asarray(rng.uniform(0.3, 0.7, (n, *SHAPE)), jnp.float32)
  logits = np.asarray(linear_logits(params, images), np.float64)
  labels = logits.argmax(1)
  w = np.asarray(params["w"], np.float64)
  others = np.arange(num_classes) != labels[:, None]
  distance = {}
  for norm, dual in (("linf", 1), ("l2", 2)):
    margins = logits[np.arange(n), labels][:, None] - logits  # [n, K]
    sizes = np.linalg.norm(w[:, labels][:, :, None] - w[:, None, :], ord=dual, axis=0)  # [n, K], 0 at j = y
    distance[norm] = np.where(others, margins / np.where(others, sizes, 1.0), np.inf).min(1)
  return params, images, jnp.asarray(labels, jnp.int32), distance


def perturbation(adv, images, norm):
  """The per-sample L-inf or L2 size of `adv - images`, in float64."""
  delta = (np.asarray(adv, np.float64) - np.asarray(images, np.float64)).reshape(len(adv), -1)
  return np.abs(delta).max(1) if norm == "linf" else np.linalg.norm(delta, axis=1)


def judged(distance, eps, margin=0.02):
  """The samples whose distance is not within `margin` (relative) of the budget: an attack must break exactly those
  closer than eps."""
  return np.abs(distance / eps - 1) > margin
