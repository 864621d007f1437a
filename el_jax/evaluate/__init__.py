"""Evaluation: what a trained classifier does beyond its accuracy, as evaluators looked up by name.

- `evaluators`: the registry (big_vision's `config.evals` pattern). Each evaluator (accuracy, calibration, margins,
  gradient_weight, ood, corruptions, adversarial, probe, crt, bleu, segmentation) takes a `subject.Subject` — the
  model as a pure function, the run's `Inputs`, the test examples of any source (images, tokens, graphs,
  translations, segmentation label maps) — and its own options, and returns its sections of the report and
  per-example arrays; one that needs images skips other inputs, and those of one label per example skip per-pixel
  label maps, saying so.
- after training: `suite.run` / `evaluate_workdir` (evaluate.py) run those `suite.Options` selects and `report`
  writes JSON, Markdown and the `plots`; during training: `during_training` runs those of `config.evals` every N
  epochs (`check_evals`, `due`, `run_during_training`, called by `el_jax.train.loop`).
- the figures, each usable on its own: `metrics` (top-1, per-class, shot accuracy, NLL; `correct` is the one
  argmax accuracy), `calibration`, `ood` (scores, AUROC, FPR, DAR), `ood_sets`, `corruptions`, `attacks` (FGSM,
  PGD), `autoattack` (APGD-CE, APGD-T, FAB-T and Square in order: `apgd`, `fab`, `square`), `margins`,
  `gradient_weight`, `probe`, `bleu`, `segmentation` (confusion matrix of the valid pixels, per-class and mean IoU,
  pixel accuracy, accumulated batch by batch); `inference` runs a model over a source in padded batches.

Importing this package is light (no matplotlib, nothing of `el_jax.train`): the names below load on first use.
"""

from el_jax import _extras

_extras.require("el_jax.evaluate", "train", "eval")

import importlib  # noqa: E402

_EXPORTS = {
  "Options": "el_jax.evaluate.suite",
  "evaluate_workdir": "el_jax.evaluate.suite",
  "run": "el_jax.evaluate.suite",
  "check_evals": "el_jax.evaluate.during_training",
  "due": "el_jax.evaluate.during_training",
  "run_during_training": "el_jax.evaluate.during_training",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
  if name in _EXPORTS:
    return getattr(importlib.import_module(_EXPORTS[name]), name)
  raise AttributeError(f"module 'el_jax.evaluate' has no attribute {name!r}")
