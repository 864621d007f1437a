"""The three papers' claims that the CPU-scale studies can test, each as one comparison on one metric.

A `Claim` asserts that `treatment` does better than `baseline` on `metric` in the study `study`, where "better" means
higher when `higher_is_better` and lower otherwise. Claims that a method does worse than another (CE keeping a lower
ECE than EL, CE beating focal loss on UCI, logit-adjusted loss beating HEM+ on clean accuracy) are written with the
winner the paper names as `treatment`. Where a paper calls two losses comparable, the claim takes the direction the
paper stresses and says so in `statement`; a "not significant" verdict is then what the paper leads one to expect.

A claim may carry `paper_difference`, the effect the paper itself reports for the comparison (signed and in units
as the studies record the metric), which the report can set beside the measured difference.

A claim names the losses and models its study trains, as `el_jax.studies.grid` defines them: `treatment` and
`baseline` are loss labels of `STUDY_LABELS[study]`, and `models` restricts a claim to some of `STUDY_MODELS[study]`
(for long_tail, imbalance groups such as ratio100); empty means every model of the study. A claim is rejected when it
names anything its study does not train. The long-tailed ratio-10 set keeps at least 100 images per class, so it
has no few-shot classes and at most one medium-shot class: the per-group claims name ratio100 only.

What the studies cannot test is listed too: `UNTESTABLE` holds, per paper, each claim or group of results out of
reach here (`Untestable`: what, where in the paper, and what testing it would need), and `SUBSTITUTIONS` says in a
few sentences where our protocol differs from the paper's.

Verdicts come in two steps, because the correction for multiple comparisons needs every comparison of a paper at
once. `compare` tests one comparison: Welch's t-test over seeds, or, for the UCI claims, whose unit is the data set
as in the mixing paper, the exact Wilcoxon signed-rank test over data sets. `judge` then takes all the comparisons,
adjusts the p-values of each paper's family with Holm's method (`el_jax.studies.statistics.holm` says why Holm),
and states the verdict: "holds" or "contradicted" (by the sign of the test statistic) when the adjusted p-value is
below `statistics.ALPHA` = 0.05, "not significant" otherwise. `check` is both steps for a single comparison.

Paper sections, tables and figures cited in `source` refer to: Zhao et al., "Well-classified examples are
underestimated in classification with deep neural networks", AAAI 2022, with the arXiv appendix (2110.06537);
Battash, Hazan and Wolf, "Mixing between the cross entropy and the expectation loss terms", AAAI 2022; Spratling and
Schütt, "A margin-based replacement for cross-entropy loss" (HEM).
"""

import dataclasses
import math

from el_jax.studies import grid, statistics

PAPERS = ("encouraging_loss", "expectation_mixing", "hem")

METRICS = (
  "accuracy",
  "nll",
  "ece",
  "median_margin",
  "mean_energy",
  "ood_auroc_msp",
  "ood_auroc_max_logit",
  "fpr95_msp",
  "fpr95_max_logit",
  "ood_auroc_msp_real",
  "ood_auroc_max_logit_real",
  "fpr95_msp_real",
  "fpr95_max_logit_real",
  "corruption_accuracy",
  "fgsm_0.05",
  "fgsm_0.1",
  "pgd_linf_0.1",
  "dar_msp_pgd_linf_0.1",
  "dar_max_logit_pgd_linf_0.1",
  "probe_accuracy",
  "many_shot",
  "medium_shot",
  "few_shot",
)

# The loss labels a claim of each study may compare: what the study trains and, for el_analyses, also study (a)'s LeNet
# runs, which the report sets beside the half-learning-rate runs.
STUDY_LABELS = grid.STUDY_LOSSES | {"el_analyses": grid.FASHION_MNIST_LOSSES + grid.STUDY_LOSSES["el_analyses"]}
STUDY_MODELS = grid.STUDY_GROUPS  # the models of each study; long_tail's are imbalance groups

SHOT_METRICS = ("many_shot", "medium_shot", "few_shot")  # long_tail only


@dataclasses.dataclass(frozen=True)
class Claim:
  """One paper claim as a single comparison: `treatment` beats `baseline` on `metric` in `study`."""

  paper: str  # one of PAPERS
  statement: str  # the claim in our words, with the paper's evidence
  source: str  # where in the paper: "Table 1", "§4.3, Fig. 5", ...
  study: str  # a key of STUDY_LABELS
  metric: str  # one of METRICS
  treatment: str  # loss label
  baseline: str  # loss label
  higher_is_better: bool
  models: tuple[str, ...] = ()  # restrict to these models (long_tail: groups); () = all models of the study
  # The paper's own effect size: treatment minus baseline as the paper reports it, positive favouring the treatment
  # (baseline minus treatment when lower is better), in the metric's units here (accuracy, AUROC, FPR95, ECE as
  # fractions); the first setting the statement quotes. None where none is given, and for margins and energies,
  # whose logit scale does not carry across networks and data sets (the statements quote the paper's values).
  paper_difference: float | None = None

  def __post_init__(self):
    if self.paper not in PAPERS:
      raise ValueError(f"Unknown paper {self.paper!r}. Valid: {', '.join(PAPERS)}.")
    if self.paper_difference is not None and not (
      isinstance(self.paper_difference, float) and math.isfinite(self.paper_difference)
    ):
      raise ValueError(f"paper_difference must be None or a finite float; got {self.paper_difference!r}.")
    if self.study not in STUDY_LABELS:
      raise ValueError(f"Unknown study {self.study!r}. Valid: {', '.join(STUDY_LABELS)}.")
    if self.metric not in METRICS:
      raise ValueError(f"Unknown metric {self.metric!r}. Valid: {', '.join(METRICS)}.")
    labels = STUDY_LABELS[self.study]
    for label in (self.treatment, self.baseline):
      if label not in labels:
        raise ValueError(f"Study {self.study!r} has no loss label {label!r}. Valid: {', '.join(labels)}.")
    if self.treatment == self.baseline:
      raise ValueError(f"A claim compares two losses; got {self.treatment!r} twice.")
    unknown = [m for m in self.models if m not in STUDY_MODELS[self.study]]
    if unknown:
      raise ValueError(
        f"Study {self.study!r} has no model or group {unknown}. Valid: {', '.join(STUDY_MODELS[self.study])}."
      )
    cells = grid.STUDY_CELLS.get(self.study)  # a study that trains some losses on some models only
    missing = [
      (model, label)
      for model in self.models or STUDY_MODELS[self.study]
      for label in (self.treatment, self.baseline)
      if cells is not None and (model, label) not in cells
    ]
    if missing:
      raise ValueError(f"Study {self.study!r} does not train {missing}; name the models that train both losses.")


# Studies whose claims take the data set as the unit: their values are per-set means over seeds, paired by set.
DATA_SET_STUDIES = ("uci",)

# What `judge` gives each comparison (the report's JSON rows carry them; `None` where undefined).
FIELDS = (
  "test",
  "unit",
  "n_treatment",
  "n_baseline",
  "difference",
  "standard_error",
  "df",
  "ci95",
  "statistic",
  "p_value",
  "p_adjusted",
  "family_size",
  "min_detectable_difference",
  "verdict",
)
VERDICTS = ("holds", "contradicted", "not significant", "not significant (n=1)")


def compare(claim: Claim, treatment_values, baseline_values) -> dict:
  """Tests one comparison of `claim`, without a verdict (see `judge`); positive differences favour the treatment.

  Studies other than the UCI one: `*_values` are per-seed values, and the test is `statistics.welch_test`
  (`test` "welch", `unit` "seed"): difference of means, Welch standard error and df, t statistic, two-sided
  p-value, 95% interval. A single seed on a side leaves the standard error, df, statistic, p-value and interval
  `None` (no test).

  `DATA_SET_STUDIES` (UCI): `*_values` are per-set accuracies (the mean over seeds), paired by set, and the test is
  `statistics.wilcoxon_signed_rank` over sets (`test` "wilcoxon", `unit` "data set"), the pairwise form of the rank
  tests the mixing paper uses (Demšar 2006): `statistic` is r_plus - r_minus and `p_value` the exact two-sided
  p-value, which with 4 sets is never below 0.125 (`min_attainable_p`). The difference (mean over sets), its
  standard error, df and interval are the paired t-test's, whose p-value is given as `paired_t_p_value`.
  """
  if claim.study in DATA_SET_STUDIES:
    paired = statistics.paired_t_test(treatment_values, baseline_values, higher_is_better=claim.higher_is_better)
    ranks = statistics.wilcoxon_signed_rank(treatment_values, baseline_values, higher_is_better=claim.higher_is_better)
    return {
      "test": "wilcoxon",
      "unit": "data set",
      "n_treatment": paired.n_treatment,
      "n_baseline": paired.n_baseline,
      "difference": paired.difference,
      "standard_error": paired.standard_error,
      "df": paired.df,
      "ci95": None if paired.ci95 is None else list(paired.ci95),
      "statistic": ranks.statistic,
      "p_value": ranks.p_value,
      "min_attainable_p": ranks.min_p_value,
      "paired_t_p_value": paired.p_value,
    }
  test = statistics.welch_test(treatment_values, baseline_values, higher_is_better=claim.higher_is_better)
  return {
    "test": "welch",
    "unit": "seed",
    "n_treatment": test.n_treatment,
    "n_baseline": test.n_baseline,
    "difference": test.difference,
    "standard_error": test.standard_error,
    "df": test.df,
    "ci95": None if test.ci95 is None else list(test.ci95),
    "statistic": test.statistic,
    "p_value": test.p_value,
  }


def _min_detectable(row: dict, level: float):
  """`statistics.min_detectable_difference` of a compared row at `level`; infinite for a Wilcoxon comparison whose
  smallest attainable p-value is not below `level` (no difference could be declared). Where the Wilcoxon test can
  reach the level, the paired t-test's value stands in for it (the signed-rank test's efficiency relative to the
  t-test is 3/pi ~ 0.95 under normality, so its own value is slightly larger)."""
  if row["test"] == "wilcoxon" and row["min_attainable_p"] >= level:
    return math.inf
  return statistics.min_detectable_difference(row["standard_error"], row["df"], level)


def judge(rows: list[dict], alpha: float = statistics.ALPHA) -> list[dict]:
  """Adds `p_adjusted`, `family_size`, `min_detectable_difference` and `verdict` to compared rows (`compare`'s output,
  with the claim's `paper`); returns new dicts, in order. Rows whose `test` is absent or `None` (nothing compared)
  are returned as they are.

  The family is each paper's compared rows that have a p-value, m = `family_size` of them; `p_adjusted` is Holm's
  adjusted p-value within it. Verdict: "holds" if p_adjusted < alpha and the statistic favours the treatment,
  "contradicted" if p_adjusted < alpha and it favours the baseline, "not significant" otherwise. A row without a
  p-value (one seed on a side) takes no part in the correction: its verdict is "not significant (n=1)" and its
  `p_adjusted`, `family_size` and `min_detectable_difference` are `None`.

  `min_detectable_difference` is the smallest true difference the comparison's test would declare with 80% power
  at the level alpha / m, the level at which Holm declares a comparison whatever the other p-values
  (`statistics.min_detectable_difference`); computed for every tested row, the report shows it where the verdict
  is "not significant".
  """
  judged = [dict(r) for r in rows]
  for paper in dict.fromkeys(r["paper"] for r in judged):
    family = [r for r in judged if r["paper"] == paper and r.get("test") and r["p_value"] is not None]
    if not family:
      continue
    level = alpha / len(family)
    for r, p in zip(family, statistics.holm([r["p_value"] for r in family]), strict=True):
      verdict = "not significant"
      if p < alpha and r["statistic"] != 0:
        verdict = "holds" if r["statistic"] > 0 else "contradicted"
      r |= {
        "p_adjusted": float(p),
        "family_size": len(family),
        "min_detectable_difference": _min_detectable(r, level),
        "verdict": verdict,
      }
  for r in judged:
    if r.get("test") and r["p_value"] is None:
      r |= {
        "p_adjusted": None,
        "family_size": None,
        "min_detectable_difference": None,
        "verdict": "not significant (n=1)",
      }
  return judged


def check(claim: Claim, treatment_values, baseline_values, alpha: float = statistics.ALPHA) -> dict:
  """`compare` and `judge` for a single comparison: a family of one, so `p_adjusted` = `p_value` and the minimum
  detectable difference is at level alpha. Returns the `FIELDS` (and, for UCI claims, `compare`'s extras)."""
  (row,) = judge([{"paper": claim.paper} | compare(claim, treatment_values, baseline_values)], alpha)
  del row["paper"]
  return row


_EL = "encouraging_loss"
_MIX = "expectation_mixing"
_HEM = "hem"

_ENCOURAGING_LOSS_CLAIMS = (
  # Accuracy on balanced image classification.
  Claim(
    _EL,
    "EL with the normal bonus (LE = 1) raises MNIST test accuracy over CE with the L-Softmax CNN "
    "(99.42 -> 99.56, mean of 5 runs).",
    "Table 1, §4.2",
    "fashion_mnist",
    "accuracy",
    "el_le1",
    "ce",
    True,
    paper_difference=0.0014,  # Table 1, MNIST: 99.56 - 99.42
  ),
  Claim(
    _EL,
    "EL with the conservative bonus LE = 0.75 raises image-classification accuracy over CE under CE's own "
    "hyper-parameters (ImageNet EfficientNet-B0 77.80 -> 78.28 with LE = 0.75; §4.2 names LE = 0.75 a good default; "
    "Table 1 also lists ImageNet ResNet-50 75.49 -> 76.43, CIFAR-10 ResNet-50 92.34 -> 92.97).",
    "Table 1, Fig. 4, §4.2 (discussion b)",
    "fashion_mnist",
    "accuracy",
    "el_le0.75",
    "ce",
    True,
    paper_difference=0.0048,  # Table 1, ImageNet EfficientNet-B0: 78.28 - 77.80
  ),
  Claim(
    _EL,
    "EL with the conservative bonus LE = 0.5 beat CE on every task the authors tried, so it is their safe default "
    "(e.g. iNaturalist 2018 64.3 -> 65.3; PROTEINS +0.44 and NCI1 +0.51 with a conservative bonus).",
    "§4.2 (discussion c), Fig. 4, Table 3",
    "fashion_mnist",
    "accuracy",
    "el_le0.5",
    "ce",
    True,
    paper_difference=0.010,  # Table 3, iNaturalist 2018 overall: 65.3 - 64.3
  ),
  Claim(
    _EL,
    "With CE's hyper-parameters kept, accuracy seems to peak between LE = 0.5 and LE = 0.75, while the steeper "
    "normal bonus (LE = 1) fails to add gains in some settings (its gradient norm is >5x CE's on translation, with a "
    "1-2 BLEU drop, against <1.7x for LE = 0.75). The paper hedges this ('seems', 'in some settings').",
    "§4.2 (discussion a, b), Fig. 4",
    "fashion_mnist",
    "accuracy",
    "el_le0.75",
    "el_le1",
    True,
  ),
  # Table 2 (ResNet-50 on CIFAR, SGD): EL (LE = 1) at half the learning rate; study (d) trains it with SGD.
  Claim(
    _EL,
    "With CE's SGD recipe, EL with the normal bonus (LE = 1) beats CE: ResNet-50 92.34 -> 92.74 on CIFAR-10 and "
    "74.39 -> 75.80 on CIFAR-100.",
    "Table 2",
    "el_analyses",
    "accuracy",
    grid.sgd_label("el_le1", 1.0),
    grid.sgd_label("ce", 1.0),
    True,
    paper_difference=0.0040,  # Table 2, CIFAR-10: 92.74 - 92.34
  ),
  Claim(
    _EL,
    "Halving the learning rate helps EL with the normal bonus, whose gradients are larger than CE's: ResNet-50 "
    "92.74 -> 93.69 on CIFAR-10 and 75.80 -> 76.37 on CIFAR-100 (SGD).",
    "Table 2, §4.2 (discussion a)",
    "el_analyses",
    "accuracy",
    grid.sgd_label("el_le1", 0.5),
    grid.sgd_label("el_le1", 1.0),
    True,
    paper_difference=0.0095,  # Table 2, CIFAR-10: 93.69 - 92.74
  ),
  Claim(
    _EL,
    "EL (LE = 1) at half the learning rate beats CE at CE's own learning rate, widening the gap to 1.35 points on "
    "CIFAR-10 (92.34 -> 93.69) and 1.98 on CIFAR-100 (74.39 -> 76.37) (SGD).",
    "Table 2, §4.2 (discussion a)",
    "el_analyses",
    "accuracy",
    grid.sgd_label("el_le1", 0.5),
    grid.sgd_label("ce", 1.0),
    True,
    paper_difference=0.0135,  # Table 2, CIFAR-10: 93.69 - 92.34
  ),
  Claim(
    _EL,
    "A larger learning rate hurts CE: at 2x its rate CE falls 92.34 -> 91.53 on CIFAR-10 and 74.39 -> 73.57 on "
    "CIFAR-100 (ResNet-50, SGD), which the paper reads as CE implicitly lowering its rate as its gradients shrink. "
    "Written with the winner, CE at 1x, as the treatment.",
    "Table 2, §4.2 (discussion a)",
    "el_analyses",
    "accuracy",
    grid.sgd_label("ce", 1.0),
    grid.sgd_label("ce", 2.0),
    True,
    paper_difference=0.0081,  # Table 2, CIFAR-10: 92.34 - 91.53
  ),
  Claim(
    _EL,
    "Matched-learning-rate control for Table 2: the paper credits EL's gain at 0.5x rate to rescaling EL's larger "
    "gradients, not to a smaller rate as such (CE at 2x rate falls 92.34 -> 91.53 and 74.39 -> 73.57). It runs no CE "
    "at 0.5x rate, so EL beating CE at the same halved rate is the comparison it implies rather than one it reports.",
    "Table 2, §4.2 (discussion a)",
    "el_analyses",
    "accuracy",
    grid.sgd_label("el_le1", 0.5),
    grid.sgd_label("ce", 0.5),
    True,
  ),
  # §4.3 analyses: margins, energy, representations.
  Claim(
    _EL,
    "EL with the normal bonus enlarges the margins z_y - max_{k!=y} z_k several-fold: on CIFAR-10 (ResNet-50) CE's "
    "margins centre near 15 and EL's near 50; on MNIST, EL raises the margin of most test examples.",
    "§4.3, Fig. 6; App. C.1, Fig. 8",
    "el_analyses",
    "median_margin",
    "el_le1",
    "ce",
    True,
  ),
  Claim(
    _EL,
    "The conservative bonus also enlarges margins, by less than the normal one: CIFAR-10 margins centred near 17 "
    "against CE's 15 (ResNet-50).",
    "App. C.2, Fig. 10",
    "el_analyses",
    "median_margin",
    "el_le0.75",
    "ce",
    True,
  ),
  Claim(
    _EL,
    "EL pushes the conditional energy of the true class, E(y|x) = -z_y, further down than CE: mean on-data energy "
    "-27 -> -131.6 on MNIST and -15.1 -> -54.5 on CIFAR-10 with the normal bonus; Fig. 5 shows a sharper energy well "
    "around the data. Lower is the claimed direction.",
    "§3.2, §4.3, Fig. 5; App. Table 12",
    "el_analyses",
    "mean_energy",
    "el_le1",
    "ce",
    False,
  ),
  Claim(
    _EL,
    "The conservative bonus also lowers the on-data energy, by less: CIFAR-10 -15.1 -> -20.8 with LE = 0.75 "
    "(App. C.2 puts the 'cat' energy at -17, 5 below CE).",
    "App. C.2, Table 12",
    "el_analyses",
    "mean_energy",
    "el_le0.75",
    "ce",
    False,
  ),
  Claim(
    _EL,
    "Features learned with EL (normal bonus) support a better linear classifier: retraining a re-initialised last "
    "layer with CE on frozen features gives 92.98 +- 0.01 against 91.69 +- 0.04 for CE features (CIFAR-10, "
    "ResNet-50).",
    "§4.3 (representation learning); App. B.2",
    "el_analyses",
    "probe_accuracy",
    "el_le1",
    "ce",
    True,
    paper_difference=0.0129,  # §4.3, CIFAR-10: 92.98 - 91.69
  ),
  # §4.4: OOD detection, adversarial robustness; §5: calibration.
  Claim(
    _EL,
    "EL (normal bonus) improves OOD detection scored by the minimum conditional energy (= -max logit): MNIST "
    "in-distribution against Fashion-MNIST, AUROC 95.68 -> 98.04. Our study swaps the roles (Fashion-MNIST in, MNIST "
    "out).",
    "§4.4, Table 4",
    "fashion_mnist",
    "ood_auroc_max_logit_real",
    "el_le1",
    "ce",
    True,
    paper_difference=0.0236,  # Table 4: 98.04 - 95.68
  ),
  Claim(
    _EL,
    "Same setting: EL (normal bonus) lowers FPR at 95% TPR from 20.92 to 8.69 (the text quotes 8.10 -> 0.95, "
    "inconsistent with the table). Our study swaps the roles (Fashion-MNIST in, MNIST out).",
    "§4.4, Table 4",
    "fashion_mnist",
    "fpr95_max_logit_real",
    "el_le1",
    "ce",
    False,
    paper_difference=0.1223,  # Table 4: 20.92 - 8.69
  ),
  Claim(
    _EL,
    "EL with LE = 0.75 beats CE at OOD detection under all three scores tried, maximum softmax probability included "
    "(ImageNet against iNaturalist 2018: FPR95 75.13 for CE's best score -> 71.86), whereas LE = 1 wins only with "
    "the two energy scores.",
    "App. C.2, Fig. 11",
    "fashion_mnist",
    "ood_auroc_msp_real",
    "el_le0.75",
    "ce",
    True,
  ),
  Claim(
    _EL,
    "EL (normal bonus) keeps more accuracy than CE under FGSM attacks within a range of budgets on MNIST; under "
    "AutoAttack (L_inf) accuracy goes 93.51 -> 94.99 at eps 0.05.",
    "§4.4, Fig. 7; App. C.2, Table 11",
    "fashion_mnist",
    "fgsm_0.05",
    "el_le1",
    "ce",
    True,
  ),
  Claim(
    _EL,
    "EL (normal bonus) keeps more accuracy than CE under FGSM at a larger budget on MNIST; under AutoAttack (L_inf) "
    "accuracy goes 74.89 -> 79.31 at eps 0.1.",
    "§4.4, Fig. 7; App. C.2, Table 11",
    "fashion_mnist",
    "fgsm_0.1",
    "el_le1",
    "ce",
    True,
  ),
  Claim(
    _EL,
    "EL (normal bonus) keeps more accuracy than CE under L_inf PGD on MNIST (Fig. 7 plots the curves; no numbers "
    "are given for clean-trained PGD; AutoAttack L_inf at eps 0.1: 74.89 -> 79.31).",
    "§4.4, Fig. 7; App. C.2, Table 11",
    "fashion_mnist",
    "pgd_linf_0.1",
    "el_le1",
    "ce",
    True,
  ),
  Claim(
    _EL,
    "Limitation the paper states: EL makes predictions more confident and raises ECE slightly, so CE keeps the lower "
    "ECE (CIFAR-10: 0.031 for CE against 0.042 for LE = 0.75 and 0.062 for LE = 1). Table 12's MNIST row goes the "
    "other way (0.005 for CE, 0.004 for LE = 1).",
    "§5 (Limitations); App. C.2, Table 12",
    "fashion_mnist",
    "ece",
    "ce",
    "el_le1",
    False,
    paper_difference=0.031,  # Table 12, CIFAR-10: 0.062 - 0.031
  ),
  # §4.4 imbalanced classification: iNaturalist 2018 with the aggressive bonus.
  Claim(
    _EL,
    "On the long-tailed iNaturalist 2018, the aggressive bonus (normal bonus only where p > 0.5) raises overall "
    "accuracy over CE from 64.3 to 66.3 (std about 0.4).",
    "§4.4, Table 3",
    "long_tail",
    "accuracy",
    "el_aggressive",
    "ce",
    True,
    paper_difference=0.020,  # Table 3: 66.3 - 64.3
  ),
  Claim(
    _EL,
    "Aggressive bonus on iNaturalist 2018, many-shot classes (>100 training images): 74.1 -> 75.1.",
    "§4.4, Table 3",
    "long_tail",
    "many_shot",
    "el_aggressive",
    "ce",
    True,
    paper_difference=0.010,  # Table 3: 75.1 - 74.1
  ),
  Claim(
    _EL,
    "Aggressive bonus on iNaturalist 2018, medium-shot classes (20-100 training images): 65.9 -> 67.4.",
    "§4.4, Table 3",
    "long_tail",
    "medium_shot",
    "el_aggressive",
    "ce",
    True,
    ("ratio100",),
    paper_difference=0.015,  # Table 3: 67.4 - 65.9
  ),
  Claim(
    _EL,
    "Aggressive bonus on iNaturalist 2018, few-shot classes (<20 training images), the largest gain: 59.8 -> 62.6; "
    "the paper credits better representations learned from the data-rich classes.",
    "§4.4, Table 3",
    "long_tail",
    "few_shot",
    "el_aggressive",
    "ce",
    True,
    ("ratio100",),
    paper_difference=0.028,  # Table 3: 62.6 - 59.8
  ),
  # Study (e): real MNIST digits with EL's own MNIST recipe (L-Softmax CNN, SGD).
  Claim(
    _EL,
    "On real MNIST with its own recipe (L-Softmax CNN, SGD 0.1, momentum 0.9, batch 256), EL with the normal bonus "
    "(LE = 1) raises test accuracy over CE: 99.42 -> 99.56 (mean of 5 runs).",
    "Table 1, §4.2",
    "mnist_digits",
    "accuracy",
    "el_le1",
    "ce",
    True,
    (grid.MNIST_DIGITS_EL_MODEL,),
    paper_difference=0.0014,  # Table 1, MNIST: 99.56 - 99.42
  ),
  Claim(
    _EL,
    "In the paper's direction (MNIST in-distribution, Fashion-MNIST out), EL (normal bonus) improves OOD detection "
    "scored by the minimum conditional energy (= -max logit): AUROC 95.68 -> 98.04.",
    "§4.4, Table 4",
    "mnist_digits",
    "ood_auroc_max_logit_real",
    "el_le1",
    "ce",
    True,
    (grid.MNIST_DIGITS_EL_MODEL,),
    paper_difference=0.0236,  # Table 4: 98.04 - 95.68
  ),
  Claim(
    _EL,
    "Same setting (MNIST in, Fashion-MNIST out, minimum conditional energy): EL (normal bonus) lowers FPR at 95% TPR "
    "from 20.92 to 8.69.",
    "§4.4, Table 4",
    "mnist_digits",
    "fpr95_max_logit_real",
    "el_le1",
    "ce",
    False,
    (grid.MNIST_DIGITS_EL_MODEL,),
    paper_difference=0.1223,  # Table 4: 20.92 - 8.69
  ),
  *(
    Claim(
      _EL,
      f"In the paper's own FGSM setting (MNIST, the L-Softmax CNN), EL (normal bonus) keeps more accuracy than CE "
      f"under FGSM at eps {eps}.",
      "§4.4, Fig. 7",
      "mnist_digits",
      f"fgsm_{eps}",
      "el_le1",
      "ce",
      True,
      (grid.MNIST_DIGITS_EL_MODEL,),
    )
    for eps in ("0.05", "0.1")
  ),
)

_EXPECTATION_MIXING_CLAIMS = (
  # Image recognition (CIFAR-100, CINIC-10, ImageNet).
  Claim(
    _MIX,
    "Mixing CE and the expectation loss 1 - p at equal weight throughout (F = 0) beats CE on images: every "
    "CIFAR-100 and CINIC-10 model of Table 1 (e.g. ResNet32 CIFAR-100 69.66 -> 70.02) and all seven ImageNet models "
    "(ResNet-50 75.74 -> 75.86).",
    "Table 1, Table 2",
    "fashion_mnist",
    "accuracy",
    "mix_f0",
    "ce",
    True,
    paper_difference=0.0036,  # Table 1, CIFAR-100 ResNet32: 70.02 - 69.66
  ),
  Claim(
    _MIX,
    "CE + expectation for 95% of training, then the expectation loss alone (F = 0,0.5), beats CE on images: "
    "ImageNet ResNet-50 75.74 -> 76.06, ResNet-101 77.59 -> 78.37; CINIC-10 ResNet34 88.10 -> 88.77.",
    "Table 1, Table 2",
    "fashion_mnist",
    "accuracy",
    "mix_f0_05",
    "ce",
    True,
    paper_difference=0.0032,  # Table 2, ImageNet ResNet-50: 76.06 - 75.74
  ),
  Claim(
    _MIX,
    "The gradual schedule F = 0-0.5 (focus moved from p = 0 to p = 0.5 in six equal phases) beats CE on images: "
    "ImageNet ResNet-50 75.74 -> 76.35, ResNet-18 69.82 -> 70.50; CIFAR-100 and CINIC-10 in every model of Table 1.",
    "Table 1, Table 2",
    "fashion_mnist",
    "accuracy",
    "mix_f0_to_05",
    "ce",
    True,
    paper_difference=0.0061,  # Table 2, ImageNet ResNet-50: 76.35 - 75.74
  ),
  Claim(
    _MIX,
    "The gradual schedule ranks first among the schedules on ImageNet for every architecture (ResNet-50 76.35 against "
    "75.86 for F = 0) and in all but one CINIC-10 model; on CIFAR-100 the constant mix sometimes wins (ResNet32 "
    "70.02 for F = 0 against 69.83).",
    "Table 1, Table 2",
    "fashion_mnist",
    "accuracy",
    "mix_f0_to_05",
    "mix_f0",
    True,
    paper_difference=0.0049,  # Table 2, ImageNet ResNet-50: 76.35 - 75.86
  ),
  # UCI, Table 4 (121 sets): wins, mean accuracy change against CE, mean rank (lower is better).
  Claim(
    _MIX,
    "UCI, linear classifier: F = 0 edges out CE (mean accuracy +0.09, mean rank 2.39 against 2.59) though it wins "
    "one set fewer (32 against 33).",
    "Table 4",
    "uci",
    "accuracy",
    "mix_f0",
    "ce",
    True,
    ("linear",),
    paper_difference=0.0009,  # Table 4, mean accuracy change +0.09
  ),
  Claim(
    _MIX,
    "UCI, one hidden layer: F = 0 beats CE (30 wins against 26, mean accuracy +0.12, mean rank 2.62 against 2.70).",
    "Table 4",
    "uci",
    "accuracy",
    "mix_f0",
    "ce",
    True,
    ("hidden",),
    paper_difference=0.0012,  # Table 4, +0.12
  ),
  Claim(
    _MIX,
    "UCI, linear classifier: F = 0,0.5 beats CE on mean accuracy (+0.20) and mean rank (2.30 against 2.59), with 31 "
    "wins against 33.",
    "Table 4",
    "uci",
    "accuracy",
    "mix_f0_05",
    "ce",
    True,
    ("linear",),
    paper_difference=0.0020,  # Table 4, +0.20
  ),
  Claim(
    _MIX,
    "UCI, one hidden layer: F = 0,0.5 beats CE (37 wins against 26, mean accuracy +0.27, mean rank 2.40 against 2.70).",
    "Table 4",
    "uci",
    "accuracy",
    "mix_f0_05",
    "ce",
    True,
    ("hidden",),
    paper_difference=0.0027,  # Table 4, +0.27
  ),
  Claim(
    _MIX,
    "UCI, linear classifier: the gradual schedule F = 0-0.5 is the best of the six losses (48 wins against CE's 33, "
    "mean accuracy +0.30, mean rank 2.12 against 2.59).",
    "Table 4",
    "uci",
    "accuracy",
    "mix_f0_to_05",
    "ce",
    True,
    ("linear",),
    paper_difference=0.0030,  # Table 4, +0.30
  ),
  Claim(
    _MIX,
    "UCI, one hidden layer: the gradual schedule F = 0-0.5 is the best of the six losses (42 wins against CE's 26, "
    "mean accuracy +0.30, mean rank 2.37 against 2.70).",
    "Table 4",
    "uci",
    "accuracy",
    "mix_f0_to_05",
    "ce",
    True,
    ("hidden",),
    paper_difference=0.0030,  # Table 4, +0.30
  ),
  Claim(
    _MIX,
    "UCI: the gradual schedule outperforms the constant mix F = 0 on both networks (wins 48 and 42 against 32 and "
    "30, mean accuracy change +0.30 and +0.30 against +0.09 and +0.12, mean rank 2.12 and 2.37 against 2.39 and "
    "2.62; linear and hidden respectively).",
    "Table 4",
    "uci",
    "accuracy",
    "mix_f0_to_05",
    "mix_f0",
    True,
    paper_difference=0.0021,  # Table 4, linear: 0.30 - 0.09
  ),
  Claim(
    _MIX,
    "UCI, linear classifier: the expectation loss alone is not competitive; CE beats it (mean accuracy change of "
    "the expectation loss -2.71, mean rank 3.25 against CE's 2.59, though both win 33 sets).",
    "Table 4",
    "uci",
    "accuracy",
    "ce",
    "expectation",
    True,
    ("linear",),
    paper_difference=0.0271,  # Table 4: 0 - (-2.71)
  ),
  Claim(
    _MIX,
    "UCI, one hidden layer: CE beats the expectation loss alone (its mean accuracy change -4.73, mean rank 3.52 "
    "against 2.70), despite 33 wins against CE's 26.",
    "Table 4",
    "uci",
    "accuracy",
    "ce",
    "expectation",
    True,
    ("hidden",),
    paper_difference=0.0473,  # Table 4: 0 - (-4.73)
  ),
  Claim(
    _MIX,
    "UCI, linear classifier: focal loss (gamma 2, alpha 0.25) is outperformed by CE (26 wins against 33, mean "
    "accuracy change -0.56, mean rank 3.13 against 2.59).",
    "Table 4",
    "uci",
    "accuracy",
    "ce",
    "focal_a0.25",
    True,
    ("linear",),
    paper_difference=0.0056,  # Table 4: 0 - (-0.56)
  ),
  Claim(
    _MIX,
    "Scale control for the linear-classifier focal claim: alpha = 0.25 scales focal loss and its gradient by 1/4, "
    "under SGD a 4x smaller learning rate; the paper's focal equation has no alpha, so CE should also beat focal loss "
    "with alpha = 1 (gamma 2) if the claim is about focusing rather than step size.",
    "Table 4; Related work (focal loss)",
    "uci",
    "accuracy",
    "ce",
    "focal_a1",
    True,
    ("linear",),
  ),
  Claim(
    _MIX,
    "UCI, one hidden layer: focal loss (gamma 2, alpha 0.25) is outperformed by CE (25 wins against 26, mean "
    "accuracy change -0.89, mean rank 3.03 against 2.70).",
    "Table 4",
    "uci",
    "accuracy",
    "ce",
    "focal_a0.25",
    True,
    ("hidden",),
    paper_difference=0.0089,  # Table 4: 0 - (-0.89)
  ),
  Claim(
    _MIX,
    "Scale control for the one-hidden-layer focal claim: CE should also beat focal loss with alpha = 1 (gamma 2), "
    "the form of the paper's focal equation, which has the same step size as CE under SGD.",
    "Table 4; Related work (focal loss)",
    "uci",
    "accuracy",
    "ce",
    "focal_a1",
    True,
    ("hidden",),
  ),
)

_HEM_CLAIMS = (
  # §5.1: standard (balanced) data, MNIST networks LeNet, ConvNet, MLP among the 15 conditions.
  Claim(
    _HEM,
    "HEM and CE give comparable clean accuracy, but CE keeps a small, consistent advantage of about 1 point on "
    "average over the 15 data-set/architecture conditions; the paper calls the gap insignificant.",
    "Abstract, §5.1.1, Fig. 2(a, c), §6",
    "fashion_mnist",
    "accuracy",
    "ce",
    "hem",
    True,
    paper_difference=0.01,  # §5.1.1: CE ahead by about 1% over 15 conditions
  ),
  Claim(
    _HEM,
    "HEM and CE give comparable accuracy on common-corruption test data, with CE slightly ahead "
    "(MNIST-C for the MNIST networks).",
    "§5.1.1, Fig. 2(b, c), §6",
    "fashion_mnist",
    "corruption_accuracy",
    "ce",
    "hem",
    True,
  ),
  Claim(
    _HEM,
    "HEM rejects unknown-class samples better than CE when confidence is the maximum softmax probability: higher "
    "mean AUROC over real and synthetic (uniform noise, blobs, pixel-permuted, phase-randomised) OOD sets in 14 of "
    "the 15 conditions.",
    "§5.1.2, Fig. 3(a, c)",
    "fashion_mnist",
    "ood_auroc_msp",
    "hem",
    "ce",
    True,
  ),
  Claim(
    _HEM,
    "HEM's advantage over CE at unknown-class rejection also holds with the maximum logit score (open markers of "
    "Fig. 3(c), averaged over the 15 conditions).",
    "§5.1.2, Fig. 3(c)",
    "fashion_mnist",
    "ood_auroc_max_logit",
    "hem",
    "ce",
    True,
  ),
  Claim(
    _HEM,
    "HEM detects adversarial samples better than CE: a large and consistent gain in detection accuracy rate (DAR, "
    "threshold accepting 95% of correctly classified clean samples) with MSP. The paper attacks with AutoAttack "
    "(L_inf eps 0.3 on MNIST); our study uses PGD L_inf eps 0.1.",
    "§5.1.2, Fig. 3(b, c)",
    "fashion_mnist",
    "dar_msp_pgd_linf_0.1",
    "hem",
    "ce",
    True,
  ),
  Claim(
    _HEM,
    "HEM's DAR advantage over CE also holds with the maximum logit score (Fig. 3(c) averages).",
    "§5.1.2, Fig. 3(c)",
    "fashion_mnist",
    "dar_max_logit_pgd_linf_0.1",
    "hem",
    "ce",
    True,
  ),
  Claim(
    _HEM,
    "HEM's clean accuracy far exceeds that of the multi-class margin (MM) loss it modifies (averaged over 15 "
    "conditions; the ablation with margin 0.2 gives CIFAR-100 70.13 -> 74.95 and CIFAR-10 93.79 -> 93.84).",
    "§5.1.1, Fig. 2(c); App. B.2, Table 3",
    "fashion_mnist",
    "accuracy",
    "hem",
    "mm",
    True,
    paper_difference=0.0482,  # Table 3, CIFAR-100 ResNet18: 74.95 - 70.13
  ),
  Claim(
    _HEM,
    "HEM's accuracy on common-corruption data also far exceeds MM's.",
    "§5.1.1, Fig. 2(c)",
    "fashion_mnist",
    "corruption_accuracy",
    "hem",
    "mm",
    True,
  ),
  Claim(
    _HEM,
    "MM fails to improve unknown-class rejection beyond CE, while HEM is the best loss at it on average, so HEM "
    "beats MM (MSP AUROC).",
    "§5.1.2, Fig. 3(c)",
    "fashion_mnist",
    "ood_auroc_msp",
    "hem",
    "mm",
    True,
  ),
  Claim(
    _HEM,
    "MM typically gives lower clean accuracy than CE, mostly for data-sets with many classes (averaging errors "
    "drives the loss to zero before every sample is classified); MNIST-like data with 10 classes is the mild case.",
    "§2.2, §5.1.2, Fig. 2(c)",
    "fashion_mnist",
    "accuracy",
    "ce",
    "mm",
    True,
  ),
  Claim(
    _HEM,
    "HEM distinguishes unknown-class samples slightly better than LogitNorm (tau 0.04), the specialised "
    "state-of-the-art loss for this task; the abstract and conclusion call the two similar ('almost as well').",
    "Abstract, §5.1.2, Fig. 3(c), §6",
    "fashion_mnist",
    "ood_auroc_msp",
    "hem",
    "logit_norm",
    True,
  ),
  Claim(
    _HEM,
    "HEM detects adversarial samples better than LogitNorm (MSP DAR averaged over the 15 conditions).",
    "§5.1.2, Fig. 3(c)",
    "fashion_mnist",
    "dar_msp_pgd_linf_0.1",
    "hem",
    "logit_norm",
    True,
  ),
  # §5.2: long-tailed CIFAR-10/100 with imbalance ratios 100 and 10.
  Claim(
    _HEM,
    "With long-tailed training data, HEM and CE give similar clean accuracy; the conclusion says HEM equals or "
    "exceeds CE on every metric with imbalanced data.",
    "§5.2, Fig. 5(a, e), §6",
    "long_tail",
    "accuracy",
    "hem",
    "ce",
    True,
  ),
  Claim(
    _HEM,
    "With long-tailed training data, HEM rejects unknown-class samples better than CE (MSP AUROC).",
    "§5.2, Fig. 6(a, e)",
    "long_tail",
    "ood_auroc_msp",
    "hem",
    "ce",
    True,
  ),
  Claim(
    _HEM,
    "With long-tailed training data, HEM detects adversarial samples better than CE (MSP DAR).",
    "§5.2, Fig. 6(b, e)",
    "long_tail",
    "dar_msp_pgd_linf_0.1",
    "hem",
    "ce",
    True,
  ),
  Claim(
    _HEM,
    "Logit-adjusted loss, built for imbalance, has better clean accuracy than HEM+ (HEM with per-class margins "
    "sqrt(2000 / (K s_i))) on long-tailed data.",
    "Abstract, §5.2, Fig. 5(c), §6",
    "long_tail",
    "accuracy",
    "logit_adjusted",
    "hem_plus",
    True,
  ),
  Claim(
    _HEM,
    "Logit-adjusted loss also has better corruption accuracy than HEM+ on long-tailed data.",
    "§5.2, Fig. 5(d)",
    "long_tail",
    "corruption_accuracy",
    "logit_adjusted",
    "hem_plus",
    True,
  ),
  Claim(
    _HEM,
    "HEM+ rejects unknown-class samples better than logit-adjusted loss on long-tailed data (MSP AUROC).",
    "Abstract, §5.2, Fig. 6(c), §6",
    "long_tail",
    "ood_auroc_msp",
    "hem_plus",
    "logit_adjusted",
    True,
  ),
  Claim(
    _HEM,
    "HEM+ detects adversarial samples better than logit-adjusted loss on long-tailed data (MSP DAR).",
    "§5.2, Fig. 6(d)",
    "long_tail",
    "dar_msp_pgd_linf_0.1",
    "hem_plus",
    "logit_adjusted",
    True,
  ),
  Claim(
    _HEM,
    "Adjusting the margins to the class sizes (HEM+) further improves on HEM with imbalanced data; the conclusion "
    "reports no condition where HEM+ did worse than HEM. Clean accuracy is the natural reading.",
    "§4.3, Fig. 5(e), §6",
    "long_tail",
    "accuracy",
    "hem_plus",
    "hem",
    True,
  ),
  Claim(
    _HEM,
    "Motivating hypothesis, not a reported measurement: because a margin loss stops updating on samples it already "
    "classifies well, majority-class samples should overwrite less of what the minority classes need, so HEM should "
    "serve the rare classes better than CE. The paper reports no per-group (many/medium/few-shot) accuracy.",
    "§1, §2.1",
    "long_tail",
    "few_shot",
    "hem",
    "ce",
    True,
    ("ratio100",),
  ),
)

# HEM's claims on its own MNIST setting too (study (e): real digits, HEM's MNIST networks and recipe): every HEM
# claim of study (a), whose losses and metrics study (e) also has, on the three HEM networks.
_HEM_MNIST_DIGITS_CLAIMS = tuple(
  dataclasses.replace(
    claim,
    statement=claim.statement + " (Here on real MNIST digits, HEM's own MNIST setting.)",
    study="mnist_digits",
    models=grid.MNIST_DIGITS_HEM_MODELS,
  )
  for claim in _HEM_CLAIMS
  if claim.study == "fashion_mnist"
)

# HEM+'s claims again with its other reading of Eq. 6's per-class margins: on the example's own class (as LDAM's),
# not on the competing class as written; the long-tail study trains both, and the report sets them side by side.
_HEM_PLUS_LABEL_CLAIMS = tuple(
  dataclasses.replace(
    claim,
    statement=claim.statement + " (HEM+ read with the margin of the example's own class, `hem_plus_label`.)",
    treatment="hem_plus_label" if claim.treatment == "hem_plus" else claim.treatment,
    baseline="hem_plus_label" if claim.baseline == "hem_plus" else claim.baseline,
  )
  for claim in _HEM_CLAIMS
  if "hem_plus" in (claim.treatment, claim.baseline)
)

CLAIMS: tuple[Claim, ...] = (
  _ENCOURAGING_LOSS_CLAIMS
  + _EXPECTATION_MIXING_CLAIMS
  + _HEM_CLAIMS
  + _HEM_PLUS_LABEL_CLAIMS
  + _HEM_MNIST_DIGITS_CLAIMS
)


@dataclasses.dataclass(frozen=True)
class Untestable:
  """A claim (or group of results) of a paper that the CPU-scale studies cannot test, and why."""

  paper: str  # one of PAPERS
  what: str  # the claim or results, in our words
  source: str  # where in the paper
  why: str  # what testing it would need: data that needs a download, compute beyond a 2-core CPU, a method not built

  def __post_init__(self):
    if self.paper not in PAPERS:
      raise ValueError(f"Unknown paper {self.paper!r}. Valid: {', '.join(PAPERS)}.")


_DOWNLOAD_AND_GPU = "data sets that need a download, and GPU-scale training"

UNTESTABLE: dict[str, tuple[Untestable, ...]] = {
  _EL: (
    Untestable(
      _EL,
      "Accuracy gains at scale: CIFAR-10/100 and ImageNet with ResNet-50 and EfficientNet-B0, and iNaturalist 2018 "
      "(8,142 classes).",
      "Table 1, Table 3",
      _DOWNLOAD_AND_GPU + ".",
    ),
    Untestable(
      _EL,
      "Graph classification gains (PROTEINS, NCI1).",
      "§4.2, Fig. 4, Table 1",
      "the TU graph sets (a download) and graph-network runs, which no study trains.",
    ),
    Untestable(
      _EL,
      "Machine translation gains in BLEU (IWSLT De-En, Fr-En).",
      "§4.2, Fig. 4, Table 1",
      "the IWSLT corpora (a download) and Transformer training, beyond a 2-core CPU.",
    ),
    Untestable(
      _EL,
      "OOD detection with ImageNet in-distribution and iNaturalist 2018 out.",
      "§4.4, Table 4 (second setting)",
      _DOWNLOAD_AND_GPU + ".",
    ),
    Untestable(
      _EL,
      "The free-energy score, against minimum conditional energy and maximum probability, for OOD detection.",
      "App. C.2, Fig. 11",
      "ImageNet and iNaturalist 2018 (downloads, GPU-scale training); the claims here read MSP and max-logit scores.",
    ),
    Untestable(
      _EL,
      "The bonus added to classifier re-training (CRT) and to deferred re-weighting on iNaturalist 2018.",
      "§4.4, Table 3",
      "iNaturalist 2018 (a download, GPU-scale training). The runs exist: `configs/encouraging_loss/inaturalist.py` "
      "(`loss=ce_drw|el_normal_drw` for DRW) and `evaluate.py --crt` (CRT on a trained run).",
    ),
    Untestable(
      _EL,
      "The bonus added to MSE (softmax and sigmoid outputs) on MNIST.",
      "§4.5, Table 5",
      "MSE runs with and without the bonus, which no study trains (`configs/encouraging_loss/mnist.py` has them: "
      "`loss=mse_softmax|mse_softmax_mirror|mse_sigmoid|mse_sigmoid_mirror`).",
    ),
    Untestable(
      _EL,
      "The bonus added to label smoothing, and label smoothing lowering EL's ECE.",
      "App. C.1, Table 8; App. C.2, Table 12",
      "runs with label smoothing, which no study trains.",
    ),
    Untestable(
      _EL,
      "Not the paper's claim but a public failed reproduction of it (a blog summary of the paper): on CIFAR-10 with "
      "kuangliu's ResNet-18 recipe, CE 92.67, MAE + MSE 92.33, CE + bonus 91.13 (one run each): the bonus lost "
      "1.5 points to CE.",
      "blog summary of the paper",
      "CIFAR-10, which needs a download, and 200 epochs of ResNet-18, GPU-scale training "
      "(`configs/encouraging_loss/blog_cifar10.py:loss=ce|mae_mse|el`). One run per loss cannot separate 0.3 points "
      "from seed noise either.",
    ),
    Untestable(
      _EL,
      "The bonus added to large-margin softmax on MNIST (99.62 +- 0.04 -> 99.64 +- 0.02).",
      "App. C.1",
      "L-Softmax runs with and without the bonus, which no study trains (`configs/encouraging_loss/mnist.py` has "
      "them: `head=lsoftmax,loss=ce|el`); a 0.02-point difference is far below what CPU-scale seeds can resolve.",
    ),
    Untestable(
      _EL,
      "The bonus added to adversarial training (FGSM, L_inf and L2 PGD).",
      "App. C.1, Table 7",
      "runs of adversarial training (`configs/encouraging_loss/adversarial.py`), which no study trains: each costs "
      "about steps + 1 times a plain run.",
    ),
    Untestable(
      _EL,
      "Halted focal loss against focal loss on iNaturalist 2018 and COCO detection.",
      "App. C.1, Tables 9, 10",
      _DOWNLOAD_AND_GPU + ", and an object detector, which is not implemented.",
    ),
    Untestable(
      _EL,
      "Robustness under AutoAttack and L2 PGD.",
      "App. C.2, Table 11",
      "CIFAR/ImageNet-scale models (downloads, GPU-scale training); AutoAttack and L2 PGD are implemented "
      "(`evaluate.py --ensemble_linf_eps/--ensemble_l2_eps`, `--pgd_l2_eps`), but the studies run FGSM and L_inf PGD.",
    ),
    Untestable(
      _EL,
      "A smaller gap between training and test accuracy (ResNet-50 on CIFAR-10/100 and ImageNet).",
      "App. C.2",
      "a training-accuracy metric, which the studies do not record.",
    ),
    Untestable(
      _EL,
      "Gradient-norm ratios against CE (over 5x for LE = 1, under 1.7x for LE = 0.75).",
      "§4.2 (discussion b)",
      "Transformer translation (a download, GPU-scale training), where the paper measures them; no claim here reads "
      "gradient norms.",
    ),
  ),
  _MIX: (
    Untestable(
      _MIX,
      "Image classification on CIFAR-100, CINIC-10 and ImageNet with the paper's architectures.",
      "Tables 1, 2",
      _DOWNLOAD_AND_GPU + ".",
    ),
    Untestable(
      _MIX,
      "The gain over CE kept under extra regularisation (random erasing, colour jitter, dropout) on CINIC-10.",
      "Table 6",
      _DOWNLOAD_AND_GPU + " (`configs/expectation_mixing/cinic10.py:regularization=...` has the rows).",
    ),
    Untestable(
      _MIX,
      "Fine-tuned BERT on seven GLUE tasks.",
      "Fig. 2",
      "BERT weights and GLUE (downloads) and GPU-scale fine-tuning.",
    ),
    Untestable(
      _MIX,
      "LSTM classifiers of reviews.",
      "Table 3",
      "the review corpora (a download) and LSTM runs, which no study trains.",
    ),
    Untestable(
      _MIX,
      "The comparison with COT on CIFAR-100, Tiny-ImageNet and ImageNet.",
      "Table 5",
      _DOWNLOAD_AND_GPU + " (`configs/expectation_mixing/cot.py` has the rows, COT with Chen et al.'s two updates "
      "per batch).",
    ),
    Untestable(
      _MIX,
      "CE with its learning rate scaled to match the mixed loss's gradient is not competitive.",
      "§Experiments (Eqs. 20-22); supplementary",
      "runs of that control (`loss=ce_matched` in the mixing configs), which no study trains; its results are only in "
      "the supplementary.",
    ),
    Untestable(
      _MIX,
      "The bound on the escaping efficiency of the mixed loss over CE.",
      "Eq. 19",
      "estimates of the Hessian and the gradient-noise covariance, which are not implemented.",
    ),
    Untestable(
      _MIX,
      "The motivating example: late in training CE rarely fixes test samples it misclassifies with low confidence "
      "(ResNet32, CIFAR-100).",
      "§A Motivating Example",
      _DOWNLOAD_AND_GPU + ".",
    ),
    Untestable(
      _MIX,
      "Table 4's win counts over 121 UCI sets, and the Friedman and Conover post-hoc tests.",
      "Table 4, Fig. 3",
      "the 121 UCI sets (a download, read by `configs/expectation_mixing/uci.py:data=uci121:<name>`); four "
      "scikit-learn sets can show the direction of the results only.",
    ),
  ),
  _HEM: (
    Untestable(
      _HEM,
      "Results on CIFAR-10/100, TinyImageNet and ImageNet with their 12 networks.",
      "§5.1, Table 2",
      _DOWNLOAD_AND_GPU + ".",
    ),
    Untestable(
      _HEM,
      "Unknown-class rejection on the real OOD sets: Omniglot, KMNIST, Textures, SVHN, iNaturalist, ImageNet-O.",
      "§5.1.2; App. A.1.2",
      "those data sets (downloads) and CIFAR/ImageNet-scale models; `evaluate.py` reads them (release folders or TFDS "
      "names, `configs/hem/ood_sets.py`) for a run of their in-distribution set.",
    ),
    Untestable(
      _HEM,
      "Adversarial detection (DAR) under AutoAttack, L_inf and L2.",
      "§5.1.2; App. A.1.2",
      "CIFAR/ImageNet-scale models (downloads, GPU-scale training); AutoAttack is implemented (`evaluate.py "
      "--ensemble_linf_eps/--ensemble_l2_eps` report its DAR), but the studies' DAR uses L_inf PGD for its cost.",
    ),
    Untestable(
      _HEM,
      "Long-tailed CIFAR-10/100 with ResNets.",
      "§5.2, Figs. 5, 6",
      _DOWNLOAD_AND_GPU + ".",
    ),
    Untestable(
      _HEM,
      "Continual learning: Permuted/Split MNIST and Split CIFAR with replay, SI, EWC, LFL and LwF.",
      "§5.3, Fig. 7",
      "the full MNIST and CIFAR (downloads) and recipes of up to 200 epochs of ResNet-18, beyond a 2-core CPU.",
    ),
    Untestable(
      _HEM,
      "Semantic segmentation on CamVid, Cityscapes and SBD.",
      "§5.4, Fig. 8",
      _DOWNLOAD_AND_GPU + " (`configs/hem/segmentation.py` has every data set, encoder and loss of Fig. 8).",
    ),
    Untestable(
      _HEM,
      "DICE loss against HEM.",
      "Figs. 2(c), 3(c), 5(e), 6(e), 8(d)",
      "DICE runs, which no study trains.",
    ),
    Untestable(
      _HEM,
      "LogitNorm and MM under class imbalance.",
      "§5.2, Figs. 5(e), 6(e)",
      "LogitNorm and MM runs on long-tailed data; the long_tail study trains neither.",
    ),
    Untestable(
      _HEM,
      "The sweeps of HEM's margin and of LogitNorm's and MM's hyper-parameters.",
      "App. B.1, Figs. 9, 10",
      "ResNet18 on CIFAR-10 (a download, GPU-scale training) at many settings.",
    ),
    Untestable(
      _HEM,
      "The ablation of HEM's two changes to MM.",
      "App. B.2, Table 3",
      "ResNet18 on CIFAR-10/100 (downloads, GPU-scale training) and runs of each change alone, which no study trains.",
    ),
    Untestable(
      _HEM,
      "HEM gaining from a lower learning rate.",
      "App. B.3, Fig. 11",
      "WRN22-10 on CIFAR-10 (a download, GPU-scale training).",
    ),
    Untestable(
      _HEM,
      "Histograms of prediction confidence (MSP) for known and unknown classes.",
      "§5.1.2, Fig. 4",
      "WRN22-10 on CIFAR-10, with CIFAR-100 as the unknown classes (downloads, GPU-scale training).",
    ),
  ),
}

# Where each paper's protocol and ours differ, in plain sentences.
SUBSTITUTIONS: dict[str, str] = {
  _EL: (
    "Fashion-MNIST stands in for MNIST, except in study (e), which trains on the 5,000 real MNIST digits, k-fold; "
    "LeNet on Fashion-MNIST stands in for ResNet-50 on CIFAR-10 in the analyses (margins, energy, probe, Table 2), "
    "and long-tailed Fashion-MNIST for iNaturalist 2018. Runs use Adam with HEM's MNIST recipe in place of the "
    "paper's SGD recipes, except Table 2's runs (SGD, study (d)) and Table 1's MNIST runs in study (e) (the L-Softmax "
    "CNN with SGD for 10 epochs of 4,000 digits at half the paper's rate, 0.05, after a 2-epoch linear warm-up that "
    "the paper does not describe: at the paper's 0.1 from the first step CE and EL alike diverge here, and EL still "
    "does after the warm-up)."
  ),
  _MIX: (
    "Fashion-MNIST with HEM's MNIST networks and recipe (Adam) stands in for CIFAR-100, CINIC-10 and ImageNet; four "
    "scikit-learn UCI sets stand in for 121. The paper compares focal loss and the expectation loss alone only on "
    "UCI, so it makes no image-data claim for either."
  ),
  _HEM: (
    "On MNIST the paper trains on the full 60,000 images; study (a) trains LeNet and the MLP on 10,000 "
    "Fashion-MNIST images and study (e) the three networks on 4,000 real MNIST digits per fold (the ConvNet, which "
    "underfits Fashion-MNIST at this budget, only there). Long-tailed Fashion-MNIST with LeNet "
    "stands in for long-tailed CIFAR with ResNets. HEM reports no many/medium/few-shot accuracy, so its few-shot "
    "claim rests on the hypothesis of §2.1 only."
  ),
}
