"""The reproduction report from hand-made results: table entries, claim verdicts with their statistics (against
scipy), the UCI study's data-set tests, and pending runs."""

import json
import math
import os

import numpy as np
import pytest
from scipy import stats

from el_jax.configs.studies import fashion_mnist
from el_jax.configs.studies import uci as uci_config
from el_jax.studies import claims, report, runner

ACCURACY = {"ce": [0.80, 0.81, 0.82], "el_le1": [0.90, 0.91, 0.92], "el_le0.75": [0.80, 0.83, 0.79]}


def _write_results(runs_dir, study):
  written = []
  for run in study.runs:
    loss = run.labels["loss"]
    if run.labels["model"] != "lenet" or loss not in ACCURACY or run.seed >= len(ACCURACY[loss]):
      continue  # three seeds of three LeNet losses
    workdir = runner.run_dir(runs_dir, study, run)
    os.makedirs(workdir)
    accuracy = ACCURACY[loss][run.seed]
    result = {
      "group": run.group,
      "labels": run.labels,
      "seed": run.seed,
      "metrics": {"accuracy": accuracy, "median_margin": 10.0 * accuracy},
      "seconds": {"train": 60.0, "evaluate": 30.0},
      "config": run.config.to_dict(),
      "evaluation": dict(run.evaluation),
      "report": {"timing_seconds": {"ood": 6.0, "adversarial": 12.0}},  # the other 12 s: loading, compiling
    }
    with open(os.path.join(workdir, runner.RESULT_NAME), "w") as f:
      json.dump(result, f)
    rng = np.random.default_rng(run.seed)
    np.savez(os.path.join(workdir, runner.ARRAYS_NAME), margins=rng.normal(size=50), energy=rng.normal(size=50))
    written.append(run.name)
  return written


def _power(c, df, noncentrality):
  """P(T > c) + P(T < -c) for T ~ noncentral t(df, noncentrality > 0), straight from scipy; where scipy's far lower
  tail is NaN (it is for some noncentralities above 7), that tail is below P(T < 0) = Phi(-noncentrality) ~ 0."""
  lower = stats.nct.cdf(-c, df, noncentrality)
  if np.isnan(lower):
    assert stats.norm.cdf(-noncentrality) < 1e-9
    lower = 0.0
  return stats.nct.sf(c, df, noncentrality) + lower


def _welch(treatment, baseline):
  return stats.ttest_ind(ACCURACY[treatment], ACCURACY[baseline], equal_var=False)


@pytest.fixture(scope="module")
def fashion_report(tmp_path_factory):
  tmp_path = tmp_path_factory.mktemp("fashion")
  study = fashion_mnist.get_study()
  runs_dir, report_dir = str(tmp_path / "runs"), str(tmp_path / "report")
  written = _write_results(runs_dir, study)
  paths = report.write({"fashion_mnist": study}, runs_dir, report_dir)
  return study, written, paths


def test_report_tables_and_pending_runs(fashion_report):
  study, written, paths = fashion_report
  assert len(written) == 9
  text = open(paths[0]).read()
  # Table entries: mean ± sample standard deviation, in percent.
  assert "| ce | 81.00 ± 1.00 |" in text
  assert "| el_le1 | 91.00 ± 1.00 |" in text
  assert "mlp: not run" in text
  pending = len(study.runs) - len(written)
  assert f"Pending runs ({pending})" in text
  assert "Time recorded by the runs: 14 minutes of training and evaluation (fashion_mnist 14)" in text
  # 9 runs: 9 x 60 s training, 9 x 12 s evaluation setup, 9 x 6 s OOD, 9 x 12 s attacks, in minutes
  assert "| study | total | train | evaluation setup | ood | adversarial |" in text
  assert "| fashion_mnist | 13.5 | 9.0 | 1.8 | 0.9 | 1.8 |" in text
  summary = json.load(open(paths[1]))
  entry = summary["studies"]["fashion_mnist"]["lenet"]["el_le1"]["accuracy"]
  assert entry["mean"] == np.mean(ACCURACY["el_le1"]) and entry["n"] == 3
  assert all(os.path.isfile(p) for p in paths)


def _rows(paths, **match):
  rows = json.load(open(paths[1]))["claims"]
  return [r for r in rows if all(r[k] == v for k, v in match.items())]


def test_report_claims_carry_welch_and_holm_against_scipy(fashion_report):
  _, _, paths = fashion_report
  el = _rows(paths, paper="encouraging_loss", model="lenet")
  tested = [r for r in el if r["verdict"] != "not run"]
  # The EL comparisons with both sides run: accuracy and (el_analyses, from study (a)'s LeNet runs) median margin.
  pairs = sorted((r["treatment"], r["baseline"], r["metric"]) for r in tested)
  assert pairs == [
    ("el_le0.75", "ce", "accuracy"),
    ("el_le0.75", "ce", "median_margin"),
    ("el_le0.75", "el_le1", "accuracy"),
    ("el_le1", "ce", "accuracy"),
    ("el_le1", "ce", "median_margin"),
  ]
  p = {pair: _welch(*pair).pvalue for pair in (("el_le1", "ce"), ("el_le0.75", "el_le1"), ("el_le0.75", "ce"))}
  assert p["el_le1", "ce"] < p["el_le0.75", "el_le1"] < p["el_le0.75", "ce"] / 2  # the order Holm works in
  # Holm by hand, m = 5 (the margin is 10 x accuracy, so its p-values repeat the accuracy's):
  # sorted p_a, p_a, p_c, p_b, p_b -> 5 p_a, max(5 p_a, 4 p_a), max(., 3 p_c), max(., 2 p_b), max(., p_b).
  p_a, p_c, p_b = p["el_le1", "ce"], p["el_le0.75", "el_le1"], p["el_le0.75", "ce"]
  adjusted = {("el_le1", "ce"): 5 * p_a, ("el_le0.75", "el_le1"): max(5 * p_a, 3 * p_c)}
  adjusted["el_le0.75", "ce"] = min(1.0, max(adjusted["el_le0.75", "el_le1"], 2 * p_b))
  for r in tested:
    pair = (r["treatment"], r["baseline"])
    scale = 10.0 if r["metric"] == "median_margin" else 1.0
    expected = _welch(*pair)
    ci = expected.confidence_interval(0.95)
    assert (r["test"], r["unit"], r["n_treatment"], r["n_baseline"]) == ("welch", "seed", 3, 3)
    assert r["difference"] == pytest.approx(scale * (np.mean(ACCURACY[pair[0]]) - np.mean(ACCURACY[pair[1]])))
    assert r["df"] == pytest.approx(expected.df)
    assert r["p_value"] == pytest.approx(expected.pvalue, rel=1e-6)
    assert r["ci95"] == pytest.approx([scale * ci.low, scale * ci.high], rel=1e-6)
    assert r["p_adjusted"] == pytest.approx(adjusted[pair], rel=1e-6)
    assert r["family_size"] == 5
    # The detectable difference: 80% power for a two-sided Welch test at level 0.05 / 5, from scipy's nct.
    c = stats.t.ppf(1 - 0.01 / 2, expected.df)
    noncentrality = r["min_detectable_difference"] / r["standard_error"]
    assert _power(c, expected.df, noncentrality) == pytest.approx(0.8, abs=1e-6)
  verdicts = {(r["treatment"], r["baseline"], r["metric"]): r["verdict"] for r in tested}
  assert verdicts["el_le1", "ce", "accuracy"] == verdicts["el_le1", "ce", "median_margin"] == "holds"
  assert verdicts["el_le0.75", "el_le1", "accuracy"] == "contradicted"
  assert verdicts["el_le0.75", "ce", "accuracy"] == "not significant"
  not_run = [r for r in el if r["verdict"] == "not run"]
  assert not_run and all(r[field] is None for r in not_run for field in claims.FIELDS if field != "verdict")


def test_report_claims_text_shows_ci_adjusted_p_verdict_and_power(fashion_report):
  _, _, paths = fashion_report
  text = open(paths[0]).read()
  ci = _welch("el_le1", "ce").confidence_interval(0.95)
  assert f"lenet: 91.00 ± 1.00 vs 81.00 ± 1.00, +10.00 [{100 * ci.low:+.2f}, {100 * ci.high:+.2f}], p_adj " in text
  (row,) = _rows(paths, treatment="el_le0.75", baseline="ce", metric="accuracy", model="lenet")
  assert row["verdict"] == "not significant"
  detectable = f"p_adj {row['p_adjusted']:.3f}: **not significant**; detectable ≥ "
  assert detectable + f"{100 * row['min_detectable_difference']:.2f}" in text
  assert "Of 43 comparisons: **2 hold**, 2 are not significant, **1 are contradicted**, 38 not run yet." in text
  assert "Holm's correction over the 5 tested; detectable differences at level 0.01" in text
  for words in ("Welch's two-sample t-test", "Holm's step-down method", "80% power", "0.05 / m", "Wilcoxon"):
    assert words in text
  assert "standard error" not in text and "twice its" not in text  # the old two-standard-error rule is gone


def _uci_records():
  # Test accuracy per seed; per-set means: mix_f0_to_05 beats ce on all four sets, focal (the paper's alpha = 0.25)
  # loses to ce on all four.
  means = {
    "ce": [0.95, 0.90, 0.96, 0.93],
    "mix_f0_to_05": [0.97, 0.93, 0.97, 0.96],
    "focal_a0.25": [0.91, 0.85, 0.95, 0.90],
  }
  records = []
  for network, shift in (("linear", 0.0), ("hidden", 0.01)):
    for loss, per_set in means.items():
      for dataset, mean in zip(("digits", "iris", "wine", "breast_cancer"), per_set, strict=True):
        test = [mean + shift - 0.01, mean + shift, mean + shift + 0.01]
        records.append({"dataset": dataset, "network": network, "loss": loss, "seeds": [0, 1, 2], "test": test})
  return means, records


def test_report_opens_with_the_verdict_counts_forest_plots_and_plain_words(fashion_report):
  _, _, paths = fashion_report
  text = open(paths[0]).read()
  assert text.index("## Summary") < text.index("## (a) Fashion-MNIST") < text.index("## The papers' claims")
  untestable = len(claims.UNTESTABLE["encouraging_loss"])
  # EL: 43 comparisons; el_le1 > ce on accuracy and margin hold, el_le0.75 vs el_le1 is contradicted, 2 not significant
  assert f"| Encouraging Loss (Zhao et al., AAAI 2022) | 43 | 2 | 1 | 2 | 38 | {untestable} |" in text
  assert "1 comparison is contradicted: el_le0.75 vs el_le1 on accuracy (lenet, fashion_mnist)." in text
  (row,) = _rows(paths, treatment="el_le0.75", baseline="ce", metric="accuracy", model="lenet")
  assert row["paper_difference"] == 0.0048 < row["min_detectable_difference"]  # EL Table 1, ImageNet 77.80 -> 78.28
  assert (
    "smaller than the smallest this design could detect: these say nothing either way: el_le0.75 vs ce on "
    "accuracy (lenet, fashion_mnist)." in text
  )
  assert "No comparison holds. No comparison is contradicted. 22 comparisons have no runs yet." in text  # mixing
  forest = os.path.join(os.path.dirname(paths[0]), "figures", "forest_encouraging_loss.png")
  assert forest in paths and "![forest plot, encouraging_loss](figures/forest_encouraging_loss.png)" in text
  assert "forest_hem.png" not in text  # nothing of HEM's was tested


def test_report_tests_uci_claims_over_data_sets(tmp_path):
  study = uci_config.get_study()
  runs_dir, report_dir = str(tmp_path / "runs"), str(tmp_path / "report")
  os.makedirs(os.path.join(runs_dir, "uci"))
  means, records = _uci_records()
  with open(os.path.join(runs_dir, "uci", runner.UCI_NAME), "w") as f:
    json.dump({"sweep": runner.sweep_settings(study.uci), "records": records, "seconds": 60.0}, f)
  paths = report.write({"uci": study}, runs_dir, report_dir)
  text = open(paths[0]).read()
  summary = json.load(open(paths[1]))
  # Friedman over the four sets, the three losses ranked within each, against scipy.
  friedman = summary["studies"]["uci"]["friedman"]["linear"]
  expected = stats.friedmanchisquare(*[np.asarray(means[loss]) for loss in ("ce", "mix_f0_to_05", "focal_a0.25")])
  assert friedman["statistic"] == pytest.approx(expected.statistic)
  assert friedman["p_value"] == pytest.approx(expected.pvalue)
  assert (friedman["df"], friedman["n_sets"]) == (2, 4)
  assert f"chi-square {expected.statistic:.2f}, df 2, p = {expected.pvalue:.3f}" in text
  table = np.transpose([means[loss] for loss in ("ce", "mix_f0_to_05", "focal_a0.25")])
  np.testing.assert_allclose(friedman["mean_ranks"], stats.rankdata(-table, axis=1).mean(axis=0))
  # Every set ranks the three losses alike (Q = 8, its largest value for 4 sets, p = 0.018): no within-set error is
  # left for Conover's test, so every pair differs.
  assert expected.statistic == pytest.approx(8.0)
  assert friedman["pairs_differ"] == [["ce", "mix_f0_to_05"], ["ce", "focal_a0.25"], ["mix_f0_to_05", "focal_a0.25"]]
  assert "Benjamini-Hochberg: ce and mix_f0_to_05 differ; ce and focal_a0.25 differ;" in text
  # mix_f0_to_05 against CE: four sets, all favouring the treatment, still only p = 0.125 > 0.05.
  (row,) = _rows(paths, treatment="mix_f0_to_05", baseline="ce", model="linear")
  assert row["datasets"] == ["digits", "iris", "wine", "breast_cancer"]
  assert row["treatment_values"] == pytest.approx(means["mix_f0_to_05"])
  assert (row["test"], row["unit"], row["n_treatment"]) == ("wilcoxon", "data set", 4)
  d = np.subtract(means["mix_f0_to_05"], means["ce"])
  assert row["p_value"] == pytest.approx(stats.wilcoxon(d, method="exact").pvalue) == pytest.approx(0.125)
  assert row["paired_t_p_value"] == pytest.approx(stats.ttest_rel(means["mix_f0_to_05"], means["ce"]).pvalue)
  assert row["verdict"] == "not significant"
  assert row["min_detectable_difference"] == math.inf
  assert "nothing detectable (signed-rank p ≥ 0.125)" in text
  assert "cannot give a p-value below 2 / 2^4 = 0.125" in text
  mixing = _rows(paths, paper="expectation_mixing")
  assert sum(r["verdict"] != "not run" for r in mixing) == 4  # the two pairs run, on both networks
  assert all(r["family_size"] == 4 for r in mixing if r["verdict"] != "not run")


def test_plain_words_set_the_papers_differences_beside_what_the_design_could_detect():
  def row(treatment, verdict, paper_difference=None, detectable=None):
    return {
      "treatment": treatment,
      "baseline": "ce",
      "metric": "accuracy",
      "model": "lenet",
      "study": "fashion_mnist",
      "verdict": verdict,
      "paper_difference": paper_difference,
      "min_detectable_difference": detectable,
    }

  rows = [
    row("el_le1", "holds"),
    row("el_le0.5", "not significant", 0.02, 0.01),  # the paper's 2 points were detectable: not seen here
    row("el_le0.75", "not significant", 0.005, 0.01),  # the paper's 0.5 points were not
    row("mix_f0", "not significant", None, 0.01),
    row("hem", "not run"),
  ]
  text = report._plain_words(rows)
  assert text.startswith("1 comparison holds: el_le1 vs ce on accuracy (lenet, fashion_mnist). No comparison is ")
  assert "3 are not significant. In 1 of them the design could have detected (80% power) a difference as large " in text
  assert "not seen here: el_le0.5 vs ce on accuracy (lenet, fashion_mnist). In 1 the paper's difference" in text
  assert "say nothing either way: el_le0.75 vs ce on accuracy (lenet, fashion_mnist). 1 has no figure" in text
  assert "1 comparison has no runs yet." in text


def test_verdict_words_cover_every_verdict():
  assert set(report.VERDICT_WORDS) == set(claims.VERDICTS)


def test_time_line_names_each_study_and_what_was_not_timed():
  line = report._time_line({"fashion_mnist": 5400.0, "long_tail": 600.0, "uci": None})
  assert line.startswith("Time recorded by the runs: 100 minutes of training and evaluation (fashion_mnist 90, ")
  assert "long_tail 10; not recorded: uci)." in line


def _row(treatment, baseline, difference, verdict, group="ratio100", metric="accuracy"):
  return {
    "study": "long_tail",
    "model": group,
    "metric": metric,
    "treatment": treatment,
    "baseline": baseline,
    "difference": difference,
    "treatment_values": [0.7, 0.72],
    "baseline_values": [0.7, 0.7],
    "verdict": verdict,
    "p_value": 0.01,
    "p_adjusted": 0.03,
    "ci95": (difference - 0.01, difference + 0.01),
    "min_detectable_difference": 0.05,
    "min_attainable_p": 0.0,
  }


def test_hem_plus_readings_are_set_side_by_side_with_the_reading_closer_to_the_paper():
  rows = [
    _row("hem_plus", "hem", -0.04, "not significant"),
    _row("hem_plus_label", "hem", 0.03, "holds"),
    _row("logit_adjusted", "hem_plus", 0.08, "holds"),
    _row("logit_adjusted", "hem_plus_label", 0.01, "not significant"),
    _row("hem", "ce", 0.02, "holds"),  # not a HEM+ claim: left out
    _row("hem_plus", "ce", -0.01, "not significant"),
    _row("hem_plus_label", "ce", -0.05, "contradicted"),
  ]
  text = "\n".join(report._hem_plus_readings(rows))
  assert (
    "| HEM+ vs hem on accuracy | ratio100 |" in text and "| logit_adjusted vs HEM+ on accuracy | ratio100 |" in text
  )
  assert "hem vs ce" not in text
  assert (
    "(`hem_plus`) the difference lies in the claim's direction in 1 of 3 comparisons (holds: logit_adjusted vs HEM+ "
    "on accuracy (ratio100); contradicted: none)" in text
  )
  assert (
    "(`hem_plus_label`) the difference lies in the claim's direction in 2 of 3 comparisons (holds: HEM+ vs hem on "
    "accuracy (ratio100); contradicted: HEM+ vs ce on accuracy (ratio100))" in text
  )
  assert "The reading closer to the paper is `hem_plus_label`: it follows the claims' direction in 2 of 3" in text
  assert "though none of its comparisons is significant" not in text  # hem_plus_label has a hold and a contradiction
  # The leading reading without a hold but with a contradiction: its comparisons are not all non-significant.
  no_hold = [dict(r, verdict="not significant") if r["verdict"] == "holds" else r for r in rows]
  assert "though none of its comparisons is significant" not in "\n".join(report._hem_plus_readings(no_hold))
  assert report._hem_plus_readings(rows[:1] + rows[4:5]) == []  # one reading only: nothing to compare
