"""The mixing paper's UCI protocol (§4.4, Table 4), with every learning rate and seed of a sweep trained at once.

For each (set, network, loss): a linear classifier (`I x C`) or one hidden layer (`I x I`, ReLU, then `I x C`),
batch 8, 50 epochs, each learning rate of the sweep; the learning rate and the epoch are chosen by validation
accuracy, and the test accuracy at that choice is reported. The paper does not name its optimiser: we use SGD with
momentum 0.9. All (learning rate, seed) pairs train together under `jax.vmap`, one `lax.scan` per epoch, so a sweep
over a small set costs one compilation.

Table 4's summary statistics over sets: wins (the sets on which a loss's mean accuracy matches or beats every other
loss), the mean accuracy change against CE, and the mean rank among the losses (1 = best; ties share the mean rank).
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax

from el_jax import data, losses


@dataclasses.dataclass(frozen=True)
class Sweep:
  """What to train: sets x networks x losses, each over `learning_rates` x `seeds`."""

  datasets: tuple = ("digits", "iris", "wine", "breast_cancer")
  networks: dict = dataclasses.field(default_factory=lambda: {"linear": 0, "hidden": 1})  # name -> hidden layers
  losses: dict = dataclasses.field(default_factory=dict)  # label -> loss config {"name": ..., hyper-parameters}
  learning_rates: tuple = (0.01, 0.005, 0.001)
  seeds: tuple = (0, 1, 2)
  epochs: int = 50
  batch_size: int = 8
  momentum: float = 0.9


def init_params(key, input_dim: int, num_classes: int, hidden_layers: int) -> list:
  """`[(W, b), ...]`: LeCun-normal weights and zero biases; hidden layers are `input_dim` wide."""
  sizes = [input_dim] * (hidden_layers + 1) + [num_classes]
  keys = jax.random.split(key, len(sizes) - 1)
  init = jax.nn.initializers.lecun_normal()
  return [
    (init(k, (n_in, n_out)), jnp.zeros(n_out)) for k, n_in, n_out in zip(keys, sizes[:-1], sizes[1:], strict=True)
  ]


def apply(params: list, x):
  """ReLU between the layers, none after the last."""
  for w, b in params[:-1]:
    x = jax.nn.relu(x @ w + b)
  w, b = params[-1]
  return x @ w + b


def _accuracy(params, x, y):
  return jnp.mean(jnp.argmax(apply(params, x), axis=-1) == y)


def train_sweep(train, validation, test, *, hidden_layers: int, loss: dict, sweep: Sweep) -> dict:
  """Trains every (learning rate, seed) pair; returns accuracies `[epochs, learning rates, seeds]` per split."""
  objective = losses.get_objective(loss["name"], **{k: v for k, v in loss.items() if k != "name"})
  x, y = jnp.asarray(train.images), jnp.asarray(train.labels)
  steps = len(train) // sweep.batch_size
  if steps == 0:
    raise ValueError(f"{train.name}: {len(train)} training examples, fewer than one batch of {sweep.batch_size}.")
  total = steps * sweep.epochs
  tx = optax.sgd(1.0, momentum=sweep.momentum)  # updates scale linearly with the learning rate: applied below

  splits = (train, validation, test)  # accuracies recorded after every epoch

  def run_one(lr, seed):
    key = jax.random.key(seed)
    params = init_params(jax.random.fold_in(key, 0), x.shape[1], train.num_classes, hidden_layers)
    opt_state = tx.init(params)

    def epoch(carry, epoch_index):
      params, opt_state = carry
      order = jax.random.permutation(jax.random.fold_in(jax.random.fold_in(key, 1), epoch_index), len(y))
      batches = order[: steps * sweep.batch_size].reshape(steps, sweep.batch_size)

      def step(carry, inputs):
        params, opt_state = carry
        index, rows = inputs
        progress = (epoch_index * steps + index) / total
        grads = jax.grad(lambda p: objective(apply(p, x[rows]), y[rows], progress=progress))(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        params = optax.apply_updates(params, jax.tree.map(lambda u: lr * u, updates))
        return (params, opt_state), None

      (params, opt_state), _ = jax.lax.scan(step, (params, opt_state), (jnp.arange(steps), batches))
      accuracies = jnp.stack([_accuracy(params, jnp.asarray(s.images), jnp.asarray(s.labels)) for s in splits])
      return (params, opt_state), accuracies

    _, accuracies = jax.lax.scan(epoch, (params, opt_state), jnp.arange(sweep.epochs))
    return accuracies  # [epochs, 3]

  lrs = jnp.asarray(sweep.learning_rates, jnp.float32)
  seeds = jnp.asarray(sweep.seeds, jnp.uint32)
  per_lr = jax.vmap(jax.vmap(run_one, in_axes=(None, 0)), in_axes=(0, None))
  accuracies = np.asarray(jax.jit(per_lr)(lrs, seeds))  # [lrs, seeds, epochs, 3]
  accuracies = accuracies.transpose(2, 0, 1, 3)  # [epochs, lrs, seeds, 3]
  return {name: accuracies[..., i] for i, name in enumerate(("train", "validation", "test"))}


def select(accuracies: dict) -> dict:
  """Per seed, the (learning rate, epoch) with the best validation accuracy (the first on ties) and its test
  accuracy: `{"test": [seeds], "learning_rate_index": [seeds], "epoch": [seeds]}`."""
  validation = accuracies["validation"]  # [epochs, lrs, seeds]
  epochs, lrs, seeds = validation.shape
  flat = validation.transpose(2, 1, 0).reshape(seeds, lrs * epochs)  # learning rate major: smaller index first
  best = flat.argmax(axis=1)
  lr_index, epoch = np.divmod(best, epochs)
  test = accuracies["test"][epoch, lr_index, np.arange(seeds)]
  return {"test": test.tolist(), "learning_rate_index": lr_index.tolist(), "epoch": (epoch + 1).tolist()}


def run(sweep: Sweep, *, log=print) -> list[dict]:
  """Every (set, network, loss) of the sweep: one record each with per-seed test accuracies."""
  records = []
  for name in sweep.datasets:
    splits = [data.load(f"uci_{name}", split) for split in ("train", "validation", "test")]
    for network, hidden_layers in sweep.networks.items():
      for label, loss in sweep.losses.items():
        chosen = select(train_sweep(*splits, hidden_layers=hidden_layers, loss=loss, sweep=sweep))
        record = {"dataset": name, "network": network, "loss": label, "seeds": list(sweep.seeds)} | chosen
        record["learning_rate"] = [sweep.learning_rates[i] for i in chosen["learning_rate_index"]]
        log(f"uci {name} {network} {label}: test accuracy {np.mean(chosen['test']):.4f}")
        records.append(record)
  return records


def _ranks(row: np.ndarray) -> np.ndarray:
  """Ranks of `row`'s values, 1 for the largest; ties share their mean rank."""
  order = (-row).argsort(kind="stable")
  ranks = np.empty(len(row))
  ranks[order] = np.arange(1, len(row) + 1)
  for value in np.unique(row):
    tied = row == value
    ranks[tied] = ranks[tied].mean()
  return ranks


def table4(records: list[dict], baseline: str = "ce") -> dict:
  """Table 4's statistics per network: `{network: {loss: {"wins", "delta_accuracy", "mean_rank"}}}`.

  Each set's accuracy of a loss is its mean over seeds; `delta_accuracy` is in percentage points.
  """
  out = {}
  for network in dict.fromkeys(r["network"] for r in records):
    rows = [r for r in records if r["network"] == network]
    labels = list(dict.fromkeys(r["loss"] for r in rows))
    sets = list(dict.fromkeys(r["dataset"] for r in rows))
    acc = np.array(
      [
        [np.mean(next(r["test"] for r in rows if r["dataset"] == s and r["loss"] == lab)) for lab in labels]
        for s in sets
      ]
    )  # [sets, losses]
    ranks = np.stack([_ranks(a) for a in acc])
    wins = (acc >= acc.max(axis=1, keepdims=True) - 1e-12).sum(axis=0)
    base = acc[:, labels.index(baseline)]
    out[network] = {
      lab: {
        "wins": int(wins[i]),
        "delta_accuracy": float(100 * np.mean(acc[:, i] - base)),
        "mean_rank": float(ranks[:, i].mean()),
      }
      for i, lab in enumerate(labels)
    }
  return out
