"""The report's statistics against scipy.stats on fixed inputs, and the corrections against hand-worked examples."""

import math

import numpy as np
import pytest
from scipy import stats

from el_jax.studies import statistics

# (treatment, baseline): unequal sizes and variances, a one-sided zero variance, and values like the report's.
TWO_SAMPLES = [
  ([1.0, 2.0, 3.0], [0.0, 0.5, 0.1, 4.0]),
  ([0.8645, 0.8651, 0.8581], [0.8665, 0.8655, 0.8624]),
  ([0.90, 0.91, 0.92, 0.95, 0.97], [0.80, 0.86]),
  ([1.0, 2.0, 3.0], [0.0, 0.0, 0.0]),
  ([-11.0, -10.5, -9.0], [-5.0, -4.0, -3.5]),
]


@pytest.mark.parametrize("treatment, baseline", TWO_SAMPLES)
@pytest.mark.parametrize("higher_is_better", [True, False])
def test_welch_test_matches_scipy(treatment, baseline, higher_is_better):
  test = statistics.welch_test(treatment, baseline, higher_is_better=higher_is_better)
  # scipy tests mean(first) - mean(second): the better side goes first.
  first, second = (treatment, baseline) if higher_is_better else (baseline, treatment)
  expected = stats.ttest_ind(first, second, equal_var=False)
  ci = expected.confidence_interval(confidence_level=0.95)
  assert test.difference == pytest.approx(np.mean(first) - np.mean(second), rel=1e-12)
  assert test.statistic == pytest.approx(expected.statistic, rel=1e-10)
  assert test.df == pytest.approx(expected.df, rel=1e-10)
  assert test.p_value == pytest.approx(expected.pvalue, rel=1e-10)
  assert test.ci95 == pytest.approx((ci.low, ci.high), rel=1e-10)
  assert test.standard_error == pytest.approx(test.difference / expected.statistic, rel=1e-10)
  assert (test.n_treatment, test.n_baseline) == (len(treatment), len(baseline))


def test_welch_df_with_one_side_constant_is_the_other_sides_n_minus_one():
  assert statistics.welch_test([1.0, 2.0, 3.0, 5.0], [0.0, 0.0]).df == pytest.approx(3.0)


def test_welch_test_with_one_value_on_a_side_has_no_test():
  test = statistics.welch_test([0.9], [0.8, 0.85])
  assert test.difference == pytest.approx(0.075)
  assert (test.standard_error, test.df, test.statistic, test.p_value, test.ci95) == (None, None, None, None, None)
  assert (test.n_treatment, test.n_baseline) == (1, 2)


def test_welch_test_without_spread_is_the_limit_of_the_test():
  apart = statistics.welch_test([0.9, 0.9, 0.9], [0.8, 0.8], higher_is_better=False)
  assert apart.difference == pytest.approx(-0.1)
  assert apart.standard_error == 0.0 and apart.df is None
  assert apart.statistic == -math.inf and apart.p_value == 0.0
  assert apart.ci95 == pytest.approx((-0.1, -0.1))
  same = statistics.welch_test([0.9, 0.9], [0.9, 0.9, 0.9])
  assert (same.difference, same.statistic, same.p_value, same.ci95) == (0.0, 0.0, 1.0, (0.0, 0.0))


@pytest.mark.parametrize("treatment, baseline", [([], [0.5]), ([0.5, math.nan], [0.5, 0.6])])
def test_welch_test_rejects_missing_values(treatment, baseline):
  with pytest.raises(ValueError, match="at least one value|finite"):
    statistics.welch_test(treatment, baseline)


PAIRED = [
  ([0.95, 0.97, 0.96, 0.98], [0.95, 0.96, 0.93, 0.97]),
  ([0.9, 0.8, 0.85, 0.7, 0.99], [0.91, 0.75, 0.8, 0.72, 0.97]),
]


@pytest.mark.parametrize("treatment, baseline", PAIRED)
@pytest.mark.parametrize("higher_is_better", [True, False])
def test_paired_t_test_matches_scipy(treatment, baseline, higher_is_better):
  test = statistics.paired_t_test(treatment, baseline, higher_is_better=higher_is_better)
  first, second = (treatment, baseline) if higher_is_better else (baseline, treatment)
  expected = stats.ttest_rel(first, second)
  ci = expected.confidence_interval(confidence_level=0.95)
  assert test.difference == pytest.approx(np.mean(np.subtract(first, second)), rel=1e-12)
  assert test.statistic == pytest.approx(expected.statistic, rel=1e-10)
  assert test.df == expected.df == len(treatment) - 1
  assert test.p_value == pytest.approx(expected.pvalue, rel=1e-10)
  assert test.ci95 == pytest.approx((ci.low, ci.high), rel=1e-10)


def test_paired_t_test_edge_cases():
  single = statistics.paired_t_test([0.9], [0.8])
  assert single.difference == pytest.approx(0.1) and single.p_value is None and single.ci95 is None
  constant = statistics.paired_t_test([1.5, 2.5, 3.5], [1.0, 2.0, 3.0])  # every set +0.5 exactly: no spread
  assert constant.p_value == 0.0 and constant.df == 2.0 and constant.statistic == math.inf
  with pytest.raises(ValueError, match="one baseline per treatment"):
    statistics.paired_t_test([0.9, 0.8], [0.8])


# Differences without ties (scipy's exact test), and with ties and zeros (scipy's exact permutation test); dyadic,
# so that treatment - baseline gives them back exactly and the ties stay ties.
DIFFERENCES = [
  [0.5, 1.25, -0.375, 2.5, 0.75, -1.125, 3.0],
  [-0.25, -0.5, -0.125, -0.75],
  [1.0, 1.0, -1.0, 2.0, 3.0, 3.0, -0.5, 4.0],
  [0.0, 0.25, 0.25, -0.25, 0.0, 0.75, 1.125],
]


@pytest.mark.parametrize("differences", DIFFERENCES)
def test_wilcoxon_signed_rank_matches_scipy(differences):
  d = np.asarray(differences)
  baseline = np.arange(len(d)) * 0.5
  treatment = baseline + d
  assert np.array_equal(treatment - baseline, d)
  test = statistics.wilcoxon_signed_rank(treatment, baseline)
  ties_or_zeros = np.any(d == 0) or len(np.unique(np.abs(d))) < len(d)
  method = stats.PermutationMethod(n_resamples=10**6) if ties_or_zeros else "exact"
  two_sided = stats.wilcoxon(d, method=method)
  greater = stats.wilcoxon(d, method=method, alternative="greater")
  assert test.p_value == pytest.approx(two_sided.pvalue, rel=1e-9)
  assert test.r_plus == pytest.approx(greater.statistic)
  assert min(test.r_plus, test.r_minus) == pytest.approx(two_sided.statistic)
  assert test.statistic == pytest.approx(test.r_plus - test.r_minus)
  assert test.n == np.count_nonzero(d)


def test_wilcoxon_direction_follows_higher_is_better():
  up = statistics.wilcoxon_signed_rank([2.0, 3.0, 5.0], [1.0, 1.0, 1.0])
  down = statistics.wilcoxon_signed_rank([2.0, 3.0, 5.0], [1.0, 1.0, 1.0], higher_is_better=False)
  assert (up.r_plus, up.r_minus, up.statistic) == (6.0, 0.0, 6.0)
  assert (down.r_plus, down.r_minus, down.statistic) == (0.0, 6.0, -6.0)
  assert up.p_value == down.p_value == pytest.approx(0.25)  # 2 / 2^3


def test_four_data_sets_cannot_give_p_below_one_eighth():
  # Every set favouring the treatment is the most extreme outcome, and scipy agrees that it gives p = 2 / 16.
  test = statistics.wilcoxon_signed_rank([0.99, 0.98, 0.97, 0.96], [0.5, 0.6, 0.7, 0.8])
  assert test.p_value == pytest.approx(stats.wilcoxon([0.49, 0.38, 0.27, 0.16], method="exact").pvalue)
  assert test.p_value == pytest.approx(0.125)
  assert test.min_p_value == statistics.wilcoxon_min_p_value(4) == 0.125
  assert statistics.wilcoxon_min_p_value(6) == pytest.approx(stats.wilcoxon([1, 2, 3, 4, 5, 6], method="exact").pvalue)
  assert statistics.wilcoxon_min_p_value(0) == statistics.wilcoxon_min_p_value(1) == 1.0


def test_wilcoxon_of_identical_values_has_no_evidence():
  test = statistics.wilcoxon_signed_rank([0.9, 0.8], [0.9, 0.8])
  assert (test.n, test.p_value, test.statistic, test.min_p_value) == (0, 1.0, 0.0, 1.0)


FRIEDMAN = [
  np.array([[0.95, 0.96, 0.97, 0.90], [0.93, 0.97, 0.96, 0.91], [0.80, 0.82, 0.85, 0.70], [0.99, 0.98, 0.97, 0.90]]),
  np.array([[1, 2, 2, 4, 5, 1], [3, 3, 3, 1, 2, 6], [1, 1, 2, 2, 3, 3], [6, 5, 4, 3, 2, 1.0]]),  # ties
  np.array([[0.5, 0.6, 0.7], [0.4, 0.6, 0.9], [0.1, 0.2, 0.3], [0.3, 0.2, 0.9], [0.8, 0.85, 0.9]]),
]


@pytest.mark.parametrize("values", FRIEDMAN)
def test_friedman_test_matches_scipy(values):
  test = statistics.friedman_test(values)
  expected = stats.friedmanchisquare(*values.T)
  assert test.statistic == pytest.approx(expected.statistic, rel=1e-10)
  assert test.p_value == pytest.approx(expected.pvalue, rel=1e-10)
  assert (test.df, test.n_blocks) == (values.shape[1] - 1, values.shape[0])


def test_friedman_test_by_hand_and_all_tied():
  # Two sets ranking three methods 1, 2, 3 identically: R = (2, 4, 6), Q = 12 / (2 * 3 * 4) * 56 - 3 * 2 * 4 = 4.
  test = statistics.friedman_test([[3.0, 2.0, 1.0], [30.0, 20.0, 10.0]])
  assert test.statistic == pytest.approx(4.0)
  assert test.p_value == pytest.approx(math.exp(-2.0))  # chi-square with 2 df: P(X > 4) = exp(-4 / 2)
  tied = statistics.friedman_test([[0.9, 0.9, 0.9], [0.5, 0.5, 0.5]])
  assert (tied.statistic, tied.p_value) == (0.0, 1.0)
  with pytest.raises(ValueError, match="at least 2 methods"):
    statistics.friedman_test([[0.9], [0.8]])


def test_holm_by_hand():
  # Sorted: 0.005 * 4 = 0.02; 0.01 * 3 = 0.03; 0.03 * 2 = 0.06; 0.04 * 1 = 0.04, raised to 0.06 (monotone).
  np.testing.assert_allclose(statistics.holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
  # Capped at 1: 0.5 * 2 = 1.0; 0.6 * 1 = 0.6, raised to 1.0.
  np.testing.assert_allclose(statistics.holm([0.6, 0.5]), [1.0, 1.0])
  # Ties: 0.01 * 3 = 0.03, 0.01 * 2 = 0.02 -> 0.03; 0.2 * 1 = 0.2.
  np.testing.assert_allclose(statistics.holm([0.2, 0.01, 0.01]), [0.2, 0.03, 0.03])
  np.testing.assert_allclose(statistics.holm([0.3]), [0.3])
  assert statistics.holm([]).size == 0


@pytest.mark.parametrize(
  "p_values",
  [[0.01, 0.04, 0.03, 0.2], [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216], [0.5, 0.5, 0.01]],
)
def test_benjamini_hochberg_matches_scipy(p_values):
  np.testing.assert_allclose(
    statistics.benjamini_hochberg(p_values), stats.false_discovery_control(p_values, method="bh"), rtol=1e-12
  )


def test_holm_is_never_below_benjamini_hochberg():
  p = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205]
  assert np.all(statistics.holm(p) >= statistics.benjamini_hochberg(p))


@pytest.mark.parametrize("correction", [statistics.holm, statistics.benjamini_hochberg])
def test_corrections_reject_bad_p_values(correction):
  with pytest.raises(ValueError, match=r"\[0, 1\]"):
    correction([0.01, 1.5])


@pytest.mark.parametrize(
  "standard_error, df, alpha",
  [(0.5, 2.0, 0.05), (0.0026, 3.7, 0.05 / 47), (1.2, 4.0, 0.05 / 24), (0.33, 10.0, 0.05), (0.01, 2.3, 0.05 / 53)],
)
def test_min_detectable_difference_has_the_asked_power(standard_error, df, alpha):
  delta = statistics.min_detectable_difference(standard_error, df, alpha)
  # Power at delta, from scipy's noncentral t directly: P(T > c) + P(T < -c), T ~ nct(df, delta / SE).
  c = stats.t.ppf(1 - alpha / 2, df)
  lower = stats.nct.cdf(-c, df, delta / standard_error)
  assert np.isfinite(lower)  # a case where scipy's lower tail is defined
  power = stats.nct.sf(c, df, delta / standard_error) + lower
  assert power == pytest.approx(0.8, abs=1e-6)
  assert statistics.t_test_power(delta, standard_error, df, alpha) == pytest.approx(power, abs=1e-12)


def test_min_detectable_difference_approaches_the_normal_formula_and_grows_with_fewer_df():
  # Large df: delta -> (z_{1 - alpha/2} + z_{0.8}) SE = (1.95996 + 0.84162) SE.
  large = statistics.min_detectable_difference(1.0, 1e6, 0.05)
  assert large == pytest.approx(stats.norm.ppf(0.975) + stats.norm.ppf(0.8), rel=1e-4)
  assert statistics.min_detectable_difference(1.0, 2.0, 0.05) > statistics.min_detectable_difference(1.0, 4.0, 0.05)
  assert statistics.min_detectable_difference(1.0, 4.0, 0.001) > statistics.min_detectable_difference(1.0, 4.0, 0.05)


def test_min_detectable_difference_edge_cases():
  assert statistics.min_detectable_difference(None, None, 0.05) is None  # no test
  assert statistics.min_detectable_difference(0.0, None, 0.05) == 0.0  # no spread: any difference is seen
  with pytest.raises(ValueError, match="alpha"):
    statistics.min_detectable_difference(1.0, 4.0, 0.9)


def test_conover_friedman_by_hand():
  # Three blocks ranking methods (a, b, c) as (1, 2, 3), (1, 3, 2), (1, 2, 3): R = (3, 7, 8), A_2 = 3 * 14 = 42,
  # sum R^2 = 122, error = 2 (3 * 42 - 122) / (2 * 2) = 2, df = 4; t_ab = 4 / sqrt(2), t_bc = 1 / sqrt(2).
  values = [[1.0, 2.0, 3.0], [10.0, 30.0, 20.0], [0.1, 0.2, 0.3]]
  p = statistics.conover_friedman(values)
  t4 = stats.t(4)
  np.testing.assert_allclose(p[0, 1], 2 * t4.sf(4 / np.sqrt(2)), rtol=1e-12)
  np.testing.assert_allclose(p[0, 2], 2 * t4.sf(5 / np.sqrt(2)), rtol=1e-12)
  np.testing.assert_allclose(p[1, 2], 2 * t4.sf(1 / np.sqrt(2)), rtol=1e-12)
  np.testing.assert_allclose(p, p.T)
  np.testing.assert_array_equal(np.diag(p), 1.0)


def test_conover_friedman_matches_its_form_with_friedmans_statistic():
  """Conover's p. 371 form, 2 b (A_2 - C_1)(1 - T_1 / (b (k - 1))) / ((b - 1)(k - 1)), with T_1 scipy's
  tie-corrected Friedman statistic: the same error by another road, on data with ties."""
  rng = np.random.default_rng(3)
  values = np.round(rng.normal(size=(12, 5)), 1)  # rounded: some ties within blocks
  p = statistics.conover_friedman(values)
  b, k = values.shape
  ranks = stats.rankdata(values, axis=1)
  a_2, c_1 = np.sum(ranks**2), b * k * (k + 1) ** 2 / 4
  t_1 = stats.friedmanchisquare(*values.T).statistic
  error = 2 * b * (a_2 - c_1) * (1 - t_1 / (b * (k - 1))) / ((b - 1) * (k - 1))
  sums = ranks.sum(axis=0)
  for i in range(k):
    for j in range(i + 1, k):
      expected = 2 * stats.t.sf(abs(sums[i] - sums[j]) / np.sqrt(error), (b - 1) * (k - 1))
      assert p[i, j] == pytest.approx(expected, rel=1e-9)


def test_compare_ranks_by_hand():
  # The by-hand blocks above, higher scores better: a ranks last everywhere, b (2, 1, 2), c (1, 2, 1). Conover's t on
  # 4 df: 4 / sqrt(2) (a, b), 5 / sqrt(2) (a, c), 1 / sqrt(2) (b, c); Benjamini-Hochberg over the three pairs by hand.
  values = [[1.0, 2.0, 3.0], [10.0, 30.0, 20.0], [0.1, 0.2, 0.3]]
  result = statistics.compare_ranks(values)
  np.testing.assert_allclose(result.mean_ranks, [3.0, 5 / 3, 4 / 3], rtol=1e-12)
  p_ab, p_ac, p_bc = (2 * stats.t(4).sf(t / np.sqrt(2)) for t in (4, 5, 1))
  adj_bc = p_bc
  adj_ab = min(3 * p_ab / 2, adj_bc)
  adj_ac = min(3 * p_ac, adj_ab)
  np.testing.assert_allclose(result.p_values[[0, 0, 1], [1, 2, 2]], [p_ab, p_ac, p_bc], rtol=1e-12)
  np.testing.assert_allclose(result.p_adjusted[[0, 0, 1], [1, 2, 2]], [adj_ab, adj_ac, adj_bc], rtol=1e-12)
  np.testing.assert_allclose(result.p_adjusted, result.p_adjusted.T)
  # Friedman: Q = 12 / (3 * 3 * 4) * (9 + 49 + 64) - 36 = 14 / 3, p = exp(-Q / 2) on 2 df: 0.097, no rejection, so
  # no pair differs although (a, c)'s adjusted p-value is below 0.1.
  assert result.friedman.p_value == pytest.approx(np.exp(-7 / 3), rel=1e-12)
  assert not result.differs.any()
  lower = statistics.compare_ranks(np.negative(values), higher_is_better=False)
  np.testing.assert_allclose(lower.mean_ranks, result.mean_ranks, rtol=1e-12)
  with pytest.raises(ValueError, match="alpha"):
    statistics.compare_ranks(values, alpha=1.5)


def test_compare_ranks_reads_the_pairs_after_friedman_rejects():
  rng = np.random.default_rng(5)
  values = rng.normal(size=(15, 4)) + [0.0, 0.2, 1.5, 1.6]  # two clearly better methods
  result = statistics.compare_ranks(values)
  assert result.friedman.p_value == pytest.approx(stats.friedmanchisquare(*values.T).pvalue, rel=1e-9)
  assert result.friedman.p_value < 0.05
  upper = np.triu_indices(4, 1)
  expected = stats.false_discovery_control(result.p_values[upper], method="bh")
  np.testing.assert_allclose(result.p_adjusted[upper], expected, rtol=1e-12)
  np.testing.assert_array_equal(result.differs[upper], expected < 0.05)
  assert result.differs[0, 2] and result.differs[2, 0] and not result.differs[0, 1] and not result.differs[2, 3]
  assert not np.diag(result.differs).any()


def test_conover_friedman_without_within_block_error_and_bad_input():
  p = statistics.conover_friedman([[1.0, 2.0, 2.0], [5.0, 6.0, 6.0]])  # every block ranks alike: (1, 2.5, 2.5)
  np.testing.assert_array_equal(p, [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 1.0, 1.0]])
  with pytest.raises(ValueError, match="at least 2 blocks and 2 methods"):
    statistics.conover_friedman([[0.9, 0.8]])
  with pytest.raises(ValueError, match="finite"):
    statistics.conover_friedman([[0.9, np.nan], [0.8, 0.7]])
