r"""Margins and conditional energies of a classifier's logits (EL §3 and §4.3, Figs. 1, 5 and 6, Table 12).

Reading the classifier as a conditional energy-based model :math:`p(y|x) \propto e^{-E(y|x)}` with
:math:`E(y|x) = -z_y` (EL §3), EL claims that rewarding well-classified examples pushes the energy on the data
(:math:`E(y^*|x)` for the true class) down further than the energy off the data, and enlarges the margins
:math:`z_y - \max_{k \ne y} z_k`.
"""

import jax
import jax.numpy as jnp
import numpy as np


@jax.jit
def margins(logits, labels):
  r"""Per-example margin :math:`z_y - \max_{k \ne y} z_k` (EL Fig. 6); negative when misclassified."""
  target = jnp.take_along_axis(logits, labels[:, None], axis=-1)[:, 0]
  others = jnp.where(jax.nn.one_hot(labels, logits.shape[-1], dtype=bool), -jnp.inf, logits)
  return target - jnp.max(others, axis=-1)


def energy_summary(logits, labels) -> dict:
  r"""EL Table 12's energies, averaged over examples.

  - `on_data`: the energy of the true class, :math:`E(y^*|x) = -z_{y^*}`;
  - `lowest_off_data`: the lowest energy of the other classes, :math:`\min_{y \ne y^*} E(y|x) = -\max_{y \ne y^*} z_y`;
  - `gap`: `lowest_off_data - on_data`, the mean margin (how much sharper the energy is on the data).
  """
  logits, labels = jnp.asarray(logits), jnp.asarray(labels)
  on = -jnp.take_along_axis(logits, labels[:, None], axis=-1)[:, 0]
  off = on + margins(logits, labels)
  return {"on_data": float(on.mean()), "lowest_off_data": float(off.mean()), "gap": float((off - on).mean())}


def class_energy(logits, labels, num_classes: int) -> np.ndarray:
  """`[K, K]`: row `c` is `E(y|x) = -z_y` for each `y`, averaged over the examples of true class `c` (EL Fig. 5).

  A class without examples gets a row of NaN.
  """
  logits, labels = np.asarray(logits, np.float64), np.asarray(labels)
  counts = np.bincount(labels, minlength=num_classes)
  sums = np.zeros((num_classes, logits.shape[1]))
  np.add.at(sums, labels, -logits)
  with np.errstate(invalid="ignore", divide="ignore"):
    return np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], np.nan)


def summary(values) -> dict:
  """Mean, standard deviation, quantiles (1, 10, 50, 90, 99%) and the fraction below zero of a 1-D array."""
  values = np.asarray(values, np.float64)
  quantiles = np.quantile(values, [0.01, 0.1, 0.5, 0.9, 0.99])
  out = {"mean": float(values.mean()), "std": float(values.std())}
  out |= {f"q{int(round(q * 100)):02d}": float(v) for q, v in zip((0.01, 0.1, 0.5, 0.9, 0.99), quantiles, strict=True)}
  out["fraction_negative"] = float(np.mean(values < 0))
  return out
