"""Executes the notebooks under notebooks/ in a kernel running this interpreter (the project's venv).

`loss_curves.ipynb` asserts that the library's losses match the papers' closed forms and the HEM paper's Table 1, so
executing it is a test of the losses. `reproduction_report.ipynb` is run against a small hand-made report with the
shape `el_jax.studies.report` writes, with studies, models and metrics left out on purpose.
`language_model_memory.ipynb` asserts bounds on the compiled memory of the fused and materialised output layers.
"""

import json
import math
import os
import sys
from pathlib import Path

import ipykernel  # noqa: F401 (the kernel the notebooks run in; a dev dependency like nbclient and nbformat)
import nbclient
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
KERNEL = "el_jax_test_python"
MAX_BYTES = 1_500_000


@pytest.fixture
def kernel_name(tmp_path, monkeypatch):
  """A kernelspec that starts `sys.executable`, put first on JUPYTER_PATH so that it wins over any installed one."""
  spec = tmp_path / "jupyter" / "kernels" / KERNEL
  spec.mkdir(parents=True)
  argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
  (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "el_jax venv", "language": "python"}))
  monkeypatch.setenv("JUPYTER_PATH", os.pathsep.join([str(tmp_path / "jupyter"), os.environ.get("JUPYTER_PATH", "")]))
  monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))  # connection files; no home folder needed
  monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))  # no user profile or startup scripts
  return KERNEL


def execute(name: str, kernel: str):
  """Runs notebooks/`name` from its folder, first checking that the kernel is this interpreter; returns it."""
  nb = nbformat.read(NOTEBOOKS / name, as_version=4)
  check = f"import sys\nassert sys.prefix == {sys.prefix!r}, f'kernel runs {{sys.executable}}, not the venv'"
  nb.cells.insert(0, nbformat.v4.new_code_cell(check))
  client = nbclient.NotebookClient(
    nb, kernel_name=kernel, timeout=900, resources={"metadata": {"path": str(NOTEBOOKS)}}, allow_errors=False
  )
  client.execute()
  return nb


def text_of(nb) -> str:
  """Everything the notebook printed or displayed as text or markdown."""
  parts = []
  for cell in nb.cells:
    for out in cell.get("outputs", []):
      parts.append(out.get("text", ""))
      data = out.get("data", {})
      parts += [data.get("text/markdown", ""), data.get("text/plain", "")]
  return "\n".join(parts)


def metric(values):
  """One metric cell of a study summary: mean, sample std (None for one value), n and the values."""
  mean = sum(values) / len(values)
  std = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5 if len(values) > 1 else None
  return {"mean": mean, "std": std, "n": len(values), "values": values}


FIELDS = (  # el_jax.studies.claims.FIELDS, spelled out so that a renamed field fails here
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


def claim(paper, study, model, metric_name, treatment, baseline, t, b, paper_difference=None, **fields):
  """One claim row as `el_jax.studies.report` writes it: the comparison, then the FIELDS (None where not given)."""
  unknown = set(fields) - set(FIELDS) - {"datasets", "min_attainable_p", "paired_t_p_value"}
  assert not unknown, unknown
  return (
    {
      "paper": paper,
      "statement": f"{treatment} beats {baseline} on {metric_name}.",
      "source": "Table 1",
      "study": study,
      "model": model,
      "metric": metric_name,
      "treatment": treatment,
      "baseline": baseline,
      "higher_is_better": True,
      "paper_difference": paper_difference,
      "treatment_values": t,
      "baseline_values": b,
    }
    | dict.fromkeys(FIELDS)
    | fields
  )


def welch(n_t, n_b, difference, se, df, ci95, p, p_adjusted, family, mdd, verdict):
  return {
    "test": "welch",
    "unit": "seed",
    "n_treatment": n_t,
    "n_baseline": n_b,
    "difference": difference,
    "standard_error": se,
    "df": df,
    "ci95": ci95,
    "statistic": None if se is None else difference / se,
    "p_value": p,
    "p_adjusted": p_adjusted,
    "family_size": family,
    "min_detectable_difference": mdd,
    "verdict": verdict,
  }


def synthetic_report() -> dict:
  """A hand-made reproduction.json: fashion_mnist without mlp, long_tail without ratio10, no el_analyses and no
  mnist_digits. Its claim rows' numbers are arbitrary; the notebook only formats them."""
  image = {
    "ce": {"accuracy": metric([0.90, 0.91, 0.92]), "ood_auroc_msp": metric([0.80, 0.82, 0.81])},
    "el_le0.75": {"accuracy": metric([0.92, 0.925, 0.93]), "ood_auroc_max_logit": metric([0.85])},
  }
  shots = ("accuracy", "many_shot", "medium_shot", "few_shot", "ood_auroc_msp")
  long_tail = {
    "ce": {m: metric([0.6 - 0.1 * i, 0.62 - 0.1 * i]) for i, m in enumerate(shots)},
    "hem_plus": {m: metric([0.58 - 0.05 * i]) for i, m in enumerate(shots[:3])},
  }
  records = [
    {"dataset": d, "network": net, "loss": loss, "seeds": [0, 1], "test": [acc, acc + 0.02]}
    for d, acc in (("iris", 0.9), ("wine", 0.95))
    for net in ("linear", "hidden")
    for loss, acc in (("ce", acc), ("mix_f0_to_05", acc + 0.01))
  ]
  table4 = {
    net: {
      "ce": {"wins": 0, "delta_accuracy": 0.0, "mean_rank": 2.0},
      "mix_f0_to_05": {"wins": 2, "delta_accuracy": 1.0, "mean_rank": 1.0},
    }
    for net in ("linear", "hidden")
  }
  friedman = {"linear": {"statistic": 1.0, "df": 1, "p_value": 0.3173, "n_sets": 2, "losses": ["ce", "mix_f0_to_05"]}}
  el, mix, hem = "encouraging_loss", "expectation_mixing", "hem"
  fm_el, fm_ce = [0.92, 0.925, 0.93], [0.90, 0.91, 0.92]
  claims = [
    claim(
      el,
      "fashion_mnist",
      "lenet",
      "accuracy",
      "el_le0.75",
      "ce",
      fm_el,
      fm_ce,
      0.0014,
      **welch(3, 3, 0.015, 0.005, 4.0, [0.0011, 0.0289], 0.0246, 0.0246, 1, 0.0211, "holds"),
    ),
    claim(el, "fashion_mnist", "mlp", "accuracy", "el_le0.75", "ce", [], [], 0.0014, verdict="not run"),
    claim(
      mix,
      "uci",
      "linear",
      "accuracy",
      "mix_f0_to_05",
      "ce",
      [0.935, 0.955],
      [0.925, 0.945],
      0.0009,
      test="wilcoxon",
      unit="data set",
      n_treatment=2,
      n_baseline=2,
      difference=0.01,
      standard_error=0.001,
      df=1.0,
      ci95=[-0.0027, 0.0227],
      statistic=3.0,
      p_value=0.5,
      p_adjusted=0.5,
      family_size=1,
      min_detectable_difference=math.inf,  # json.dumps writes Infinity, as the report does
      verdict="not significant",
      datasets=["iris", "wine"],
      min_attainable_p=0.5,
      paired_t_p_value=0.0635,
    ),
    claim(
      hem,
      "long_tail",
      "ratio100",
      "few_shot",
      "hem_plus",
      "ce",
      [0.48],
      [0.3, 0.32],
      **welch(1, 2, 0.17, None, None, None, None, None, None, None, "not significant (n=1)"),
    ),
    claim(
      hem,
      "fashion_mnist",
      "lenet",
      "ood_auroc_msp",
      "ce",
      "el_le0.75",
      [0.80, 0.82, 0.81],
      [0.78, 0.79],
      0.021,
      **welch(3, 2, -0.03, 0.01, 2.5, [-0.052, -0.008], 0.0004, 0.0008, 2, 0.02, "contradicted"),
    ),
    claim(
      hem,
      "fashion_mnist",
      "lenet",
      "median_margin",
      "el_le0.75",
      "ce",
      [3.1, 3.5, 3.9],
      [2.6, 2.8, 3.0],
      **welch(3, 3, 0.8, 0.45, 3.1, [-0.4, 2.0], 0.09, 0.09, 2, 1.95, "not significant"),
    ),
  ]
  studies = {
    "fashion_mnist": {"lenet": image},
    "uci": {"table4": table4, "friedman": friedman, "records": records},
    "long_tail": {"ratio100": long_tail},
  }
  return {"tiny": True, "studies": studies, "claims": claims}


@pytest.mark.parametrize("name", ["loss_curves.ipynb", "reproduction_report.ipynb", "language_model_memory.ipynb"])
def test_committed_notebook_has_outputs_and_fits(name):
  path = NOTEBOOKS / name
  assert path.stat().st_size < MAX_BYTES, f"{name} is {path.stat().st_size} bytes; lower the figures' dpi"
  nb = nbformat.read(path, as_version=4)
  outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
  assert any("image/png" in o.get("data", {}) for o in outputs), f"{name} was committed without its figures"
  assert not [o for o in outputs if o.output_type == "error"], f"{name} was committed with an error"


@pytest.mark.slow
def test_loss_curves_notebook(kernel_name):
  nb = execute("loss_curves.ipynb", kernel_name)
  text = text_of(nb)
  assert "Eqs. 7 and 9 hold" in text
  assert "square-root convention" in text


@pytest.mark.slow
def test_language_model_memory_notebook(kernel_name):
  nb = execute("language_model_memory.ipynb", kernel_name)
  text = text_of(nb)
  assert "At every shape the fused paths hold at most" in text
  assert "the materialised optax CE grows 64x" in text
  assert "The fused EL holds its two float32 blocks and under 4 MiB besides" in text
  assert "train step, 4096 tokens, V = 32,768" in text
  (figure,) = [o for o in outputs_of(nb, "VOCABS = [") if "image/png" in o.get("data", {})]
  assert figure["data"]["text/plain"].endswith("with 2 Axes>")


def outputs_of(nb, marker: str) -> list:
  """The outputs of the one code cell whose source contains `marker`."""
  (cell,) = [c for c in nb.cells if c.cell_type == "code" and marker in c.source]
  return cell.outputs


def test_reproduction_report_notebook(kernel_name, tmp_path, monkeypatch):
  path = tmp_path / "report" / "reproduction.json"
  path.parent.mkdir()
  path.write_text(json.dumps(synthetic_report()))
  assert "Infinity" in path.read_text()  # the UCI row's undetectable difference, as the report writes it
  monkeypatch.setenv("EL_JAX_REPORT", str(path))
  nb = execute("reproduction_report.ipynb", kernel_name)
  text = text_of(nb)
  assert str(path) in text
  # The studies, models and metrics left out.
  assert "study **el_analyses**: not in the report" in text
  assert "study **mnist_digits**: not in the report" in text
  assert "study **fashion_mnist**: no results for mlp\n" in text and "no results for ratio10" in text
  assert "el_analyses: not in this report" in text and "mnist_digits: not in this report" in text
  # Section 1: verdict counts per paper (holds, contradicted, not significant, n=1, not run, total).
  assert "| 1 | 0 | 0 | 0 | 1 | 2 |" in text  # encouraging_loss: one holds, one not run
  assert "| 0 | 0 | 1 | 0 | 0 | 1 |" in text  # expectation_mixing
  assert "| 0 | 1 | 1 | 1 | 0 | 3 |" in text  # hem
  # Section 2: difference [95% CI] | p_adj | verdict | detectable | paper, in points (x100) or logit units.
  assert "| Welch t, 3 vs 3 seeds | +1.50 [+0.11, +2.89] | 0.025 | **holds** | – | +0.14 |" in text
  uci_row = "| signed-rank, 2 data sets | +1.00 [-0.27, +2.27] | 0.500 | **not significant** | none (p ≥ 0.5) | +0.09 |"
  assert uci_row in text
  assert "| Welch t, 1 vs 2 seeds | +17.00 (no test) | – | **not significant (n=1)** | – | – |" in text
  assert "| Welch t, 3 vs 2 seeds | -3.00 [-5.20, -0.80] | < 0.001 | **contradicted** | – | +2.10 |" in text
  assert "| Welch t, 3 vs 3 seeds | +0.80 [-0.40, +2.00] | 0.090 | **not significant** | ≥ 1.95 | – |" in text
  assert "*Not run in this report (1):* el_le0.75 vs ce (accuracy, mlp)." in text
  # The forest plots: one figure per paper with a tested row; hem's has a panel in points and one in logit units.
  figures = [o for o in outputs_of(nb, "def forest(") if "image/png" in o.get("data", {})]
  assert len(figures) == 3
  assert [f["data"]["text/plain"].endswith("with 2 Axes>") for f in figures] == [False, False, True]
  # Sections 4 to 6.
  assert "| mix_f0_to_05 | 2 | +1.00 | 1.00 |" in text
  assert "chi-square 1.00, df 1, p = 0.317." in text
  assert "(not found next to the JSON)" in text
