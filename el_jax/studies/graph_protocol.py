"""The EL paper's graph-classification protocol (§4.1, Table 1, App. B.1): runs of many random splits, each split's
test accuracy taken at its epoch of best validation accuracy, reported as the mean +- sd over the runs.

The paper trains GCN + SAGPool on PROTEINS and NCI1 in 5 runs; each run draws 50 random 80/10/10 train / validation
/ test splits, trains one model per split with early stopping on the validation accuracy, and scores the split by the
test accuracy of the epoch of best validation accuracy; a run's figure is the mean over its splits, and the table
gives the mean +- standard deviation of the 5 runs' figures (PROTEINS CE 72.32 +- 0.12, EL 72.76 +- 0.18).

Here run `r` (the training seed `config.seed = r`) trains split `s` with `split_seed = r * splits + s`, so that each
run draws its own splits, in `<runs_dir>/<data>_<loss>/run<r>/split<s>/`; `best_epoch_accuracy` reads the best step
from the run's early-stopping record, loads that checkpoint and scores it on the "test" split, writing
`best_epoch.json` into the split's workdir. An interrupted protocol resumes: a split with that file is not trained
again, and a half-trained one resumes from its checkpoint. The standard deviation over runs is the sample one
(`ddof=1`); the paper does not say which it reports.

  python -m el_jax.cli.graph_protocol --data proteins --loss el --data_dir DIR --runs 5 --splits 50 \\
    --runs_dir runs/el_graphs
"""

import dataclasses
import json
import os

import numpy as np

from el_jax.evaluate import inference, metrics
from el_jax.train import checkpoint, loop, setup
from el_jax.train.workdir import Workdir

BEST_EPOCH_NAME = "best_epoch.json"
SUMMARY_NAME = "graph_protocol.json"


def best_epoch_accuracy(workdir: str, *, split: str = "test", batch_size: int = 128) -> dict:
  """`{"step", "validation_accuracy", "test_accuracy", "num_test"}` of a run trained with early stopping on the
  validation accuracy: the checkpoint of its best validation accuracy, scored on `split`.

  Raises:
    ValueError: if the run did not track the best validation accuracy (`config.early_stopping_metric` must be
      "accuracy" with a patience), or kept no checkpoint of its best step (`config.checkpoint_keep=None`).
  """
  run = Workdir(workdir)
  config = run.read_config()
  if config.get("early_stopping_metric") != "accuracy" or not config.get("early_stopping_patience"):
    raise ValueError(
      f"{workdir} did not track its best validation accuracy: train with config.early_stopping_patience set and "
      "config.early_stopping_metric='accuracy'."
    )
  with run.checkpoints(max_to_keep=None) as manager:
    steps = sorted(manager.all_steps())
    if not steps:
      raise FileNotFoundError(f"{workdir} holds no checkpoint: train it first.")
    state = checkpoint.read_meta(manager, steps[-1]).get("early_stopping") or {}
  if state.get("best_step") is None:
    raise ValueError(f"{workdir}'s newest checkpoint has no record of its best step.")
  best = int(state["best_step"])
  if best not in steps:
    raise ValueError(
      f"{workdir} kept no checkpoint of its best step {best} (it kept {steps}): train with config.checkpoint_keep=None."
    )
  model, _ = run.load_model(best)
  inputs = setup.Inputs.from_config(dict(config["dataset"], eval_split=split, eval_subset=None))
  classifier = inference.Classifier.from_model(model, inputs.normalization)
  predictions = inference.predict(classifier, inputs.eval, batch_size=batch_size, transforms=inputs.eval_transforms)
  return {
    "step": best,
    "validation_accuracy": float(state["best"]),
    f"{split}_accuracy": metrics.accuracy(predictions.logits, predictions.labels),
    f"num_{split}": int(predictions.labels.size),
  }


@dataclasses.dataclass(frozen=True)
class Summary:
  """The protocol's figures: `accuracy[r, s]` the test accuracy of run r's split s; per-run means; their mean +- sd."""

  accuracy: np.ndarray
  run_means: np.ndarray
  mean: float
  sd: float | None  # None for a single run


def summarise(accuracy) -> Summary:
  """Mean over each run's splits, then the mean and sample standard deviation (`ddof=1`) of the runs' means."""
  accuracy = np.asarray(accuracy, dtype=float)
  if accuracy.ndim != 2 or 0 in accuracy.shape:
    raise ValueError(f"accuracy must be [runs, splits] with at least one of each, got shape {accuracy.shape}.")
  run_means = accuracy.mean(axis=1)
  sd = float(np.std(run_means, ddof=1)) if run_means.size > 1 else None
  return Summary(accuracy, run_means, float(run_means.mean()), sd)


def split_seed(run: int, split: int, splits: int) -> int:
  """The split seed of run `run`'s split `split`: every run draws its own `splits` splits."""
  return run * splits + split


def run_protocol(make_config, runs_dir: str, *, runs: int, splits: int, log=print) -> Summary:
  """Trains and scores every (run, split) that has no `best_epoch.json` yet, then writes and returns the summary.

  `make_config(run, split_seed)` gives the config of one split's training (`config.seed` the run's seed). The
  summary goes to `<runs_dir>/graph_protocol.json`.
  """
  if runs < 1 or splits < 1:
    raise ValueError(f"runs and splits must be >= 1, got {runs} and {splits}.")
  accuracy = np.empty((runs, splits))
  for r in range(runs):
    for s in range(splits):
      workdir = os.path.join(runs_dir, f"run{r}", f"split{s}")
      path = os.path.join(workdir, BEST_EPOCH_NAME)
      if not os.path.isfile(path):
        loop.train_and_evaluate(make_config(r, split_seed(r, s, splits)), workdir)
        Workdir(workdir).write_json(BEST_EPOCH_NAME, best_epoch_accuracy(workdir))
      with open(path) as f:
        accuracy[r, s] = json.load(f)["test_accuracy"]
      log(f"run {r} split {s}: test accuracy {accuracy[r, s]:.4f} at the best validation epoch")
  summary = summarise(accuracy)
  record = {
    "runs": runs,
    "splits": splits,
    "mean": summary.mean,
    "sd": summary.sd,
    "run_means": summary.run_means.tolist(),
    "test_accuracy": accuracy.tolist(),
  }
  os.makedirs(runs_dir, exist_ok=True)
  with open(os.path.join(runs_dir, SUMMARY_NAME + ".tmp"), "w") as f:
    json.dump(record, f, indent=1)
  os.replace(os.path.join(runs_dir, SUMMARY_NAME + ".tmp"), os.path.join(runs_dir, SUMMARY_NAME))
  return summary
