"""Evaluators during training: `config.evals` names the evaluators to run and after which epochs.

  config.evals = {"ood": {"every_epochs": 1, "ood_count": 1000}, "calibration": {"every_epochs": 5}}
  python train.py ... --config.evals='{"ood": {"every_epochs": 1, "ood_count": 1000}}'   # on the command line

Each entry is an evaluator of `el_jax.evaluate.evaluators` with `every_epochs` (it runs after the epochs that are
multiples of it), its own options, and optionally `test_subset` (the first N examples of the run's evaluation set,
itself `dataset.eval_subset`) and `batch_size` (default 1000). The training loop calls:

  evals = check_evals(config.evals)     # before training: names and options checked
  due(evals, epoch)                     # after each epoch: the evaluators to run
  run_during_training(due, model, inputs, loss, seed=config.seed)   # their figures as flat metrics

The figures logged are the float entries of each evaluator's sections, as `eval/<evaluator>/<path>` (e.g.
`eval/ood/mean/msp/auroc`, `eval/calibration/ece`); an attack's curve gives one value per budget
(`eval/adversarial/fgsm/robust_accuracy/eps=0.1`). Lists such as per-class accuracies are left to evaluate.py.
"""

import dataclasses
import math
import numbers

import jax
from absl import logging

from el_jax.evaluate import evaluators
from el_jax.evaluate.subject import Skip, Subject

EVERY_EPOCHS = "every_epochs"
# The options of the test set that every evaluator may set, with their defaults.
SUBJECT_OPTIONS = {f.name: f.default for f in dataclasses.fields(Subject) if f.name in ("test_subset", "batch_size")}


def check_evals(evals) -> dict:
  """`config.evals` (a dict or `ConfigDict`) checked, as a plain `{name: {"every_epochs": N, **options}}`.

  Raises:
    ValueError: for an unknown evaluator or option (naming the valid ones), an `every_epochs` that is not a
      positive integer, or evaluators on a run of several processes (they read the model on one host).
  """
  evals = evals.to_dict() if hasattr(evals, "to_dict") else dict(evals or {})
  if evals and jax.process_count() > 1:
    raise ValueError(
      f"config.evals {sorted(evals)}: evaluators during training need a single-process run; evaluate the "
      "checkpoints with evaluate.py instead."
    )
  checked = {}
  for name, spec in evals.items():
    evaluators.get(name)
    spec = spec.to_dict() if hasattr(spec, "to_dict") else dict(spec or {})
    every = spec.get(EVERY_EPOCHS)
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
      raise ValueError(f"config.evals.{name}.{EVERY_EPOCHS} must be a positive integer, got {every!r}.")
    evaluators.check_options(name, spec, also=(EVERY_EPOCHS, *SUBJECT_OPTIONS))
    checked[name] = spec
  return checked


def due(evals: dict, epoch: int) -> dict:
  """The evaluators of `evals` (from `check_evals`) to run after epoch `epoch` (1-based)."""
  return {name: spec for name, spec in evals.items() if epoch % spec[EVERY_EPOCHS] == 0}


def run_during_training(due: dict, model, inputs, loss: dict, *, seed: int = 0) -> dict:
  """Runs the evaluators of `due` on `model` (in evaluation mode) and the run's `inputs` (`setup.Inputs`, tested
  on `inputs.eval`); returns their float figures as `{"eval/<evaluator>/<path>": value}`.

  An evaluator that does not apply to the run (e.g. `ood` for a model of tokens) is logged as a warning and gives
  no figures. For single-process runs (`check_evals` refuses others).
  """
  subjects, out = {}, {}
  for name, spec in due.items():
    test = {k: spec.get(k, default) for k, default in SUBJECT_OPTIONS.items()}
    key = tuple(test.values())
    if key not in subjects:
      subjects[key] = Subject(model, inputs, loss, seed=seed, **test)
    opts = {k: v for k, v in spec.items() if k != EVERY_EPOCHS and k not in SUBJECT_OPTIONS}
    try:
      entries, _, _ = evaluators.run(name, subjects[key], opts)
    except Skip as e:
      logging.warning("config.evals.%s skipped: %s.", name, e)
      continue
    section = entries[name] if list(entries) == [name] else entries
    out |= flat_metrics(section, f"eval/{name}")
  return out


def flat_metrics(section, prefix: str) -> dict:
  """The finite floats of a report section as `{prefix/key/...: value}`; a curve (a dict with an `eps` list) gives
  one value per budget of each of its lists (`prefix/robust_accuracy/eps=0.1`); other lists are left out."""
  out = {}
  if isinstance(section, dict) and isinstance(section.get("eps"), list):
    for key, values in section.items():
      if key != "eps" and isinstance(values, list):
        for eps, value in zip(section["eps"], values, strict=True):
          out |= flat_metrics(value, f"{prefix}/{key}/eps={eps:g}")
    return out
  if isinstance(section, dict):
    for key, value in section.items():
      out |= flat_metrics(value, f"{prefix}/{key}")
  elif isinstance(section, numbers.Real) and not isinstance(section, numbers.Integral) and math.isfinite(section):
    out[prefix] = float(section)
  return out
