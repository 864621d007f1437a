"""The evaluation suite: what a trained classifier does beyond its accuracy.

Modules, each usable on its own:
- `metrics`: top-1, per-class and many/medium/few-shot accuracy, NLL;
- `calibration`: expected calibration error and reliability bins;
- `ood`: OOD scores (MSP, max logit, free energy, minimum conditional energy), AUROC, FPR at a TPR, DAR;
- `ood_sets`: uniform noise, blobs, pixel-permuted and phase-randomised images, the other domain's real images;
- `corruptions`: MNIST-C corruption families computed on the fly;
- `attacks`: FGSM, PGD-Linf and PGD-L2 in [0, 1] pixel space;
- `margins`: margins and conditional energies; `gradient_weight`: each loss's weight against `p_y`;
- `probe`: the linear probe on frozen features;
- `inference`: a model as a pure function run over datasets in padded batches;
- `suite`: all of the above on a model or a workdir; `report` and `plots`: JSON, Markdown, PNG and comparisons.
"""

from el_jax.evaluate.evaluators import check_evals, due, run_during_training
from el_jax.evaluate.suite import Options, evaluate_workdir, run

__all__ = ["Options", "check_evals", "due", "evaluate_workdir", "run", "run_during_training"]
