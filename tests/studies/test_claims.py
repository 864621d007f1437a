"""The claims compare what the study configs train, and `check` and `judge` give the verdicts of Welch's test (or,
for UCI, the signed-rank test over data sets) with Holm's correction, checked against scipy and by hand."""

import collections
import dataclasses
import importlib
import math

import numpy as np
import pytest
from scipy import stats

from el_jax.studies import claims
from el_jax.studies.claims import CLAIMS, Claim, check

LOWER_IS_BETTER = (
  "nll",
  "ece",
  "mean_energy",
  "fpr95_msp",
  "fpr95_max_logit",
  "fpr95_msp_real",
  "fpr95_max_logit_real",
)
STUDIES = ("fashion_mnist", "uci", "long_tail", "el_analyses", "mnist_digits")  # configs/studies/<name>.py


def _claim(**changes):
  base = Claim(
    paper="encouraging_loss",
    statement="test",
    source="Table 1",
    study="fashion_mnist",
    metric="accuracy",
    treatment="el_le1",
    baseline="ce",
    higher_is_better=True,
  )
  return dataclasses.replace(base, **changes)


def _ids(claim):
  return f"{claim.paper}:{claim.study}:{claim.metric}:{claim.treatment}-vs-{claim.baseline}:{'+'.join(claim.models)}"


@pytest.mark.parametrize("claim", CLAIMS, ids=_ids)
def test_claim_names_known_metric_labels_and_models(claim):
  assert claim.paper in claims.PAPERS
  assert claim.metric in claims.METRICS
  assert claim.treatment in claims.STUDY_LABELS[claim.study]
  assert claim.baseline in claims.STUDY_LABELS[claim.study]
  assert claim.treatment != claim.baseline
  assert set(claim.models) <= set(claims.STUDY_MODELS[claim.study])
  assert claim.statement.strip() and claim.source.strip()


@pytest.mark.parametrize("claim", CLAIMS, ids=_ids)
def test_direction_matches_metric(claim):
  # Claims that a method is worse are written with the winner as treatment, so direction follows the metric.
  assert claim.higher_is_better == (claim.metric not in LOWER_IS_BETTER)


@pytest.mark.parametrize("claim", CLAIMS, ids=_ids)
def test_claim_fits_what_its_study_measures(claim):
  if claim.study == "uci":
    assert claim.metric == "accuracy"
  if claim.metric in claims.SHOT_METRICS:
    assert claim.study == "long_tail"
  if claim.metric in ("medium_shot", "few_shot"):
    assert claim.models == ("ratio100",)  # ratio 10 keeps >= 100 images per class
  if claim.metric == "probe_accuracy":
    assert claim.study in ("el_analyses", "fashion_mnist")


# ---- Claims against the runs the study configs build ---------------------------------------------------------------


def _trained(study) -> dict:
  """`{(model or group, loss label): evaluation options}` of what `study` trains, with its seeds under "seeds"."""
  if study.uci is not None:
    sweep = study.uci
    return {(network, label): {"seeds": sweep.seeds} for network in sweep.networks for label in sweep.losses}
  cells = {}
  for run in study.runs:
    group = run.labels["imbalance"] if study.name == "long_tail" else run.labels["model"]
    cell = cells.setdefault((group, run.labels["loss"]), dict(run.evaluation, seeds=()))
    cell["seeds"] += (run.seed,)
  return cells


def _trained_by_study(tiny: bool) -> dict:
  arg = "tiny" if tiny else None
  return {name: _trained(importlib.import_module(f"el_jax.configs.studies.{name}").get_study(arg)) for name in STUDIES}


def _compared(trained: dict, study: str) -> dict:
  """What a claim of `study` compares: el_analyses' claims also read study (a)'s runs, as the report does."""
  return trained["fashion_mnist"] | trained["el_analyses"] if study == "el_analyses" else trained[study]


@pytest.fixture(scope="module")
def trained():
  return _trained_by_study(tiny=False)


def _comparisons(claim):
  models = claim.models or claims.STUDY_MODELS[claim.study]
  return [(model, label) for model in models for label in (claim.treatment, claim.baseline)]


@pytest.mark.parametrize("claim", CLAIMS, ids=_ids)
def test_every_comparison_has_runs_behind_it(claim, trained):
  # Each (model, loss) the report sets side by side is trained for the claim's study, with seeds for an error bar.
  runs = _compared(trained, claim.study)
  for cell in _comparisons(claim):
    assert cell in runs, f"{claim.study} trains no {cell}"
    assert len(runs[cell]["seeds"]) >= 2


def test_claim_models_are_the_groups_each_study_trains(trained):
  # A claim without `models` covers exactly what its study trains: no model is left out of the verdicts.
  for study in STUDIES:
    assert set(claims.STUDY_MODELS[study]) == {model for model, _ in trained[study]}, study


def test_claim_labels_are_the_losses_each_study_trains(trained):
  # A loss label a claim may name is one the study trains; el_analyses adds study (a)'s LeNet losses.
  for study in STUDIES:
    assert set(claims.STUDY_LABELS[study]) == {loss for _, loss in _compared(trained, study)}, study


@pytest.mark.parametrize("claim", [c for c in CLAIMS if c.metric == "probe_accuracy"], ids=_ids)
def test_probe_claims_compare_runs_that_get_the_probe(claim, trained):
  runs = _compared(trained, claim.study)
  for cell in _comparisons(claim):
    assert runs[cell]["probe"], f"{cell} is trained without the linear probe"


def test_the_tiny_studies_leave_some_claim_to_check():
  # `reproduce.py --tiny` checks the pipeline up to the verdicts: at least one claim must have both sides trained.
  tiny = _trained_by_study(tiny=True)
  assert any(all(cell in _compared(tiny, c.study) for cell in _comparisons(c)) for c in CLAIMS)


def test_every_paper_has_claims():
  counts = collections.Counter(c.paper for c in CLAIMS)
  assert set(counts) == set(claims.PAPERS)
  assert all(n >= 8 for n in counts.values()), counts


# ---- What the studies cannot test ----------------------------------------------------------------------------------


def test_every_paper_lists_what_cannot_be_tested():
  assert set(claims.UNTESTABLE) == set(claims.PAPERS)
  for paper, records in claims.UNTESTABLE.items():
    assert records, paper
    for record in records:
      assert isinstance(record, claims.Untestable)
      assert record.paper == paper
      assert record.what.strip() and record.source.strip() and record.why.strip(), record
  whats = [r.what for records in claims.UNTESTABLE.values() for r in records]
  assert len(whats) == len(set(whats))


def test_every_paper_says_where_the_protocol_differs():
  assert set(claims.SUBSTITUTIONS) == set(claims.PAPERS)
  assert all(text.strip() for text in claims.SUBSTITUTIONS.values())


def test_untestable_with_unknown_paper_is_rejected():
  with pytest.raises(ValueError, match="Unknown paper"):
    claims.Untestable(paper="focal", what="x", source="Table 1", why="y")


def test_untestable_is_frozen():
  record = claims.UNTESTABLE["hem"][0]
  with pytest.raises(dataclasses.FrozenInstanceError):
    record.why = "z"


# ---- The paper's own effect size -----------------------------------------------------------------------------------


@pytest.mark.parametrize("claim", CLAIMS, ids=_ids)
def test_paper_difference_is_finite_and_favours_the_treatment(claim):
  # Claims are written with the winner the paper names as treatment, so a reported difference is positive.
  if claim.paper_difference is None:
    return
  assert isinstance(claim.paper_difference, float) and math.isfinite(claim.paper_difference)
  assert claim.paper_difference > 0


def test_every_paper_reports_some_paper_differences():
  filled = collections.Counter(c.paper for c in CLAIMS if c.paper_difference is not None)
  assert set(filled) == set(claims.PAPERS), filled


def _only(**fields):
  (claim,) = [c for c in CLAIMS if all(getattr(c, k) == v for k, v in fields.items())]
  return claim


@pytest.mark.parametrize(
  "fields, expected",
  [
    # EL Table 1, MNIST: 99.42 -> 99.56 (percent), on both studies that test it.
    ({"study": "fashion_mnist", "metric": "accuracy", "treatment": "el_le1", "baseline": "ce"}, (99.56 - 99.42) / 100),
    ({"study": "mnist_digits", "metric": "accuracy", "treatment": "el_le1"}, (99.56 - 99.42) / 100),
    # EL Table 4, MNIST vs Fashion-MNIST: AUROC 95.68 -> 98.04; FPR95 20.92 -> 8.69, lower is better.
    ({"study": "fashion_mnist", "metric": "ood_auroc_max_logit_real", "treatment": "el_le1"}, (98.04 - 95.68) / 100),
    ({"study": "mnist_digits", "metric": "fpr95_max_logit_real", "treatment": "el_le1"}, (20.92 - 8.69) / 100),
    # EL Table 2, CIFAR-10: EL at half the rate 93.69 against CE 92.34 (the statement's 1.35 points).
    ({"study": "el_analyses", "treatment": "el_le1_sgd_0.5x", "baseline": "ce_sgd_1x"}, 0.0135),
    # EL Table 12, CIFAR-10: ECE 0.031 for CE against 0.062 for LE = 1, CE the treatment, lower is better.
    ({"metric": "ece"}, 0.062 - 0.031),
    # EL Table 3, iNaturalist 2018 few-shot: 59.8 -> 62.6.
    ({"metric": "few_shot", "treatment": "el_aggressive"}, (62.6 - 59.8) / 100),
    # Mixing Table 4: mean accuracy change of the expectation loss against CE, -2.71 points (linear classifier).
    ({"study": "uci", "treatment": "ce", "baseline": "expectation", "models": ("linear",)}, 2.71 / 100),
    # Mixing Table 4: the gradual schedule +0.30 against the constant mix's +0.09 (linear, quoted first).
    ({"study": "uci", "treatment": "mix_f0_to_05", "baseline": "mix_f0"}, (0.30 - 0.09) / 100),
    # HEM Table 3, CIFAR-100: MM 70.13 -> HEM 74.95.
    ({"study": "fashion_mnist", "metric": "accuracy", "treatment": "hem", "baseline": "mm"}, (74.95 - 70.13) / 100),
  ],
  ids=lambda x: "-".join(map(str, x.values())) if isinstance(x, dict) else "",
)
def test_paper_difference_matches_the_quoted_numbers(fields, expected):
  assert _only(**fields).paper_difference == pytest.approx(expected, abs=1e-12)


def test_paper_difference_is_none_where_the_paper_gives_no_comparable_number():
  # The matched-rate control and the alpha = 1 focal controls are not run in the papers; EL's FGSM and clean-trained
  # PGD results are figures only (Table 11's numbers are AutoAttack's).
  assert _only(study="el_analyses", treatment="el_le1_sgd_0.5x", baseline="ce_sgd_0.5x").paper_difference is None
  assert all(c.paper_difference is None for c in CLAIMS if c.baseline == "focal_a1")
  assert all(c.paper_difference is None for c in CLAIMS if c.metric in ("fgsm_0.05", "fgsm_0.1", "pgd_linf_0.1"))
  # Margins and energies are in logits, whose scale does not carry from the paper's networks and data to ours.
  assert all(c.paper_difference is None for c in CLAIMS if c.metric in ("median_margin", "mean_energy"))


def test_hem_mnist_digits_claims_carry_the_papers_difference():
  fashion = {(c.metric, c.treatment, c.baseline): c for c in CLAIMS if c.paper == "hem" and c.study == "fashion_mnist"}
  digits = [c for c in CLAIMS if c.paper == "hem" and c.study == "mnist_digits"]
  assert digits
  for claim in digits:
    assert claim.paper_difference == fashion[claim.metric, claim.treatment, claim.baseline].paper_difference


def test_no_claim_is_listed_twice():
  keys = [(c.study, c.metric, c.treatment, c.baseline, c.models) for c in CLAIMS]
  assert len(keys) == len(set(keys))


def test_table2_claims_compare_the_sgd_runs_of_its_rows():
  # EL Table 2's rows (CE, CE 2xLR, EL, EL 0.5xLR) and the matched-rate control CE 0.5xLR, all trained with SGD.
  pairs = {(c.treatment, c.baseline) for c in CLAIMS if c.study == "el_analyses" and c.metric == "accuracy"}
  assert pairs == {
    ("el_le1_sgd_1x", "ce_sgd_1x"),  # EL beats CE at CE's rate
    ("el_le1_sgd_0.5x", "el_le1_sgd_1x"),  # halving the rate helps EL
    ("el_le1_sgd_0.5x", "ce_sgd_1x"),  # EL at half the rate beats CE at its own
    ("ce_sgd_1x", "ce_sgd_2x"),  # doubling the rate hurts CE
    ("el_le1_sgd_0.5x", "ce_sgd_0.5x"),  # the matched-rate control
  }


def test_focal_claims_compare_the_papers_alpha_and_alpha_1():
  # The mixing paper's focal baseline is gamma 2, alpha 0.25 (its text); each network's claim has an alpha = 1 twin.
  focal = collections.Counter((c.baseline, c.models) for c in CLAIMS if "focal" in c.treatment + c.baseline)
  assert focal == {(label, (net,)): 1 for label in ("focal_a0.25", "focal_a1") for net in ("linear", "hidden")}


def test_energy_claims_expect_lower_energy_for_el():
  energy = [c for c in CLAIMS if c.metric == "mean_energy"]
  assert energy and all(c.baseline == "ce" and c.treatment.startswith("el_") and not c.higher_is_better for c in energy)


@pytest.mark.parametrize(
  "changes, message",
  [
    ({"metric": "top1"}, "Unknown metric"),
    ({"paper": "focal"}, "Unknown paper"),
    ({"study": "cifar"}, "Unknown study"),
    ({"treatment": "hem_plus"}, "no loss label 'hem_plus'"),  # long_tail's
    ({"treatment": "el_le1_sgd_0.5x"}, "no loss label 'el_le1_sgd_0.5x'"),  # el_analyses'
    ({"study": "el_analyses", "treatment": "hem_plus"}, "no loss label 'hem_plus'"),
    ({"study": "uci", "treatment": "el_le1"}, "no loss label 'el_le1'"),
    ({"baseline": "el_le1"}, "two losses"),
    ({"models": ("resnet",)}, "no model or group"),
    ({"models": ("linear",)}, "no model or group"),  # uci's
    ({"study": "el_analyses", "models": ("mlp",)}, "no model or group"),
    ({"study": "mnist_digits"}, "does not train"),  # EL is trained on the L-Softmax CNN only
    ({"study": "mnist_digits", "treatment": "hem", "models": ("lsoftmax_cnn",)}, "does not train"),
    ({"study": "long_tail", "treatment": "hem_plus", "models": ("ratio50",)}, "no model or group"),
    ({"paper_difference": math.nan}, "finite float"),
    ({"paper_difference": math.inf}, "finite float"),
    ({"paper_difference": "0.0014"}, "finite float"),
  ],
)
def test_bad_claim_is_rejected(changes, message):
  with pytest.raises(ValueError, match=message):
    _claim(**changes)


def test_el_analyses_claims_may_compare_study_a_lenet_runs():
  _claim(study="el_analyses", treatment="el_le1_sgd_0.5x", baseline="el_le0.75", models=("lenet",))  # no error


def test_claim_is_frozen():
  with pytest.raises(dataclasses.FrozenInstanceError):
    _claim().metric = "nll"


def _power(c, df, noncentrality):
  """P(T > c) + P(T < -c) for T ~ noncentral t(df, noncentrality > 0), straight from scipy; where scipy's far lower
  tail is NaN (it is for some noncentralities above 7), that tail is below P(T < 0) = Phi(-noncentrality) ~ 0."""
  lower = stats.nct.cdf(-c, df, noncentrality)
  if np.isnan(lower):
    assert stats.norm.cdf(-noncentrality) < 1e-9
    lower = 0.0
  return stats.nct.sf(c, df, noncentrality) + lower


def _welch(treatment, baseline):
  return stats.ttest_ind(treatment, baseline, equal_var=False)


def test_check_holds():
  # d = 0.3 - 0.0 with SE = sqrt(0.01 / 3 * 2) = 0.0816; scipy: t = 3.67 on 4 df, p = 0.021 < 0.05.
  t, b = [0.2, 0.3, 0.4], [-0.1, 0.0, 0.1]
  expected = _welch(t, b)
  assert expected.pvalue < 0.05
  result = check(_claim(), t, b)
  assert result["difference"] == pytest.approx(0.3)
  assert result["standard_error"] == pytest.approx(math.sqrt(0.02 / 3))
  assert result["df"] == pytest.approx(expected.df)
  assert result["statistic"] == pytest.approx(expected.statistic)
  assert result["p_value"] == pytest.approx(expected.pvalue) == result["p_adjusted"]  # a family of one
  assert result["ci95"] == pytest.approx(list(expected.confidence_interval(0.95)))
  assert (result["n_treatment"], result["n_baseline"], result["test"], result["unit"]) == (3, 3, "welch", "seed")
  assert result["verdict"] == "holds"


def test_check_two_standard_errors_no_longer_suffice():
  # d = 2 > 2 SE = 1.15, the old rule's "holds"; Welch: t = 3.46 on 2 df, p = 0.074, not significant at 0.05.
  result = check(_claim(), [1, 2, 3], [0, 0, 0])
  expected = _welch([1, 2, 3], [0, 0, 0])
  assert result["df"] == pytest.approx(2.0) == pytest.approx(expected.df)
  assert result["p_value"] == pytest.approx(expected.pvalue)
  assert 0.05 < result["p_value"] < 0.1
  assert result["verdict"] == "not significant"
  # The smallest true difference a 0.05-level test would see 80% of the time at SE = sqrt(1/3) on 2 df.
  c = stats.t.ppf(0.975, 2)
  noncentrality = result["min_detectable_difference"] / result["standard_error"]
  assert _power(c, 2, noncentrality) == pytest.approx(0.8, abs=1e-6)
  assert result["min_detectable_difference"] > result["difference"]


def test_check_contradicted_when_lower_is_better():
  # ECE: the treatment's mean 0.3 above the baseline's is worse, so the signed difference is -0.3; p = 0.021.
  t, b = [0.2, 0.3, 0.4], [-0.1, 0.0, 0.1]
  result = check(_claim(metric="ece", higher_is_better=False), t, b)
  expected = _welch(b, t)
  assert result["difference"] == pytest.approx(-0.3)
  assert result["statistic"] == pytest.approx(expected.statistic) and result["statistic"] < 0
  assert result["ci95"] == pytest.approx(list(expected.confidence_interval(0.95)))
  assert result["verdict"] == "contradicted"


def test_check_lower_is_better_holds():
  # Energy -10 against -4: lower for the treatment, difference +6; SE = sqrt(1/3 + 1/3) ~ 0.816, p = 0.0018.
  t, b = [-11, -10, -9], [-5, -4, -3]
  result = check(_claim(metric="mean_energy", higher_is_better=False), t, b)
  assert result["difference"] == pytest.approx(6.0)
  assert result["standard_error"] == pytest.approx(math.sqrt(2 / 3))
  assert result["p_value"] == pytest.approx(_welch(b, t).pvalue)
  assert result["verdict"] == "holds"


def test_check_unequal_seed_counts():
  # var_t = 2 with n_t = 2, var_b = 0 with n_b = 4: SE = sqrt(2/2) = 1 and df = n_t - 1 = 1.
  low = check(_claim(), [0, 2], [0, 0, 0, 0])
  assert low["standard_error"] == pytest.approx(1.0) and low["df"] == pytest.approx(1.0)
  assert low["p_value"] == pytest.approx(_welch([0, 2], [0, 0, 0, 0]).pvalue)  # t = 1 on 1 df: p = 0.5
  assert low["verdict"] == "not significant"
  high = check(_claim(), [20, 22], [0, 0, 0, 0])  # t = 21 on 1 df: p = 0.030
  assert high["p_value"] == pytest.approx(_welch([20, 22], [0, 0, 0, 0]).pvalue)
  assert high["verdict"] == "holds"


def test_check_single_seed():
  result = check(_claim(), [0.9], [0.8, 0.85])
  assert result["difference"] == pytest.approx(0.075)
  for field in ("standard_error", "df", "ci95", "statistic", "p_value", "p_adjusted", "min_detectable_difference"):
    assert result[field] is None, field
  assert result["verdict"] == "not significant (n=1)"


def test_check_without_spread_decides_by_the_means():
  # Every seed of each side equal: the difference is not seed noise (the t-test's limit), p = 0.
  result = check(_claim(), [0.5, 0.5, 0.5], [0.25, 0.25])
  assert (result["p_value"], result["verdict"], result["min_detectable_difference"]) == (0.0, "holds", 0.0)
  same = check(_claim(), [0.5, 0.5], [0.5, 0.5])
  assert (same["p_value"], same["verdict"]) == (1.0, "not significant")


def test_check_returns_every_field():
  assert set(claims.FIELDS) <= set(check(_claim(), [1, 2, 3], [0, 1, 1]))
  assert set(claims.VERDICTS) == {"holds", "contradicted", "not significant", "not significant (n=1)"}


# ---- UCI: the data set as the unit ---------------------------------------------------------------------------------

UCI_CLAIM = next(c for c in CLAIMS if c.study == "uci" and c.treatment == "mix_f0_to_05" and c.baseline == "ce")


def test_uci_claims_are_tested_over_data_sets_with_the_signed_rank_test():
  # Four sets (per-set accuracy, mean over seeds), all favouring the treatment: the most extreme outcome.
  t, b = [0.97, 0.96, 0.99, 0.95], [0.95, 0.96, 0.93, 0.94]  # the second set ties: three non-zero differences
  result = check(UCI_CLAIM, t, b)
  d = np.subtract(t, b)
  assert (result["test"], result["unit"], result["n_treatment"]) == ("wilcoxon", "data set", 4)
  assert result["p_value"] == pytest.approx(stats.wilcoxon(d, method="exact").pvalue) == pytest.approx(0.25)
  assert result["min_attainable_p"] == pytest.approx(0.25)  # 2 / 2^3
  paired = stats.ttest_rel(t, b)
  assert result["paired_t_p_value"] == pytest.approx(paired.pvalue)
  assert result["difference"] == pytest.approx(d.mean())
  assert result["ci95"] == pytest.approx(list(paired.confidence_interval(0.95)))
  assert result["df"] == 3.0
  assert result["verdict"] == "not significant"
  assert result["min_detectable_difference"] == math.inf  # p >= 0.25 > 0.05 whatever the accuracies


def test_uci_claims_four_sets_never_reach_significance():
  result = check(UCI_CLAIM, [0.99, 0.98, 0.97, 0.96], [0.50, 0.60, 0.70, 0.80])
  assert result["p_value"] == pytest.approx(0.125) and result["paired_t_p_value"] < 0.05
  assert result["verdict"] == "not significant"
  assert result["min_detectable_difference"] == math.inf


# ---- judge: Holm's correction per paper ----------------------------------------------------------------------------


def _row(paper, p_value, statistic=1.0, standard_error=1.0, df=4.0):
  return {
    "paper": paper,
    "test": "welch",
    "p_value": p_value,
    "statistic": statistic,
    "standard_error": standard_error,
    "df": df,
  }


def test_judge_adjusts_each_paper_with_holm():
  rows = [
    _row("encouraging_loss", 0.01),
    _row("hem", 0.04),
    _row("encouraging_loss", 0.04),
    _row("encouraging_loss", 0.03, statistic=-2.0),
    _row("encouraging_loss", 0.005, statistic=-5.0),
    {"paper": "hem", "test": None, "p_value": None, "verdict": "not run"},
    _row("hem", None, statistic=None, standard_error=None, df=None),  # one seed on a side
  ]
  judged = claims.judge(rows)
  # EL by hand (Holm, m = 4): 0.005 * 4 = 0.02; 0.01 * 3 = 0.03; 0.03 * 2 = 0.06; 0.04 -> 0.06.
  assert [judged[i]["p_adjusted"] for i in (0, 2, 3, 4)] == pytest.approx([0.03, 0.06, 0.06, 0.02])
  assert [judged[i]["verdict"] for i in (0, 2, 3, 4)] == ["holds", "not significant", "not significant", "contradicted"]
  assert all(judged[i]["family_size"] == 4 for i in (0, 2, 3, 4))
  # HEM: a family of one tested comparison; the untested rows take no part.
  assert judged[1]["p_adjusted"] == pytest.approx(0.04) and judged[1]["family_size"] == 1
  assert judged[1]["verdict"] == "holds"
  assert judged[5] == rows[5]
  assert judged[6]["verdict"] == "not significant (n=1)" and judged[6]["p_adjusted"] is None
  assert rows[0].get("verdict") is None  # the input rows are left as they were


def test_judge_min_detectable_difference_is_at_holms_per_comparison_level():
  rows = [_row("hem", p, standard_error=0.5, df=3.0) for p in (0.2, 0.5, 0.7, 0.9)]
  judged = claims.judge(rows)
  level = 0.05 / 4
  c = stats.t.ppf(1 - level / 2, 3.0)
  for r in judged:
    noncentrality = r["min_detectable_difference"] / 0.5
    assert _power(c, 3.0, noncentrality) == pytest.approx(0.8, abs=1e-6)


def test_check_rejects_empty_values():
  with pytest.raises(ValueError, match="at least one value"):
    check(_claim(), [], [0.5, 0.6])
