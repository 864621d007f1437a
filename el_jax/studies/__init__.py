"""The CPU-scale studies of the papers' claims (`reproduce.py`).

grid        what each study trains (its models and loss labels) and the `Run`/`Study` types
runner      trains and evaluates each run of a study that has no result yet (`train_and_report`)
uci         the mixing paper's UCI protocol: learning rates chosen on validation, Table 4's wins and ranks
claims      the papers' testable claims, each one comparison on one metric
statistics  the tests behind the verdicts (Welch, Wilcoxon, Friedman, Holm) and the detectable differences
report      `reports/reproduction.md` and `.json`: the measurements, each claim beside them with a verdict, figures
"""

from el_jax import _extras

_extras.require("el_jax.studies", "train", "eval")
