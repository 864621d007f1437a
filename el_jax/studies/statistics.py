"""The tests behind the report's verdicts: Welch's and the paired t-test, the Wilcoxon signed-rank and Friedman tests
with Conover's all-pairs comparisons, the Holm and Benjamini-Hochberg corrections, and the smallest difference a
t-test could have detected.

Differences are signed so that positive favours the treatment: `sign * (mean(treatment) - mean(baseline))` with
`sign = +1` when higher is better and `-1` otherwise. Every p-value is two-sided. Pure functions of numpy arrays;
the distributions come from `scipy.stats`.

References: Welch, "The generalization of 'Student's' problem when several different population variances are
involved", Biometrika 34 (1947); Satterthwaite, Biometrics Bulletin 2 (1946); Wilcoxon, "Individual comparisons by
ranking methods", Biometrics Bulletin 1 (1945); Friedman, JASA 32 (1937); Holm, "A simple sequentially rejective
multiple test procedure", Scand. J. Statist. 6 (1979); Benjamini and Hochberg, JRSS B 57 (1995); Demšar,
"Statistical comparisons of classifiers over multiple data sets", JMLR 7 (2006), for the data set as the unit.
"""

import dataclasses
import math

import numpy as np
from scipy import optimize, stats

ALPHA = 0.05  # the family-wise error rate of the verdicts
POWER = 0.8  # the power at which `min_detectable_difference` is computed
CONFIDENCE = 0.95  # of the intervals `ci95`


@dataclasses.dataclass(frozen=True)
class TTest:
  """A t-test of a signed mean difference. `None` marks what a single value per side (or pair) leaves undefined.

  `statistic` = difference / standard_error, `ci95` = difference -+ t_{0.975, df} * standard_error.
  """

  difference: float
  standard_error: float | None
  df: float | None
  statistic: float | None
  p_value: float | None
  ci95: tuple[float, float] | None
  n_treatment: int
  n_baseline: int


@dataclasses.dataclass(frozen=True)
class SignedRankTest:
  """The exact Wilcoxon signed-rank test of paired differences (zeros dropped, tied magnitudes share ranks).

  `statistic` = r_plus - r_minus, positive when the ranks favour the treatment; `n` counts the non-zero differences;
  `min_p_value` is the smallest two-sided p-value `n` differences can give, 2 / 2^n (0.125 for n = 4).
  """

  statistic: float
  r_plus: float
  r_minus: float
  n: int
  p_value: float
  min_p_value: float


@dataclasses.dataclass(frozen=True)
class FriedmanTest:
  """Friedman's test that k methods rank alike within each of n blocks (data sets): chi-square with k - 1 df."""

  statistic: float
  df: int
  p_value: float
  n_blocks: int


def _values(x, name: str) -> np.ndarray:
  v = np.asarray(x, dtype=float).ravel()
  if v.size == 0:
    raise ValueError(f"{name}: needs at least one value, got none.")
  if not np.all(np.isfinite(v)):
    raise ValueError(f"{name}: values must be finite, got {v.tolist()}.")
  return v


def _t_inference(difference: float, standard_error: float, df: float | None) -> tuple:
  """`(statistic, p_value, ci95)` of a t-test with the given standard error and degrees of freedom.

  A zero standard error (no spread at all) gives the test's limit as the spread vanishes: statistic +-inf and
  p = 0 for a non-zero difference, statistic 0 and p = 1 for a zero one; the interval is the point [d, d].
  """
  if standard_error == 0.0:
    statistic = math.copysign(math.inf, difference) if difference != 0 else 0.0
    return statistic, (0.0 if difference != 0 else 1.0), (difference, difference)
  statistic = difference / standard_error
  p_value = float(2 * stats.t.sf(abs(statistic), df))
  half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, df)) * standard_error
  return statistic, p_value, (difference - half, difference + half)


def welch_test(treatment, baseline, *, higher_is_better: bool = True) -> TTest:
  """Welch's two-sample t-test of the signed difference of means.

  d = sign * (mean_t - mean_b); SE = sqrt(s_t^2 / n_t + s_b^2 / n_b) with ddof = 1; Welch-Satterthwaite
  df = SE^4 / ((s_t^2 / n_t)^2 / (n_t - 1) + (s_b^2 / n_b)^2 / (n_b - 1)); t = d / SE, p = 2 P(T_df > |t|);
  95% interval d -+ t_{0.975, df} SE.

  Two cases are decided here rather than left to NaN:
  - a single value on a side: its variance cannot be estimated, so there is no test. Standard error, df,
    statistic, p-value and interval are `None`; only the difference is given.
  - no spread on either side (both sample variances zero): SE = 0 and the df formula is 0/0, so `df` is `None`;
    the result is the limit of the test as both variances go to zero at a fixed difference: p = 0 when the means
    differ (every seed of one side beats every seed of the other by the same amount), p = 1 when they are equal,
    and the interval is the point [d, d].
  One side without spread is an ordinary case: df = n - 1 of the other side.
  """
  t = _values(treatment, "welch_test treatment")
  b = _values(baseline, "welch_test baseline")
  sign = 1.0 if higher_is_better else -1.0
  difference = float(sign * (t.mean() - b.mean()))
  if t.size < 2 or b.size < 2:
    return TTest(difference, None, None, None, None, None, t.size, b.size)
  vt, vb = t.var(ddof=1) / t.size, b.var(ddof=1) / b.size
  standard_error = float(np.sqrt(vt + vb))
  df = None if standard_error == 0 else float((vt + vb) ** 2 / (vt**2 / (t.size - 1) + vb**2 / (b.size - 1)))
  statistic, p_value, ci95 = _t_inference(difference, standard_error, df)
  return TTest(difference, standard_error, df, statistic, p_value, ci95, t.size, b.size)


def _paired(treatment, baseline, higher_is_better: bool, name: str) -> np.ndarray:
  t, b = _values(treatment, f"{name} treatment"), _values(baseline, f"{name} baseline")
  if t.shape != b.shape:
    raise ValueError(f"{name}: paired values need one baseline per treatment value, got {t.size} and {b.size}.")
  return (1.0 if higher_is_better else -1.0) * (t - b)


def paired_t_test(treatment, baseline, *, higher_is_better: bool = True) -> TTest:
  """The paired t-test: treatment[i] and baseline[i] are measured on the same unit (a data set).

  d_i = sign * (t_i - b_i); difference = mean(d), SE = sd(d) / sqrt(n) with ddof = 1, df = n - 1, t = mean / SE;
  95% interval mean -+ t_{0.975, n-1} SE (Student, Biometrika 6, 1908). A single pair leaves SE, df, statistic,
  p-value and interval `None`; identical differences on every unit (SE = 0) give the limit case of `welch_test`
  (p = 0 unless they are all zero, then p = 1), with df = n - 1.
  """
  d = _paired(treatment, baseline, higher_is_better, "paired_t_test")
  difference = float(d.mean())
  if d.size < 2:
    return TTest(difference, None, None, None, None, None, d.size, d.size)
  standard_error = float(d.std(ddof=1) / np.sqrt(d.size))
  df = float(d.size - 1)
  statistic, p_value, ci95 = _t_inference(difference, standard_error, df)
  return TTest(difference, standard_error, df, statistic, p_value, ci95, d.size, d.size)


def wilcoxon_min_p_value(n: int) -> float:
  """The smallest two-sided p-value of the exact signed-rank test with `n` non-zero differences: 2 / 2^n, capped at 1.

  It comes from all n differences having one sign, the least likely outcome (probability 2^-n each way) whatever
  the ties. With n = 4 data sets it is 0.125: no comparison of four sets can be significant at 0.05.
  """
  return min(1.0, 2.0 ** (1 - n))


def wilcoxon_signed_rank(treatment, baseline, *, higher_is_better: bool = True) -> SignedRankTest:
  """The exact two-sided Wilcoxon signed-rank test of paired values (Wilcoxon 1945).

  d_i = sign * (t_i - b_i); zero differences are dropped; the others are ranked by |d_i| (ties share their mean
  rank); r_plus and r_minus are the rank sums of the positive and negative d_i. Under the null each rank is positive
  with probability 1/2 independently, so the exact null distribution of r_plus is built by convolution over the
  observed ranks (exact with ties too: it is the conditional permutation distribution); the two-sided p-value is
  2 min(P(R+ <= r_plus), P(R+ >= r_plus)), capped at 1. All differences zero: n = 0 and p = 1 (no evidence).
  """
  d = _paired(treatment, baseline, higher_is_better, "wilcoxon_signed_rank")
  d = d[d != 0]
  n = int(d.size)
  if n == 0:
    return SignedRankTest(0.0, 0.0, 0.0, 0, 1.0, 1.0)
  ranks = stats.rankdata(np.abs(d))  # average ranks: multiples of 1/2
  r_plus, r_minus = float(ranks[d > 0].sum()), float(ranks[d < 0].sum())
  doubled = np.rint(2 * ranks).astype(int)
  null = np.zeros(int(doubled.sum()) + 1)  # P(2 R+ = s)
  null[0] = 1.0
  for r in doubled:
    null = 0.5 * (null + np.concatenate([np.zeros(r), null[:-r]]))
  k = int(round(2 * r_plus))
  p_value = min(1.0, 2 * min(null[: k + 1].sum(), null[k:].sum()))
  return SignedRankTest(r_plus - r_minus, r_plus, r_minus, n, float(p_value), wilcoxon_min_p_value(n))


def friedman_test(values) -> FriedmanTest:
  """Friedman's rank test over blocks: `values[i, j]` is method j's score on block (data set) i.

  Methods are ranked within each block (ties share their mean rank), R_j is method j's rank sum, and
  Q = [12 / (n k (k + 1)) sum_j R_j^2 - 3 n (k + 1)] / [1 - sum (t^3 - t) / (n k (k^2 - 1))], the denominator
  correcting for ties (t: the size of each group of tied values within a block); p = P(chi2_{k-1} > Q) (Friedman
  1937; Demšar 2006, §3.2.2, as in the mixing paper's Fig. 3). The chi-square approximation, scipy's too, is rough
  for fewer than about 10 blocks (Demšar: n > 10, k > 5). Every block entirely tied leaves 0/0: Q = 0 and p = 1
  (no method ranks differently from another).
  """
  x = np.asarray(values, dtype=float)
  if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 2:
    raise ValueError(f"friedman_test: needs a [blocks, methods] array with at least 2 methods, got shape {x.shape}.")
  if not np.all(np.isfinite(x)):
    raise ValueError("friedman_test: values must be finite.")
  n, k = x.shape
  ranks = stats.rankdata(x, axis=1)
  ties = sum(float(np.sum(c**3 - c)) for c in (np.unique(row, return_counts=True)[1] for row in x))
  correction = 1 - ties / (n * k * (k * k - 1))
  if correction <= 0:
    return FriedmanTest(0.0, k - 1, 1.0, n)
  rank_sums = ranks.sum(axis=0)
  q = (12 / (n * k * (k + 1)) * np.sum(rank_sums**2) - 3 * n * (k + 1)) / correction
  return FriedmanTest(float(q), k - 1, float(stats.chi2.sf(q, k - 1)), n)


def conover_friedman(values) -> np.ndarray:
  """Conover's all-pairs comparisons after Friedman's test: the `[k, k]` two-sided p-values of every pair of methods.

  `values[i, j]` is method j's score on block (data set) i, ranked within each block as in `friedman_test` (ties
  share their mean rank). With b blocks, the rank sums R_j and A_2 = sum_ij rank_ij^2, methods i and j differ by

      t_ij = |R_i - R_j| / sqrt(2 (b A_2 - sum_j R_j^2) / ((b - 1)(k - 1)))

  on Student's t with (b - 1)(k - 1) df (Conover, "Practical Nonparametric Statistics", 3rd ed. 1999, §5.8, p. 371,
  whose form 2 b (A_2 - C_1) (1 - T_1 / (b (k - 1))) / ((b - 1)(k - 1)) under the root, with Friedman's T_1 and
  C_1 = b k (k + 1)^2 / 4, is the same number). The mixing paper's Fig. 3 adjusts these p-values with
  Benjamini-Hochberg over the k (k - 1) / 2 pairs: `benjamini_hochberg(p[np.triu_indices(k, 1)])`.

  Every block ranking the methods alike leaves no within-block error (b A_2 = sum_j R_j^2): methods with different
  rank sums then get p = 0, equal ones p = 1. The diagonal is 1.

  Not scikit-posthocs' `posthoc_conover_friedman`: its 0.7 release puts the sum of the rank sums where T_1 has the
  sum of their squares, and later releases divide the mean ranks' differences by their asymptotic standard
  deviation, sqrt(k (k + 1) / (6 b)), instead of the within-block error above.
  """
  x = np.asarray(values, dtype=float)
  if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
    raise ValueError(
      f"conover_friedman: needs a [blocks, methods] array with at least 2 blocks and 2 methods, got shape {x.shape}."
    )
  if not np.all(np.isfinite(x)):
    raise ValueError("conover_friedman: values must be finite.")
  b, k = x.shape
  ranks = stats.rankdata(x, axis=1)
  rank_sums = ranks.sum(axis=0)
  error = 2 * (b * np.sum(ranks**2) - np.sum(rank_sums**2)) / ((b - 1) * (k - 1))
  difference = np.abs(rank_sums[:, None] - rank_sums[None, :])
  # rank sums are sums of half-integers: an exact 0 difference is a tie, and a rounding-level error is none
  if error <= 1e-9 * np.sum(ranks**2):
    return np.where(difference > 0, 0.0, 1.0)
  return 2 * stats.t.sf(difference / np.sqrt(error), (b - 1) * (k - 1))


@dataclasses.dataclass(frozen=True)
class RankComparison:
  """Methods compared by their ranks over data sets, as in the mixing paper's Fig. 3 (`compare_ranks`).

  `mean_ranks[j]`: method j's mean rank, 1 the best; `p_values[i, j]`: Conover's two-sided p-value of the pair;
  `p_adjusted[i, j]`: the same, Benjamini-Hochberg adjusted over the k (k - 1) / 2 pairs; `differs[i, j]`: the pair
  differs at `alpha`, which needs Friedman's test to reject first. Diagonals: p-values 1, `differs` False.
  """

  friedman: FriedmanTest
  mean_ranks: np.ndarray
  p_values: np.ndarray
  p_adjusted: np.ndarray
  differs: np.ndarray
  alpha: float


def compare_ranks(values, *, higher_is_better: bool = True, alpha: float = ALPHA) -> RankComparison:
  """Friedman's test over a `[data sets, methods]` table, then Conover's all-pairs comparisons with Benjamini-Hochberg
  correction: the mixing paper's analysis of its 121 UCI sets (Fig. 3, after Demšar 2006).

  Ranks are taken within each data set (ties share their mean rank), the best method ranked 1: the highest score when
  `higher_is_better`, the lowest otherwise. A pair differs when Friedman's p-value and the pair's adjusted p-value are
  both below `alpha` (the post-hoc comparisons are read only after the omnibus test rejects).
  """
  if not 0 < alpha < 1:
    raise ValueError(f"compare_ranks: alpha must lie in (0, 1), got {alpha}.")
  x = np.asarray(values, dtype=float)
  x = -x if higher_is_better else x  # rank 1 the best
  friedman = friedman_test(x)
  p = conover_friedman(x)
  k = x.shape[1]
  upper = np.triu_indices(k, 1)
  adjusted = np.ones((k, k))
  adjusted[upper] = benjamini_hochberg(p[upper])
  adjusted.T[upper] = adjusted[upper]
  differs = (adjusted < alpha) & (friedman.p_value < alpha)
  np.fill_diagonal(differs, False)
  mean_ranks = stats.rankdata(x, axis=1).mean(axis=0)
  return RankComparison(friedman, mean_ranks, p, adjusted, differs, alpha)


def _p_values(p_values, name: str) -> np.ndarray:
  p = np.asarray(p_values, dtype=float)
  if p.ndim != 1:
    raise ValueError(f"{name}: needs a list of p-values, got shape {p.shape}.")
  if p.size and not (np.all(np.isfinite(p)) and p.min() >= 0 and p.max() <= 1):
    raise ValueError(f"{name}: p-values must lie in [0, 1], got {p.tolist()}.")
  return p


def holm(p_values) -> np.ndarray:
  """Holm's step-down adjusted p-values; the report's verdicts use these.

  With the m p-values sorted, p_(1) <= ... <= p_(m): adjusted p_(i) = min(1, max_{j <= i} (m - j + 1) p_(j)).
  Rejecting where adjusted p < alpha keeps the family-wise error rate, the chance of declaring even one false
  verdict among the m, at most alpha under any dependence between the tests (Holm 1979).

  Why Holm and not Benjamini-Hochberg for the verdicts: the report states a verdict per claim and a reader acts on
  that single verdict ("the paper's claim X holds here"), so the error to bound is that of any verdict being false,
  not the expected share of false ones among all declared (FDR), which says nothing about the verdict at hand. The
  comparisons also share runs (CE's runs are the baseline of most claims, and the treatment of some), so their test
  statistics are correlated with mixed signs, outside the positive dependence under which BH is proved; Holm needs
  no assumption. The price is power, which `min_detectable_difference` makes visible.
  """
  p = _p_values(p_values, "holm")
  m = p.size
  order = np.argsort(p, kind="stable")
  adjusted = np.empty(m)
  adjusted[order] = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
  return adjusted


def benjamini_hochberg(p_values) -> np.ndarray:
  """Benjamini-Hochberg adjusted p-values (false discovery rate), given for comparison with `holm`.

  With p_(1) <= ... <= p_(m): adjusted p_(i) = min(1, min_{j >= i} m p_(j) / j). Rejecting where adjusted p < q
  keeps the expected share of false rejections among all rejections at most q for independent or positively
  dependent tests (Benjamini and Hochberg 1995).
  """
  p = _p_values(p_values, "benjamini_hochberg")
  m = p.size
  order = np.argsort(p, kind="stable")
  scaled = p[order] * m / np.arange(1, m + 1)
  adjusted = np.empty(m)
  adjusted[order] = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
  return adjusted


def t_test_power(difference: float, standard_error: float, df: float, alpha: float) -> float:
  """The power of a two-sided t-test at level `alpha` against a true difference `difference`.

  With c = t_{1 - alpha/2, df} and noncentrality lambda = difference / standard_error, the statistic follows the
  noncentral t(df, lambda), and power = P(T > c) + P(T < -c). The second term is computed as its mirror image
  P(T' > c), T' ~ t(df, -lambda), because scipy's `nct.cdf` far in the lower tail returns NaN for some lambda > 7.
  """
  c = stats.t.ppf(1 - alpha / 2, df)
  noncentrality = difference / standard_error
  return float(stats.nct.sf(c, df, noncentrality) + stats.nct.sf(c, df, -noncentrality))


def min_detectable_difference(standard_error: float | None, df: float | None, alpha: float, power: float = POWER):
  """The smallest true difference a two-sided t-test at level `alpha` detects with probability `power`.

  Solves `t_test_power(delta, standard_error, df, alpha) = power` for delta > 0 (the power rises with delta from
  alpha at 0), taking the observed standard error and df as the true ones: for a Welch comparison these are the
  observed variances and seed counts, so delta is what this design could have told apart from zero. A smaller true
  difference would more often than not have gone "not significant". Returns `None` when there is no test
  (`standard_error` is `None`), and 0 when the standard error is 0 (any difference is told apart).

  The report calls it at the per-comparison level Holm guarantees, alpha / m for a paper with m tested comparisons
  (the level at which Holm declares a comparison whatever the others' p-values); at the nominal alpha it would be
  smaller, a bound no verdict of the report could reach.
  """
  if standard_error is None:
    return None
  if standard_error == 0:
    return 0.0
  if not 0 < alpha < power < 1:
    raise ValueError(f"min_detectable_difference: needs 0 < alpha < power < 1, got alpha {alpha}, power {power}.")

  def shortfall(noncentrality):
    return t_test_power(noncentrality, 1.0, df, alpha) - power

  high = float(stats.t.ppf(1 - alpha / 2, df)) + 2.0
  while shortfall(high) < 0:
    high *= 2
  noncentrality = optimize.brentq(shortfall, 0.0, high, xtol=1e-12, rtol=1e-14)
  return float(noncentrality * standard_error)
