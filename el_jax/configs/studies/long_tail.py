"""Study (c): long-tailed Fashion-MNIST, LeNet, with the losses that target imbalance.

Study (a)'s 10,000 training images cut to a long tail (HEM A.2.1's recipe after Cao et al., 2019: class j keeps its
first s_j f^j images) with largest/smallest class ratios 100 (2,443 images, 942 down to 10 per class) and 10 (4,059
images, 942 down to 100); the balanced 10,000 test images. Adam 1e-3, batch 128, 20 epochs. CE, logit-adjusted
(tau 1), HEM, HEM+ and EL's aggressive bonus: many/medium/few-shot accuracy (classes with >100, 20-100, <20 training
images) and OOD AUROC. HEM+ is trained with both readings of its per-class margins: on the competing class (Eq. 6 as
written, `hem_plus`) and on the example's own class (as LDAM's, `hem_plus_label`).

  python train.py --config configs/studies/long_tail.py:ratio=100,loss=hem_plus,seed=0 --workdir DIR
  python train.py --config configs/studies/long_tail.py:ratio=100,loss=hem_plus_label,seed=0 --workdir DIR
"""

import ml_collections

from el_jax.configs import common
from el_jax.configs.studies import fashion_mnist, menu
from el_jax.studies import grid

SEEDS = (0, 1, 2, 3, 4)
TRAIN_SUBSET = fashion_mnist.TRAIN_SUBSET


def get_config(arg=None) -> ml_collections.ConfigDict:
  args = common.parse_arg(arg, ratio=100.0, loss="ce", seed=0, tiny=False)
  config = fashion_mnist.get_config(f"model=lenet,loss=ce,seed={args.seed}" + (",tiny" if args.tiny else ""))
  config.loss = menu.loss_section(args.loss)
  config.dataset.train_subset = 3000 if args.tiny else TRAIN_SUBSET
  config.dataset.long_tail_ratio = args.ratio
  return config


def get_study(arg=None) -> grid.Study:
  args = common.parse_arg(arg, tiny=False)
  ratios = (100,) if args.tiny else grid.LONG_TAIL_RATIOS
  losses = ("ce", "hem_plus") if args.tiny else grid.LONG_TAIL_LOSSES
  seeds = (0, 1) if args.tiny else SEEDS
  evaluation = dict(fashion_mnist.TINY_EVALUATION if args.tiny else fashion_mnist.EVALUATION)
  runs = []
  for ratio in ratios:
    for loss in losses:
      for seed in seeds:
        config = get_config(f"ratio={ratio},loss={loss},seed={seed}" + (",tiny" if args.tiny else ""))
        group = grid.long_tail_group(ratio)
        runs.append(grid.Run(f"{group}/{loss}", {"imbalance": group, "loss": loss}, seed, config, evaluation))
  return grid.Study(
    name="long_tail",
    title="(c) Long-tailed Fashion-MNIST",
    description=__doc__.split("\n\n")[1],
    runs=tuple(runs),
  )
