"""The evaluation after training: the evaluators `Options` selects (`el_jax.evaluate.evaluators`), run on the test
set of a trained classifier and gathered into one report.

`run(model, config, options)` returns `(report, arrays)`: `report` a JSON-ready dict of every figure (the run's
dataset, loss and model, each evaluator's sections, `skipped` with the reason of each evaluator that does not apply
to the run's inputs, and the seconds each took), `arrays` the per-example values the plots need (margins, OOD
scores). `evaluate_workdir` loads a workdir's checkpoint and writes both, a Markdown table and the plots (`report`).

The test set is the run's evaluation split (`dataset.eval_split`, read with `dataset.options`) in full — the
config's `eval_subset` only shortens the per-epoch check — or its first `Options.test_subset` examples.
"""

import dataclasses
import os
import time

from el_jax.evaluate import evaluators
from el_jax.evaluate import report as report_lib
from el_jax.evaluate.subject import Skip, Subject
from el_jax.train import setup
from el_jax.train.workdir import Workdir

_DEFAULT = {k: v for name in evaluators.names() for k, v in evaluators.options(name).items()}
_SUBJECT = {f.name: f.default for f in dataclasses.fields(Subject)}


@dataclasses.dataclass(frozen=True)
class Options:
  """What to evaluate and on how much data (None: everything).

  The evaluators' options (named as their keyword arguments, see `evaluators.options`) default as they do (the OOD
  sets, corruption set and attack budgets: the run's data set's, `el_jax.evaluate.dataset_defaults`);
  `corruptions`, `probe` and `gradient_weights` switch those evaluators off, and an attack without budgets is
  left out.
  """

  batch_size: int = _SUBJECT["batch_size"]
  split: str | None = None  # the split evaluated (None: the run's `dataset.eval_split`), e.g. "test"
  test_subset: int | None = _SUBJECT["test_subset"]  # first N test examples for every section
  ood_sets: tuple | None = _DEFAULT["ood_sets"]  # None: the data set's (dataset_defaults.ood_set_names)
  ood_data_dir: str | None = _DEFAULT["ood_data_dir"]  # the real OOD sets' releases or TFDS datasets
  ood_count: int | None = _DEFAULT["ood_count"]  # first N images of each OOD set
  corruptions: bool = True
  corruption_set: str | None = _DEFAULT["corruption_set"]  # None: the data set's (mnist_c, cifar10_c, ...)
  corruption_data_dir: str | None = _DEFAULT["corruption_data_dir"]  # the released corruption set's folder
  corruption_families: tuple | None = _DEFAULT["corruption_families"]  # None: every family
  corruption_severity: int | None = _DEFAULT["corruption_severity"]  # None: MNIST-C's per family; released: 1..5
  corruption_subset: int | None = _DEFAULT["corruption_subset"]  # first N test examples corrupted (None: all)
  attack_subset: int | None = _DEFAULT["attack_subset"]  # first N test examples attacked
  fgsm_eps: tuple | None = _DEFAULT["fgsm_eps"]  # None (the budgets below too): the data set's
  pgd_linf_eps: tuple | None = _DEFAULT["pgd_linf_eps"]
  pgd_l2_eps: tuple | None = _DEFAULT["pgd_l2_eps"]
  pgd_steps: int = _DEFAULT["pgd_steps"]
  ensemble: str = _DEFAULT["ensemble"]  # the attack ensemble (autoattack.ENSEMBLES) run at the two budgets below
  ensemble_linf_eps: tuple | None = _DEFAULT["ensemble_linf_eps"]  # empty: no ensemble attack; None: the data set's
  ensemble_l2_eps: tuple | None = _DEFAULT["ensemble_l2_eps"]
  probe: bool = True
  crt: bool = False  # classifier re-training with class-balanced sampling (long-tailed runs: EL Table 3)
  crt_train_subset: int | None = _DEFAULT["crt_train_subset"]  # first N training examples for CRT
  gradient_weights: bool = True  # the loss's gradient-weight curves
  probe_train_subset: int | None = _DEFAULT["probe_train_subset"]  # first N training examples for the probe
  bleu_beams: tuple = _DEFAULT["bleu_beams"]  # beam sizes of the translations scored by BLEU (1: greedy)
  num_bins: int = _DEFAULT["num_bins"]
  tpr: float = _DEFAULT["tpr"]  # FPR at this TPR; also DAR's acceptance rate of correctly classified clean samples
  seed: int = _SUBJECT["seed"]

  def evaluators(self) -> dict:
    """`{evaluator name: its options}` of the evaluators to run, in the report's order."""
    switched_on = {
      "gradient_weight": self.gradient_weights,
      "corruptions": self.corruptions,
      "probe": self.probe,
      "crt": self.crt,
    }
    return {
      name: {option: getattr(self, option) for option in evaluators.options(name)}
      for name in evaluators.names()
      if switched_on.get(name, True)
    }


def run(model, config: dict, options: Options = Options()) -> tuple[dict, dict]:
  """Evaluates `model` (in evaluation mode) trained as `config` (the workdir's config.json) says."""
  dataset = dict(config["dataset"], **({} if options.split is None else {"eval_split": options.split}))
  inputs = setup.Inputs.from_config(dict(dataset, eval_subset=None))
  subject = Subject(
    model,
    inputs,
    config.get("loss", {}),
    test_subset=options.test_subset,
    batch_size=options.batch_size,
    seed=options.seed,
  )
  report = {
    "dataset": inputs.name,
    "split": dataset.get("eval_split", "test"),
    "num_test": len(subject.test),
    "loss": config.get("loss", {}),
    "model": config.get("model", {}),
    "options": dataclasses.asdict(options),
  }
  start = time.perf_counter()
  predictions = subject.predictions
  timings = {"clean": round(time.perf_counter() - start, 2)}
  if predictions.per_token:
    report["num_test_tokens"] = len(predictions.labels)
  arrays, skipped = {}, {}
  for name, opts in options.evaluators().items():
    try:
      entries, section_arrays, seconds = evaluators.run(name, subject, opts)
    except Skip as e:
      skipped[name] = str(e)
      continue
    report |= entries
    arrays |= section_arrays
    timings[name] = round(seconds, 2)
  if skipped:
    report["skipped"] = skipped
  report["timing_seconds"] = timings
  return report, arrays


def evaluate_workdir(workdir: str, options: Options = Options(), *, out_dir: str | None = None, step=None) -> dict:
  """Evaluates a workdir's checkpoint (the latest unless `step`) and writes the report into `out_dir` (default:
  the workdir). Returns the report."""
  run_dir = Workdir(workdir)
  config = run_dir.read_config()
  model, loaded_step = run_dir.load_model(step)
  report, arrays = run(model, config, options)
  report = {"workdir": os.path.abspath(workdir), "step": int(loaded_step)} | report
  report_lib.write(report, arrays, out_dir or workdir)
  return report
