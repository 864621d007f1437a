"""PNG plots of one run or several side by side: margins, OOD scores, reliability, robustness, gradient weights.

Every function takes `runs`, a dict from a run's label to its data, and writes one figure to `path`.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _save(fig, path):
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def _histograms(runs: dict, path: str, *, xlabel: str, title: str, zero_line: bool = False) -> None:
  """One step histogram per run of its values, on shared bins."""
  fig, ax = plt.subplots(figsize=(6, 4))
  values = np.concatenate([np.asarray(v) for v in runs.values()])
  bins = np.linspace(values.min(), values.max(), 100)
  for label, run_values in runs.items():
    ax.hist(run_values, bins=bins, histtype="step", label=label, density=True)
  if zero_line:
    ax.axvline(0.0, color="black", linewidth=0.8)
  ax.set(xlabel=xlabel, ylabel="density", title=title)
  ax.legend(fontsize=7)
  _save(fig, path)


def margin_histogram(runs: dict, path: str) -> None:
  """Histograms of the margins `z_y - max_{k!=y} z_k` of each run (EL Fig. 6)."""
  xlabel = "margin $z_y - \\max_{k \\neq y} z_k$"
  _histograms(runs, path, xlabel=xlabel, title="Margins on the test set", zero_line=True)


def energy_histogram(runs: dict, path: str) -> None:
  """Histograms of the conditional energies `E(y|x) = -z_y` of each run on the test set (EL Figs. 1 and 5)."""
  _histograms(runs, path, xlabel="energy $E(y|x) = -z_y$", title="Conditional energy of the true class")


def ood_score_histograms(runs: dict, score: str, path: str) -> None:
  """Per run (rows) and OOD set (columns): histograms of `score` on the test set and on the OOD set.

  `runs[label]` is `{"in": scores, set_name: scores, ...}`.
  """
  labels = list(runs)
  sets = [name for name in runs[labels[0]] if name != "in"]
  fig, axes = plt.subplots(len(labels), len(sets), figsize=(2.6 * len(sets), 2.2 * len(labels)), squeeze=False)
  for row, label in enumerate(labels):
    scores = runs[label]
    for col, name in enumerate(sets):
      ax = axes[row, col]
      both = np.concatenate([scores["in"], scores[name]])
      bins = np.linspace(both.min(), both.max() + 1e-9, 50)
      ax.hist(scores["in"], bins=bins, alpha=0.6, density=True, label="test")
      ax.hist(scores[name], bins=bins, alpha=0.6, density=True, label=name)
      ax.set_title(f"{label}: {name}" if len(labels) > 1 else name, fontsize=7)
      ax.tick_params(labelsize=6)
  axes[0, 0].legend(fontsize=6)
  fig.suptitle(f"OOD score: {score} (higher = in-distribution)", fontsize=9)
  _save(fig, path)


def reliability_diagram(runs: dict, path: str) -> None:
  """Accuracy against confidence per bin (`runs[label]` is `calibration.reliability_bins`'s dict as lists)."""
  fig, ax = plt.subplots(figsize=(4.5, 4.5))
  ax.plot([0, 1], [0, 1], color="gray", linestyle="--", linewidth=0.8)
  for label, bins in runs.items():
    confidence = np.asarray(bins["confidence"], float)
    accuracy = np.asarray(bins["accuracy"], float)
    filled = np.asarray(bins["count"]) > 0
    ax.plot(confidence[filled], accuracy[filled], marker="o", markersize=3, label=label)
  ax.set(xlabel="confidence (max softmax)", ylabel="accuracy", xlim=(0, 1), ylim=(0, 1), title="Reliability")
  ax.legend(fontsize=7)
  _save(fig, path)


def robustness_curves(runs: dict, path: str) -> None:
  """Robust accuracy against the budget for each attack (`runs[label]` is the report's `adversarial` section)."""
  attacks = sorted({a for adversarial in runs.values() for a in adversarial})
  fig, axes = plt.subplots(1, len(attacks), figsize=(4 * len(attacks), 3.4), squeeze=False)
  for ax, attack in zip(axes[0], attacks, strict=True):
    for label, adversarial in runs.items():
      if attack in adversarial:
        curve = adversarial[attack]
        ax.plot(curve["eps"], curve["robust_accuracy"], marker="o", markersize=3, label=label)
    ax.set(xlabel="eps", ylabel="robust accuracy", ylim=(0, 1), title=attack)
    ax.legend(fontsize=7)
  _save(fig, path)


def gradient_weight_curves(curves: dict, path: str) -> None:
  """`-dL/dz_y` against `p_y` for each loss (`curves` is `{"p_y": grid, name: weights}`)."""
  fig, ax = plt.subplots(figsize=(6, 4))
  names = [name for name in curves if name != "p_y"]
  colors = plt.get_cmap("tab20")
  for i, name in enumerate(names):
    ax.plot(curves["p_y"], curves[name], label=name, color=colors(i % 20), linestyle=("-", "--", ":")[i // 20 % 3])
  ax.set(xlabel="$p_y$", ylabel="weight $-\\partial L / \\partial z_y$", title="How each loss weights an example")
  ax.legend(fontsize=6, ncol=2)
  _save(fig, path)


def class_energy_heatmap(energy, path: str) -> None:
  """`E(y|x)` averaged over the examples of each true class (rows) for each class `y` (columns) (EL Fig. 5)."""
  energy = np.asarray(energy, float)
  fig, ax = plt.subplots(figsize=(5, 4.2))
  image = ax.imshow(energy, cmap="viridis")
  fig.colorbar(image, ax=ax, label="mean $E(y|x) = -z_y$")
  ax.set(xlabel="class y", ylabel="true class of x", title="Mean conditional energy (EL Fig. 5)")
  _save(fig, path)
