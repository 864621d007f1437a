"""The reproduction report: each study's tables (mean ± std over seeds), figures, and every testable claim of the
three papers set beside our measurement with a verdict (`el_jax.studies.claims.judge`: Welch's t-test over seeds, or
the signed-rank test over UCI sets, with Holm's correction per paper; the tests are in `el_jax.studies.statistics`).

`write(studies, runs_dir, report_dir)` reads the results that `el_jax.studies.runner` wrote and writes
`reproduction.md`, `reproduction.json` (the same numbers, for notebooks) and `figures/*.png` into `report_dir`.
Runs without a result yet are listed as pending, so a report of a partial study says what it lacks.
"""

import collections
import json
import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from el_jax.evaluate import plots  # noqa: E402
from el_jax.studies import claims as claims_lib  # noqa: E402
from el_jax.studies import runner, statistics, uci  # noqa: E402

ORDER = ("fashion_mnist", "uci", "long_tail", "el_analyses", "mnist_digits")  # the section order: studies (a) to (e)
MARKDOWN_NAME = "reproduction.md"
JSON_NAME = "reproduction.json"
FIGURES = "figures"

# Columns of the study tables: (metric, header).
IMAGE_COLUMNS = (
  ("accuracy", "accuracy"),
  ("corruption_accuracy", "corrupted"),
  ("ood_auroc_msp", "OOD AUROC (MSP)"),
  ("ood_auroc_max_logit", "OOD AUROC (max logit)"),
  ("fpr95_msp", "FPR95 (MSP)"),
  ("ood_auroc_max_logit_real", "AUROC vs real OOD (max logit)"),  # MNIST for Fashion-MNIST, and the other way round
  ("fpr95_max_logit_real", "FPR95 vs real OOD (max logit)"),
  ("ece", "ECE"),
  ("median_margin", "median margin"),
  ("mean_energy", "energy -z_y"),
  ("fgsm_0.1", "FGSM 0.1"),
  ("pgd_linf_0.1", "PGD 0.1"),
)
LONG_TAIL_COLUMNS = (
  ("accuracy", "accuracy"),
  ("many_shot", "many-shot"),
  ("medium_shot", "medium-shot"),
  ("few_shot", "few-shot"),
  ("ood_auroc_msp", "OOD AUROC (MSP)"),
  ("ood_auroc_max_logit", "OOD AUROC (max logit)"),
)
ANALYSIS_COLUMNS = (
  ("accuracy", "accuracy"),
  ("probe_accuracy", "linear probe"),
  ("median_margin", "median margin"),
  ("mean_energy", "energy -z_y"),
  ("ood_auroc_max_logit_real", "AUROC vs MNIST (max logit)"),
)
UNBOUNDED = ("median_margin", "mean_energy", "nll")  # shown as numbers; every other metric as a percentage
VERDICT_WORDS = {
  "holds": "holds",
  "contradicted": "contradicted",
  "not significant": "not significant",
  "not significant (n=1)": "not significant (one seed)",
}


def _table(header, rows) -> str:
  lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
  return "\n".join(lines)


def _scale(metric: str) -> float:
  return 1.0 if metric in UNBOUNDED else 100.0


def _mean_std(values, metric: str) -> str:
  if not values:
    return "–"
  v = np.asarray(values, float) * _scale(metric)
  digits = 2
  if len(v) == 1:
    return f"{v[0]:.{digits}f} (n=1)"
  return f"{v.mean():.{digits}f} ± {v.std(ddof=1):.{digits}f}"


def _group_key(labels: dict) -> str:
  """The label that is not the loss: "model" or "imbalance"."""
  return next(k for k in labels if k != "loss")


def _values(results, group: str, loss: str, metric: str) -> list:
  """Per-seed values of `metric` for the runs of (`group`, `loss`)."""
  return [
    r["metrics"][metric]
    for r in results
    if r["labels"][_group_key(r["labels"])] == group and r["labels"]["loss"] == loss and metric in r["metrics"]
  ]


def _summary(results, columns) -> dict:
  """`{group: {loss: {metric: {"mean", "std", "n", "values"}}}}` in run order."""
  out = {}
  for r in results:
    group, loss = r["labels"][_group_key(r["labels"])], r["labels"]["loss"]
    out.setdefault(group, {}).setdefault(loss, {})
  for group, by_loss in out.items():
    for loss in by_loss:
      for metric, _ in columns:
        values = _values(results, group, loss, metric)
        if values:
          by_loss[loss][metric] = {
            "mean": float(np.mean(values)),
            "std": float(np.std(values, ddof=1)) if len(values) > 1 else None,
            "n": len(values),
            "values": values,
          }
  return out


def _study_tables(summary: dict, columns) -> list[str]:
  """One table per group of `_summary`'s output, with a column for each metric some loss of the group has."""
  parts = []
  for group, by_loss in summary.items():
    present = [(m, h) for m, h in columns if any(m in v for v in by_loss.values())]
    rows = [
      [loss] + [_mean_std(stats.get(m, {}).get("values", []), m) for m, _ in present] for loss, stats in by_loss.items()
    ]
    parts += [f"**{group}**", _table(["loss"] + [h for _, h in present], rows)]
  parts.append(
    "Mean ± standard deviation over seeds; percentages except the margin and the energy (logit units). "
    "Lower is better for FPR95, ECE and the energy."
  )
  return parts


def _pending(study, results) -> list[str]:
  done = {(r["group"], r["seed"]) for r in results}
  return [run.name for run in study.runs if (run.group, run.seed) not in done]


# ---- Claims ------------------------------------------------------------------------------------------------------


def _set_accuracies(records: list, network: str, label: str) -> dict:
  """`{set: test accuracy averaged over seeds}` of one UCI network and loss, as `uci.table4` averages them."""
  return {r["dataset"]: float(np.mean(r["test"])) for r in records if r["network"] == network and r["loss"] == label}


def _claim_values(claim, results_by_study: dict, model: str) -> tuple[list, list, dict]:
  """The treatment's and the baseline's values for one comparison, and what else the row says about them: per-seed
  values, or, for a study whose unit is the data set (UCI), per-set accuracies paired by set, with the sets named."""
  if claim.study in claims_lib.DATA_SET_STUDIES:
    records = results_by_study.get(claim.study, [])
    t = _set_accuracies(records, model, claim.treatment)
    b = _set_accuracies(records, model, claim.baseline)
    sets = [name for name in t if name in b]
    return [t[name] for name in sets], [b[name] for name in sets], {"datasets": sets}
  sources = ["fashion_mnist", "el_analyses"] if claim.study == "el_analyses" else [claim.study]
  results = [r for s in sources for r in results_by_study.get(s, [])]
  return (
    _values(results, model, claim.treatment, claim.metric),
    _values(results, model, claim.baseline, claim.metric),
    {},
  )


def _claim_rows(results_by_study: dict) -> list[dict]:
  """One row per (claim, model): the values compared, the test (`claims.compare`) and, after Holm's correction over
  each paper's rows, the verdict (`claims.judge`); rows without values on both sides are "not run"."""
  rows = []
  for claim in claims_lib.CLAIMS:
    models = claim.models or claims_lib.STUDY_MODELS[claim.study]
    for model in models:
      t, b, extra = _claim_values(claim, results_by_study, model)
      row = {
        "paper": claim.paper,
        "statement": claim.statement,
        "source": claim.source,
        "study": claim.study,
        "model": model,
        "metric": claim.metric,
        "treatment": claim.treatment,
        "baseline": claim.baseline,
        "higher_is_better": claim.higher_is_better,
        "paper_difference": claim.paper_difference,
        "treatment_values": t,
        "baseline_values": b,
      } | extra
      if t and b:
        row |= claims_lib.compare(claim, t, b)
      else:
        row |= dict.fromkeys(claims_lib.FIELDS) | {"verdict": "not run"}
      rows.append(row)
  return claims_lib.judge(rows)


def _p_text(p: float) -> str:
  return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _comparison_cell(r: dict) -> str:
  """One model's measurement of a claim: the two sides, the difference with its 95% interval, the Holm-adjusted
  p-value and the verdict; for a not-significant verdict, the smallest difference the design could have detected."""
  scale = _scale(r["metric"])
  if r["difference"] is None:
    return f"{r['model']}: not run"
  sides = f"{_mean_std(r['treatment_values'], r['metric'])} vs {_mean_std(r['baseline_values'], r['metric'])}"
  verdict = f"**{VERDICT_WORDS[r['verdict']]}**"
  if r["p_value"] is None:
    return f"{r['model']}: {sides}, {scale * r['difference']:+.2f} (one seed: no test): {verdict}"
  ci = "" if r["ci95"] is None else " [{:+.2f}, {:+.2f}]".format(*(scale * c for c in r["ci95"]))
  cell = f"{r['model']}: {sides}, {scale * r['difference']:+.2f}{ci}, p_adj {_p_text(r['p_adjusted'])}: {verdict}"
  mdd = r["min_detectable_difference"]
  if r["verdict"] == "not significant" and mdd is not None:
    if math.isinf(mdd):
      cell += f"; nothing detectable (signed-rank p ≥ {r['min_attainable_p']:.3g})"
    else:
      cell += f"; detectable ≥ {scale * mdd:.2f}"
  return cell


# HEM+'s two readings of Eq. 6's per-class margins, both trained by the long-tail study.
HEM_PLUS_READINGS = {
  "hem_plus": "the competing class's margin (Eq. 6 as written)",
  "hem_plus_label": "the example's own class's margin",
}


def _hem_plus_readings(rows: list[dict]) -> list[str]:
  """HEM+'s claims under both readings side by side (one row per claim and group), and which reading, if either,
  makes each hold; empty unless some claim was measured under both."""
  pairs = {}
  for r in rows:
    reading = next((x for x in HEM_PLUS_READINGS if x in (r["treatment"], r["baseline"])), None)
    if reading is None or r["study"] != "long_tail" or r["difference"] is None:
      continue
    side = "treatment" if r["treatment"] == reading else "baseline"
    other = r["baseline"] if side == "treatment" else r["treatment"]
    pairs.setdefault((r["metric"], other, side, r["model"]), {})[reading] = r
  pairs = {k: v for k, v in pairs.items() if len(v) == len(HEM_PLUS_READINGS)}
  if not pairs:
    return []
  table, agrees = [], dict.fromkeys(HEM_PLUS_READINGS, 0)
  verdicts = {x: {"holds": [], "contradicted": []} for x in HEM_PLUS_READINGS}
  for (metric, other, side, group), by_reading in pairs.items():
    claim = f"HEM+ vs {other}" if side == "treatment" else f"{other} vs HEM+"
    cells = []
    for reading, r in by_reading.items():
      cells.append(_comparison_cell(r).split(": ", 1)[1])
      agrees[reading] += r["difference"] > 0
      if r["verdict"] in verdicts[reading]:
        verdicts[reading][r["verdict"]].append(f"{claim} on {metric} ({group})")
    table.append([f"{claim} on {metric}", group, *cells])
  n = len(pairs)
  words = []
  for reading, description in HEM_PLUS_READINGS.items():
    found = "; ".join(f"{v}: {'; '.join(c) or 'none'}" for v, c in verdicts[reading].items())
    words.append(
      f"with {description} (`{reading}`) the difference lies in the claim's direction in {agrees[reading]} of {n} "
      f"comparisons ({found})"
    )
  # Most claims on HEM+ are not significant at this size on their own, so the readings are ranked by how many of the
  # claims they follow in direction; the verdicts stay beside the count.
  ranked = sorted(HEM_PLUS_READINGS, key=agrees.get, reverse=True)
  if agrees[ranked[0]] == agrees[ranked[1]]:
    closer = "Neither reading follows the claims in direction more often than the other."
  else:
    best = ranked[0]
    closer = (
      f"The reading closer to the paper is `{best}`: it follows the claims' direction in {agrees[best]} of {n} "
      f"comparisons against {agrees[ranked[1]]}"
      + ("" if any(verdicts[best].values()) else ", though none of its comparisons is significant on its own")
      + "."
    )
  return [
    "**HEM+'s two readings.** Eq. 6 puts the per-class margin sqrt(2000 / (K s_i)) on the competing logit i; the "
    "text's intent (a margin inversely proportional to the size of the class) also reads as the margin of the "
    "example's own class, as label-distribution-aware margins do. The claims on HEM+, under each reading (verdicts "
    f"at α = {statistics.ALPHA:g} after Holm's correction over the paper's comparisons):",
    _table(["claim", "group", *HEM_PLUS_READINGS], table),
    "Which reading reproduces the paper: " + "; ".join(words) + ". " + closer,
  ]


PAPER_TITLES = {
  "encouraging_loss": "Encouraging Loss (Zhao et al., AAAI 2022)",
  "expectation_mixing": "Mixing CE and the expectation loss (Battash et al., AAAI 2022)",
  "hem": "HEM (Spratling & Schütt)",
}


def _counts(rows: list[dict]) -> dict:
  return {v: sum(r["verdict"] == v for r in rows) for v in (*claims_lib.VERDICTS, "not run")}


def _comparison_name(r: dict) -> str:
  return f"{r['treatment']} vs {r['baseline']} on {r['metric']} ({r['model']}, {r['study']})"


def _plain_words(rows: list[dict]) -> str:
  """What the evidence on one paper says, in sentences generated from its comparisons' verdicts."""
  counts = _counts(rows)
  sentences = []
  for verdict, one, several in (("holds", "holds", "hold"), ("contradicted", "is contradicted", "are contradicted")):
    named = [_comparison_name(r) for r in rows if r["verdict"] == verdict]
    if len(named) == 1:
      sentences.append(f"1 comparison {one}: {named[0]}.")
    elif named:
      sentences.append(f"{len(named)} comparisons {several}: " + "; ".join(named) + ".")
    else:
      sentences.append(f"No comparison {one}.")
  unclear = [r for r in rows if r["verdict"].startswith("not significant")]
  if unclear:
    with_paper = [r for r in unclear if r.get("paper_difference") is not None and r["min_detectable_difference"]]
    missed = [r for r in with_paper if abs(r["paper_difference"]) >= r["min_detectable_difference"]]
    small = [r for r in with_paper if abs(r["paper_difference"]) < r["min_detectable_difference"]]
    text = f"{len(unclear)} {'is' if len(unclear) == 1 else 'are'} not significant."
    if missed:
      text += (
        f" In {len(missed)} of them the design could have detected (80% power) a difference as large as the "
        "paper's own, so an effect of the paper's size is not seen here: "
        + "; ".join(map(_comparison_name, missed))
        + "."
      )
    if small:
      text += (
        f" In {len(small)} the paper's difference is smaller than the smallest this design could detect: these "
        "say nothing either way: " + "; ".join(map(_comparison_name, small)) + "."
      )
    rest = len(unclear) - len(missed) - len(small)
    if rest:
      text += (
        f" {rest} {'has' if rest == 1 else 'have'} no figure of the paper's to set beside the detectable difference."
      )
    sentences.append(text)
  if counts["not run"]:
    n = counts["not run"]
    sentences.append(f"{n} {'comparison has' if n == 1 else 'comparisons have'} no runs yet.")
  sentences.append(
    "The paper's differences come from its own data, models and schedules, so they are yardsticks for what this "
    "design can see, not targets a CPU-scale study should match."
  )
  return " ".join(sentences)


def _summary_section(rows: list[dict], figures_dir: str) -> tuple[list[str], list[str]]:
  """The report's first section: verdict counts per paper, the untestable claims' count, the forest plots and the
  plain-words summaries; returns its parts and the figures written."""
  table, figures = [], []
  for paper, title in PAPER_TITLES.items():
    counts = _counts([r for r in rows if r["paper"] == paper])
    table.append(
      [
        title,
        sum(counts.values()),
        counts["holds"],
        counts["contradicted"],
        counts["not significant"] + counts["not significant (n=1)"],
        counts["not run"],
        len(claims_lib.UNTESTABLE[paper]),
      ]
    )
  header = ["paper", "comparisons", "hold", "contradicted", "not significant", "not run", "not testable here"]
  parts = [
    "## Summary",
    f"Verdicts at level {statistics.ALPHA:g} after Holm's correction within each paper (see *The papers' claims* "
    "below for the tests). *Not testable here* counts the paper's claims or results that need data, compute or "
    "methods this CPU-scale study does not have; each is listed under its paper.",
    _table(header, table),
  ]
  for paper, title in PAPER_TITLES.items():
    mine = [r for r in rows if r["paper"] == paper]
    parts += [f"**{title}.** " + _plain_words(mine), f"*Protocol:* {claims_lib.SUBSTITUTIONS[paper]}"]
    path = os.path.join(figures_dir, f"forest_{paper}.png")
    if _forest_figure(mine, path, title):
      figures.append(path)
      parts.append(f"![forest plot, {paper}]({FIGURES}/{os.path.basename(path)})")
  return parts, figures


def _claims_section(rows) -> list[str]:
  alpha, power = statistics.ALPHA, statistics.POWER
  four_sets = statistics.wilcoxon_min_p_value(4)
  parts = [
    "## The papers' claims against our measurements",
    "Each claim is one comparison (treatment against baseline, one metric, one model). The difference is signed so "
    "that positive favours the treatment, in percentage points (logit units for margins and energy), with its 95% "
    "confidence interval in brackets. "
    "**Test**: Welch's two-sample t-test over seeds (two-sided, Welch-Satterthwaite degrees of freedom; the "
    "interval is Welch's). The UCI claims take the data set as the unit, as the mixing paper does: the accuracy on "
    "each set (mean over seeds), paired by set, tested with the exact two-sided Wilcoxon signed-rank test (the "
    "interval is the paired t-test's; the two sides show mean ± std over the sets). With four sets that test "
    f"cannot give a p-value below 2 / 2^4 = {four_sets:.3f}, so no UCI claim can be declared here whatever the "
    "accuracies (the paper has 121 sets); the UCI section gives Friedman's test of all the losses' ranks at once, "
    "as the paper's Fig. 3 does. "
    "**Correction**: Holm's step-down method over the tested comparisons of each paper, which keeps the chance that "
    f"any one verdict of the paper is wrong at most {alpha:g} (family-wise error rate) however the comparisons, "
    "which share runs, depend on each other; it is preferred to Benjamini-Hochberg (false discovery rate) because "
    "each verdict is read on its own. "
    f"**Verdict**: *holds* if the Holm-adjusted p-value (p_adj) is below {alpha:g} and the test favours the "
    "treatment, *contradicted* if it is below and favours the baseline, *not significant* otherwise. "
    f"**Power**: for a not-significant comparison, *detectable* is the smallest true difference that a two-sided "
    f"test at level {alpha:g} / m (the level at which Holm declares a comparison among a paper's m, whatever the "
    f"others) would have detected with {power:.0%} power at the observed variances and seed counts (noncentral t). "
    "A true difference smaller than that would usually have gone undetected: there, *not significant* means the "
    "design could not tell, not that there is no difference.",
  ]
  for paper, title in PAPER_TITLES.items():
    mine = [r for r in rows if r["paper"] == paper]
    counts = _counts(mine)
    family = next((r["family_size"] for r in mine if r["family_size"]), 0)
    summary = (
      f"Of {len(mine)} comparisons: **{counts['holds']} hold**, {counts['not significant']} are not significant, "
      f"**{counts['contradicted']} are contradicted**"
    )
    if counts["not significant (n=1)"]:
      summary += f", {counts['not significant (n=1)']} have one seed on a side (no test)"
    if counts["not run"]:
      summary += f", {counts['not run']} not run yet"
    if family:
      summary += f". Holm's correction over the {family} tested; detectable differences at level {alpha / family:.2g}"
    parts += [f"### {title}", summary + "."]
    table, by_claim = [], {}
    for r in mine:
      by_claim.setdefault((r["statement"], r["source"], r["treatment"], r["baseline"], r["metric"]), []).append(r)
    for (statement, source, treatment, baseline, metric), per_model in by_claim.items():
      cells = [_comparison_cell(r) for r in per_model]
      table.append([statement, source, f"{treatment} vs {baseline} ({metric})", "<br>".join(cells)])
    header = ["claim", "where", "comparison", "here: treatment vs baseline, difference [95% CI], p_adj: verdict"]
    parts.append(_table(header, table))
    untestable = [[u.what, u.source, u.why] for u in claims_lib.UNTESTABLE[paper]]
    parts += [
      f"Not testable here ({len(untestable)}):",
      _table(["claim or result", "where", "what it needs"], untestable),
    ]
  return parts


def _friedman(records: list) -> dict:
  """Per network, the losses compared by rank over the sets as in the mixing paper's Fig. 3 (`statistics.compare_ranks`
  over the per-set accuracies, averaged over seeds): `{network: {"statistic", "df", "p_value", "n_sets", "losses",
  "mean_ranks", "pairs_differ"}}`, the pairs those Conover's test tells apart after Benjamini-Hochberg."""
  out = {}
  for network in dict.fromkeys(r["network"] for r in records):
    labels = list(dict.fromkeys(r["loss"] for r in records if r["network"] == network))
    by_label = {label: _set_accuracies(records, network, label) for label in labels}
    sets = [name for name in by_label[labels[0]] if all(name in v for v in by_label.values())]
    if len(labels) < 2 or len(sets) < 2:
      continue
    result = statistics.compare_ranks([[by_label[label][name] for label in labels] for name in sets])
    pairs = zip(*np.nonzero(np.triu(result.differs)), strict=True)
    out[network] = {
      "statistic": result.friedman.statistic,
      "df": result.friedman.df,
      "p_value": result.friedman.p_value,
      "n_sets": result.friedman.n_blocks,
      "losses": labels,
      "mean_ranks": result.mean_ranks.tolist(),
      "pairs_differ": [[labels[i], labels[j]] for i, j in pairs],
    }
  return out


# ---- Figures -----------------------------------------------------------------------------------------------------


def _bar_figure(summary: dict, metrics: tuple, path: str, title: str) -> None:
  """Grouped bars (losses) per group, one panel per metric, with standard-deviation error bars."""
  groups = list(summary)
  fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.6), squeeze=False)
  for ax, (metric, header) in zip(axes[0], metrics, strict=True):
    losses = list(dict.fromkeys(loss for g in groups for loss in summary[g]))
    width = 0.8 / max(len(losses), 1)
    for i, loss in enumerate(losses):
      means = [summary[g].get(loss, {}).get(metric, {}).get("mean", np.nan) * _scale(metric) for g in groups]
      stds = [(summary[g].get(loss, {}).get(metric, {}).get("std") or 0.0) * _scale(metric) for g in groups]
      color = plt.cm.tab20(i % 20)  # more losses than the default cycle's 10 colours
      ax.bar(np.arange(len(groups)) + i * width, means, width, yerr=stds, label=loss, capsize=2, color=color)
    ax.set_xticks(np.arange(len(groups)) + 0.4 - width / 2, groups)
    ax.set_title(header, fontsize=9)
    finite = [
      summary[g][loss][metric]["mean"] * _scale(metric)
      for g in groups
      for loss in summary[g]
      if metric in summary[g][loss]
    ]
    if finite:
      low, high = min(finite), max(finite)
      ax.set_ylim(low - 0.15 * (high - low + 1e-9) - 0.5, high + 0.15 * (high - low + 1e-9) + 0.5)
  axes[0][0].legend(fontsize=6, ncol=2)
  fig.suptitle(title, fontsize=10)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def _distribution_figures(study, runs_dir: str, results, figures_dir: str) -> list[str]:
  """EL Figs. 1, 5, 6: margins and conditional energies of CE against EL, LeNet, the lowest seed with results."""
  picks = {"ce": "CE", "el_le1": "EL (LE = 1)", "el_le0.75": "EL (LE = 0.75)"}
  done = {(r["group"], r["seed"]) for r in results}
  if not done:
    return []
  seed = min(s for _, s in done)
  runs = {
    picks[run.labels["loss"]]: run
    for run in study.runs
    if run.labels.get("model") == "lenet"
    and run.labels["loss"] in picks
    and (run.group, seed) in done
    and run.seed == seed
  }
  if len(runs) < 2:
    return []
  arrays = {label: runner.load_arrays(study, runs_dir, run) for label, run in runs.items()}
  paths = [os.path.join(figures_dir, "margins_ce_vs_el.png"), os.path.join(figures_dir, "energy_ce_vs_el.png")]
  plots.margin_histogram({k: a["margins"] for k, a in arrays.items()}, paths[0])
  plots.energy_histogram({k: a["energy"] for k, a in arrays.items()}, paths[1])
  return paths


VERDICT_COLOURS = {"holds": "tab:green", "contradicted": "tab:red"}  # every other verdict grey


def _forest_figure(rows: list[dict], path: str, title: str) -> bool:
  """Every tested comparison of one paper as a point (the difference, positive favouring the treatment) with its 95%
  interval, coloured by verdict, and the paper's own difference (where it reports one) as a cross; a panel for the
  comparisons in percentage points and one for those in logit units. False (nothing drawn) if none was tested."""
  tested = [r for r in rows if r["difference"] is not None]
  panels = [
    (u, [r for r in tested if (r["metric"] in UNBOUNDED) == (u == "logit units")]) for u in ("points", "logit units")
  ]
  panels = [(u, p) for u, p in panels if p]
  if not panels:
    return False
  heights = [len(p) for _, p in panels]
  fig, axes = plt.subplots(
    len(panels), 1, figsize=(9, 1.2 + 0.19 * sum(heights)), squeeze=False, gridspec_kw={"height_ratios": heights}
  )
  for ax, (unit, panel) in zip(axes[:, 0], panels, strict=True):
    y = np.arange(len(panel))[::-1]
    for yi, r in zip(y, panel, strict=True):
      scale = _scale(r["metric"])
      colour = VERDICT_COLOURS.get(r["verdict"], "grey")
      low, high = (np.nan, np.nan) if r["ci95"] is None else (scale * r["ci95"][0], scale * r["ci95"][1])
      ax.plot([low, high], [yi, yi], color=colour, linewidth=1.5)
      ax.plot(scale * r["difference"], yi, "o", color=colour, markersize=3.5)
      if r.get("paper_difference") is not None:
        ax.plot(scale * r["paper_difference"], yi, "x", color="black", markersize=4)
    ax.axvline(0.0, color="black", linewidth=0.6)
    ax.set_yticks(y, [f"{r['model']}: {r['treatment']} vs {r['baseline']} ({r['metric']})" for r in panel], fontsize=6)
    ax.set_xlabel(f"difference, {unit} (positive favours the treatment)", fontsize=7)
    ax.tick_params(axis="x", labelsize=7)
  axes[0, 0].set_title(
    f"{title}\n95% intervals, not adjusted (verdicts are, by Holm): green holds, red contradicted, grey not "
    "significant; x the paper's difference",
    fontsize=8,
  )
  fig.tight_layout()
  fig.savefig(path, dpi=110, bbox_inches="tight")
  plt.close(fig)
  return True


# ---- The report --------------------------------------------------------------------------------------------------


def _time_line(seconds: dict) -> str:
  """One sentence with the total time the studies' runs recorded and each study's share, in minutes."""
  known = {name: s for name, s in seconds.items() if s is not None}
  shares = ", ".join(f"{name} {s / 60:.{0 if s >= 60 else 1}f}" for name, s in known.items())
  missing = [name for name, s in seconds.items() if s is None]
  return (
    f"Time recorded by the runs: {sum(known.values()) / 60:.0f} minutes of training and evaluation ({shares}"
    + (f"; not recorded: {', '.join(missing)}" if missing else "")
    + "). A run resumed from a checkpoint records only what remained; the figure depends on the machine and its load."
  )


def _time_split(results: dict) -> dict:
  """`{study: {"train": s, "evaluation setup": s, <evaluation section>: s, ...}}`: where the recorded seconds of each
  study's finished runs went (a UCI sweep records only its total, as "train")."""
  out = {}
  for name, got in results.items():
    split = collections.Counter()
    for r in got:
      if "seconds" not in r:  # a UCI record
        continue
      sections = r.get("report", {}).get("timing_seconds", {})
      split["train"] += r["seconds"]["train"]
      split["evaluation setup"] += r["seconds"]["evaluate"] - sum(sections.values())  # loading, compiling
      split.update(sections)
    out[name] = dict(split)
  return out


def _time_table(split: dict, uci_seconds: dict) -> str:
  """The time split as a table in minutes: a row per study, a column per part, training first."""
  parts = list(dict.fromkeys(p for s in split.values() for p in s))
  rows = []
  for name, by_part in split.items():
    if name in uci_seconds:
      by_part = {"train": uci_seconds[name] or 0.0}
    total = sum(by_part.values())
    rows.append([name, f"{total / 60:.1f}"] + [f"{by_part.get(p, 0.0) / 60:.1f}" for p in parts])
  return _table(["study", "total", *parts], rows)


def write(studies: dict, runs_dir: str, report_dir: str, *, tiny: bool = False) -> list[str]:
  """Writes the report of `studies` (`{name: Study}`) from the results in `runs_dir`; returns the paths written."""
  figures_dir = os.path.join(report_dir, FIGURES)
  os.makedirs(figures_dir, exist_ok=True)
  studies = {
    name: studies[name] for name in sorted(studies, key=lambda n: (n not in ORDER, ORDER.index(n) if n in ORDER else 0))
  }
  results = {name: runner.load_results(study, runs_dir) for name, study in studies.items()}
  figures, summaries = [], {}
  parts = [
    "# Reproduction report" + (" (tiny version: a pipeline check, not evidence)" if tiny else ""),
    "CPU-scale studies of the three papers' claims, written by `python reproduce.py` from the runs in "
    f"`{runs_dir}`. Each study is a config in `configs/studies/`; the numbers below are means ± standard deviations "
    "over seeds, and every run can be retrained alone with `train.py --config configs/studies/<study>.py:<args>`.",
  ]
  seconds = {n: runner.recorded_seconds(s, runs_dir, results[n]) for n, s in studies.items()}
  parts.append(_time_line(seconds))
  uci_seconds = {n: seconds[n] for n, s in studies.items() if s.uci is not None}
  time_split = _time_split(results)
  parts.append(
    "Where the time went, in minutes summed over runs (runs side by side overlap in wall-clock time): training, "
    "loading and compiling for evaluation, and each evaluation section. The UCI sweeps record only their total.\n\n"
    + _time_table(time_split, uci_seconds)
  )

  claim_rows = _claim_rows(results)
  for name, study in studies.items():
    parts += [f"## {study.title}", study.description.replace("\n", " ")]
    got = results[name]
    if study.uci is not None:
      if not got:
        parts.append("*Not run yet.*")
        continue
      stats, friedman = uci.table4(got), _friedman(got)
      summaries[name] = {"table4": stats, "friedman": friedman, "records": got}
      for network, by_loss in stats.items():
        rows = [[lab, s["wins"], f"{s['delta_accuracy']:+.2f}", f"{s['mean_rank']:.2f}"] for lab, s in by_loss.items()]
        parts += [f"**{network}**", _table(["loss", "wins", "Δ accuracy vs CE (points)", "mean rank"], rows)]
        if network in friedman:
          f = friedman[network]
          parts.append(
            f"Friedman test over the {f['n_sets']} sets ({len(f['losses'])} losses ranked within each set, as in the "
            f"mixing paper's Fig. 3): chi-square {f['statistic']:.2f}, df {f['df']}, p = {_p_text(f['p_value'])} "
            "(the chi-square approximation, rough with fewer than about ten sets). Conover's pairs after "
            "Benjamini-Hochberg: "
            + ("; ".join(f"{a} and {b} differ" for a, b in f["pairs_differ"]) or "no pair differs")
            + f" at α = {statistics.ALPHA:g}."
          )
      sets = list(dict.fromkeys(r["dataset"] for r in got))
      for network in stats:
        rows = []
        for label in stats[network]:
          row = [label]
          for s in sets:
            record = next(r for r in got if r["network"] == network and r["loss"] == label and r["dataset"] == s)
            row.append(_mean_std(record["test"], "accuracy"))
          rows.append(row)
        parts += [f"Test accuracy per set, **{network}** (%)", _table(["loss", *sets], rows)]
      continue
    columns = {"long_tail": LONG_TAIL_COLUMNS, "el_analyses": ANALYSIS_COLUMNS}.get(name, IMAGE_COLUMNS)
    if name == "el_analyses":  # study (a)'s LeNet runs of CE and EL, beside this study's half-learning-rate runs
      base = [r for r in results.get("fashion_mnist", []) if r["labels"]["model"] == "lenet"]
      base = [r for r in base if r["labels"]["loss"] in ("ce", "el_le0.5", "el_le0.75", "el_le1")]
      got = base + got
    if not got:
      parts.append("*Not run yet.*")
      continue
    summaries[name] = _summary(got, columns)
    parts += _study_tables(summaries[name], columns)
    pending = _pending(study, results[name])
    if pending:
      parts.append(f"Pending runs ({len(pending)}): " + ", ".join(pending))
    figure = os.path.join(figures_dir, f"{name}.png")
    shown = {"long_tail": LONG_TAIL_COLUMNS[:4], "el_analyses": ANALYSIS_COLUMNS[:2]}.get(
      name, (IMAGE_COLUMNS[0], IMAGE_COLUMNS[2], IMAGE_COLUMNS[1])
    )
    _bar_figure(summaries[name], shown, figure, study.title)
    figures.append(figure)
    parts.append(f"![{name}]({FIGURES}/{os.path.basename(figure)})")
    if name == "long_tail":
      parts += _hem_plus_readings(claim_rows)
    if name == "el_analyses" and "fashion_mnist" in studies:
      paths = _distribution_figures(studies["fashion_mnist"], runs_dir, results["fashion_mnist"], figures_dir)
      figures += paths
      parts += [f"![{os.path.basename(p)}]({FIGURES}/{os.path.basename(p)})" for p in paths]

  summary_parts, summary_figures = _summary_section(claim_rows, figures_dir)
  parts[2:2] = summary_parts  # first, after the title and the introduction
  figures += summary_figures
  parts += _claims_section(claim_rows)
  markdown = os.path.join(report_dir, MARKDOWN_NAME)
  with open(markdown, "w") as f:
    f.write("\n\n".join(parts) + "\n")
  with open(os.path.join(report_dir, JSON_NAME), "w") as f:
    json.dump({"tiny": tiny, "studies": summaries, "claims": claim_rows}, f, indent=1, default=float)
  return [markdown, os.path.join(report_dir, JSON_NAME), *figures]
