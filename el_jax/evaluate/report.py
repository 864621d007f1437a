"""Evaluation outputs: `evaluation.json`, `evaluation.md`, `evaluation_arrays.npz` and PNG plots in a folder, and
the side-by-side comparison of several evaluated runs (`comparison.md` and plots).

A report holds the sections of the evaluators that ran; those that did not apply to the run's inputs are listed
under `skipped` with the reason (e.g. no OOD section for a model of tokens), and the tables and plots leave them out.
matplotlib is imported only when plots are written.
"""

import json
import math
import os

import numpy as np

JSON_NAME = "evaluation.json"
MARKDOWN_NAME = "evaluation.md"
ARRAYS_NAME = "evaluation_arrays.npz"
PLOT_SCORES = ("msp", "max_logit", "free_energy")
PER_CLASS_TABLE_MAX_CLASSES = 1000  # beyond (e.g. a translation's target vocabulary) the table stays in the JSON


def _fmt(value, digits=4):
  if value is None or (isinstance(value, float) and math.isnan(value)):
    return "n/a"
  return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _table(header, rows):
  lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
  return "\n".join(lines)


def _fpr_key(entry: dict) -> str:
  return next(k for k in entry if k.startswith("fpr_at"))


def skipped_sets(report: dict) -> dict:
  """`{"ood/<set>" or "corruptions/<family>": reason}`: the OOD sets and corruption families a report's sections
  left out because their files are missing."""
  out = {f"ood/{k}": v for k, v in report.get("ood", {}).get("skipped_sets", {}).items()}
  return out | {f"corruptions/{k}": v for k, v in report.get("corruptions", {}).get("skipped_families", {}).items()}


def summary_rows(report: dict) -> list[tuple[str, float]]:
  """The headline figures of a report as `(name, value)` rows (the comparison table's rows)."""
  rows = [
    ("test accuracy", report["accuracy"]["top1"]),
    ("test NLL", report["accuracy"]["nll"]),
    (f"ECE ({report['calibration']['num_bins']} bins)", report["calibration"]["ece"]),
    ("margin mean", report["margins"]["mean"]),
    ("margin median", report["margins"]["q50"]),
    ("energy on data E(y*|x)", report["energy"]["on_data"]),
    ("lowest energy off data", report["energy"]["lowest_off_data"]),
  ]
  for score, entry in report.get("ood", {}).get("mean", {}).items():
    rows.append((f"OOD mean AUROC ({score})", entry["auroc"]))
    rows.append((f"OOD mean {_fpr_key(entry).replace('_', ' ')} ({score})", entry[_fpr_key(entry)]))
  if "corruptions" in report:
    rows.append(("mean corruption accuracy", report["corruptions"]["mean_accuracy"]))
    if "mean_accuracy_15" in report["corruptions"]:
      rows.append(("mean corruption accuracy (15 benchmark families)", report["corruptions"]["mean_accuracy_15"]))
  for attack, curve in report.get("adversarial", {}).items():
    for i, eps in enumerate(curve["eps"][1:], start=1):
      rows.append((f"{attack} eps={eps:g} robust accuracy", curve["robust_accuracy"][i]))
      rows.append((f"{attack} eps={eps:g} DAR (msp)", curve["dar_msp"][i]))
  if "probe" in report:
    rows.append(("linear probe accuracy", report["probe"]["test_accuracy"]))
  if "crt" in report:
    rows.append(("CRT accuracy (class-balanced re-trained classifier)", report["crt"]["top1"]))
    rows += [(f"CRT {group}-shot accuracy", value) for group, value in report["crt"]["shot"].items()]
  for beam, entry in report.get("bleu", {}).items():
    rows.append((f"BLEU ({beam.replace('beam', 'beam ')})", entry["score"]))
  return rows


def to_markdown(report: dict, title: str = "Evaluation") -> str:
  """One run's report as Markdown tables."""
  parts = [
    f"# {title}",
    f"{report['dataset']}/{report['split']}, {report['num_test']} test examples; loss {report['loss']}; "
    f"model {report['model']}.",
    "## Summary",
    _table(["metric", "value"], summary_rows(report)),
  ]
  if "num_test_tokens" in report:
    parts.append(f"Per-token labels: the figures count each of the {report['num_test_tokens']} target tokens.")
  if report.get("skipped"):
    parts += [
      "## Not evaluated",
      "\n".join(f"- {section}: {reason}." for section, reason in report["skipped"].items()),
    ]
  if skipped_sets(report):
    parts += [
      "## Sets left out (files missing)",
      "\n".join(f"- {name}: {reason}." for name, reason in skipped_sets(report).items()),
    ]
  if "ood" in report:
    parts.append(
      "## Out-of-distribution rejection (in-distribution positive; AUROC / FPR at the first threshold reaching the TPR)"
    )
    scores = list(report["ood"]["mean"])
    header = ["OOD set"] + [f"{s} AUROC" for s in scores] + [f"{s} FPR" for s in scores]
    rows = []
    for set_name, entry in list(report["ood"]["sets"].items()) + [("mean", report["ood"]["mean"])]:
      rows.append([set_name] + [entry[s]["auroc"] for s in scores] + [entry[s][_fpr_key(entry[s])] for s in scores])
    parts.append(_table(header, rows))
    parts.append("min_conditional_energy equals max_logit (`-min_y E(y|x) = max_y z_y`), so their columns agree.")
  if "corruptions" in report and "accuracy_by_severity" in report["corruptions"]:  # a released set, severities 1-5
    c = report["corruptions"]
    header = ["corruption", *(f"severity {s}" for s in c["severities"]), "mean over severities"]
    rows = [[k, *c["accuracy_by_severity"][k], v] for k, v in c["accuracy"].items()]
    parts += [
      f"## Corruptions ({c['set']}, {c['num_corrupted']} images per severity)",
      _table(header, rows + [["mean over families", *[""] * len(c["severities"]), c["mean_accuracy"]]]),
    ]
  elif "corruptions" in report:
    c = report["corruptions"]
    parts += [
      "## Corruptions (MNIST-C families)",
      _table(
        ["corruption", "severity", "accuracy"],
        [[k, c["severity"][k], v] for k, v in c["accuracy"].items()] + [["mean", "", c["mean_accuracy"]]],
      ),
    ]
  if report.get("adversarial"):
    rows = []
    for attack, curve in report["adversarial"].items():
      for i, eps in enumerate(curve["eps"]):
        rows.append([attack, eps, curve["robust_accuracy"][i], curve["dar_msp"][i], curve["dar_max_logit"][i]])
    parts += [
      "## Adversarial robustness (DAR: threshold accepting 95% of correct clean samples)",
      _table(["attack", "eps", "robust accuracy", "DAR (msp)", "DAR (max logit)"], rows),
    ]
  per_class = report["accuracy"]["per_class"]
  if len(per_class) <= PER_CLASS_TABLE_MAX_CLASSES:
    parts += ["## Per-class accuracy", _table(["class", "accuracy"], [[i, v] for i, v in enumerate(per_class)])]
  else:
    parts.append(f"Per-class accuracy: {len(per_class)} classes, in {JSON_NAME} (`accuracy.per_class`).")
  if "shot" in report["accuracy"]:
    shot = report["accuracy"]["shot"]
    parts.append(f"Many/medium/few-shot accuracy: {_fmt(shot['many'])} / {_fmt(shot['medium'])} / {_fmt(shot['few'])}.")
  m = report["margins"]
  parts += [
    "## Margins and energy",
    _table(
      ["statistic", "value"],
      list(m.items()) + [(f"energy {k}", v) for k, v in report["energy"].items() if k != "class_energy"],
    ),
  ]
  if "gradient_weight" in report:
    curves = report["gradient_weight"]["curves"]
    grid = np.asarray(curves["p_y"])
    picks = [int(np.argmin(np.abs(grid - p))) for p in (0.1, 0.5, 0.9, 0.99)]
    rows = [[name] + [weights[i] for i in picks] for name, weights in curves.items() if name != "p_y"]
    header = ["loss"] + [f"p_y={grid[i]:.2f}" for i in picks]
    parts += ["## Gradient weight -dL/dz_y against p_y", _table(header, rows)]
    if report["gradient_weight"]["skipped"]:
      parts.append("Not plotted: " + "; ".join(f"{k}: {v}" for k, v in report["gradient_weight"]["skipped"].items()))
  if "probe" in report:
    p = report["probe"]
    parts += [
      "## Linear probe on frozen features",
      f"Test accuracy {_fmt(p['test_accuracy'])} (train "
      f"{_fmt(p['train_accuracy'])}) with {p['feature_dim']}-d features, {p['num_train']} training examples, "
      f"recipe {p['recipe']}.",
    ]
  if "bleu" in report:
    rows = [
      [beam.removeprefix("beam"), e["score"], " / ".join(_fmt(p) for p in e["precisions"]), e["brevity_penalty"]]
      + [e["hypothesis_length"], e["reference_length"]]
      for beam, e in report["bleu"].items()
    ]
    parts += [
      "## BLEU (tokenised, BPE removed)",
      _table(["beam", "BLEU", "n-gram precisions", "brevity penalty", "hypothesis tokens", "reference tokens"], rows),
    ]
  parts += ["## Timing (seconds)", _table(["section", "seconds"], list(report["timing_seconds"].items()))]
  return "\n\n".join(parts) + "\n"


def write(report: dict, arrays: dict, out_dir: str) -> list[str]:
  """Writes the JSON, Markdown, arrays and plots of one run into `out_dir`; returns the paths written."""
  os.makedirs(out_dir, exist_ok=True)
  paths = [os.path.join(out_dir, n) for n in (JSON_NAME, MARKDOWN_NAME, ARRAYS_NAME)]
  with open(paths[0], "w") as f:
    json.dump(report, f, indent=2)
  with open(paths[1], "w") as f:
    f.write(to_markdown(report))
  np.savez_compressed(paths[2], **arrays)
  return paths + _plot({"run": (report, arrays)}, out_dir)


def load(out_dir: str) -> tuple[dict, dict]:
  """`(report, arrays)` written by `write` into `out_dir`."""
  json_path = os.path.join(out_dir, JSON_NAME)
  if not os.path.isfile(json_path):
    raise FileNotFoundError(f"{json_path} not found: evaluate the run first (python evaluate.py --workdir DIR).")
  with open(json_path) as f:
    report = json.load(f)
  with np.load(os.path.join(out_dir, ARRAYS_NAME)) as npz:
    arrays = dict(npz)
  return report, arrays


def _plot(runs: dict, out_dir: str) -> list[str]:
  """The plots of `runs` (`{label: (report, arrays)}`), one figure each, all runs together (a section's plot when
  every run has that section)."""
  from el_jax.evaluate import plots  # matplotlib, only where plots are written

  paths = {name: os.path.join(out_dir, f"{name}.png") for name in ("margins", "reliability", "robustness")}
  plots.margin_histogram({k: a["margins"] for k, (_, a) in runs.items()}, paths["margins"])
  plots.reliability_diagram({k: r["calibration"]["reliability"] for k, (r, _) in runs.items()}, paths["reliability"])
  if all(r.get("adversarial") for r, _ in runs.values()):
    plots.robustness_curves({k: r["adversarial"] for k, (r, _) in runs.items()}, paths["robustness"])
  else:
    del paths["robustness"]
  for score in PLOT_SCORES if all("ood" in r for r, _ in runs.values()) else ():
    per_run = {}
    for label, (report, arrays) in runs.items():
      per_run[label] = {"in": arrays[f"ood/{score}/in"]} | {
        s: arrays[f"ood/{score}/{s}"] for s in report["ood"]["sets"]
      }
    paths[f"ood_{score}"] = os.path.join(out_dir, f"ood_{score}.png")
    plots.ood_score_histograms(per_run, score, paths[f"ood_{score}"])
  if len(runs) == 1:
    report = next(iter(runs.values()))[0]
    if "gradient_weight" in report:
      paths["gradient_weight"] = os.path.join(out_dir, "gradient_weight.png")
      plots.gradient_weight_curves(report["gradient_weight"]["curves"], paths["gradient_weight"])
    if "class_energy" in report["energy"]:
      paths["class_energy"] = os.path.join(out_dir, "class_energy.png")
      plots.class_energy_heatmap(report["energy"]["class_energy"], paths["class_energy"])
  return list(paths.values())


def compare(run_dirs: list[str], out_dir: str, labels: list[str] | None = None) -> list[str]:
  """Puts evaluated runs side by side: `comparison.md` (one column per run) and the plots, in `out_dir`."""
  if not run_dirs:
    raise ValueError("compare needs at least one evaluated run folder.")
  labels = labels or [os.path.basename(os.path.normpath(d)) or d for d in run_dirs]
  if len(set(labels)) != len(labels):
    labels = [os.path.normpath(d) for d in run_dirs]
  runs = {label: load(d) for label, d in zip(labels, run_dirs, strict=True)}
  tables = {label: dict(summary_rows(report)) for label, (report, _) in runs.items()}
  metrics = list(dict.fromkeys(m for t in tables.values() for m in t))
  rows = [[m] + [tables[label].get(m) for label in labels] for m in metrics]
  os.makedirs(out_dir, exist_ok=True)
  path = os.path.join(out_dir, "comparison.md")
  with open(path, "w") as f:
    f.write("# Comparison\n\n")
    f.write(
      "\n".join(f"- {label}: {d} (loss {runs[label][0]['loss']})" for label, d in zip(labels, run_dirs, strict=True))
    )
    f.write("\n\n" + _table(["metric"] + labels, rows) + "\n")
  return [path] + _plot(runs, out_dir)
