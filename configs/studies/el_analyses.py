"""Study (d): Encouraging Loss's analyses on LeNet / Fashion-MNIST.

Margin and energy distributions of CE against EL (EL Figs. 1, 5, 6) and the linear probe on frozen features (EL
§4.3) come from study (a)'s LeNet runs. This study adds EL Table 2's idea: EL with the normal bonus (LE = 1) at half
the learning rate (5e-4), with CE at half the learning rate as its control.

  python train.py --config configs/studies/el_analyses.py:loss=el_le1,seed=0 --workdir DIR
"""

from configs import common
from configs.studies import fashion_mnist
from el_jax.studies import grid

SEEDS = (0, 1, 2)


def get_config(arg=None):
  args = common.parse_arg(arg, loss="el_le1", seed=0, tiny=False)
  return fashion_mnist.get_config(
    f"model={grid.EL_ANALYSES_MODEL},loss={args.loss},seed={args.seed},lr_scale=0.5" + (",tiny" if args.tiny else "")
  )


def get_study(arg=None) -> grid.Study:
  args = common.parse_arg(arg, tiny=False)
  seeds = (0,) if args.tiny else SEEDS
  evaluation = dict(fashion_mnist.TINY_EVALUATION if args.tiny else fashion_mnist.EVALUATION)
  evaluation["probe"] = True
  runs = []
  model = grid.EL_ANALYSES_MODEL
  for loss in grid.HALF_LR_LOSSES:
    label = grid.half_lr_label(loss)
    for seed in seeds:
      config = get_config(f"loss={loss},seed={seed}" + (",tiny" if args.tiny else ""))
      runs.append(grid.Run(f"{model}/{label}", {"model": model, "loss": label}, seed, config, evaluation))
  return grid.Study(
    name="el_analyses",
    title="(d) Encouraging Loss's analyses: margins, energy, linear probe, half learning rate",
    description=__doc__.split("\n\n")[1],
    runs=tuple(runs),
  )
