"""Study (a): Fashion-MNIST with the HEM paper's MNIST recipe, every loss of the three papers' image claims.

LeNet and MLP (HEM appendix A.1.3), Adam 1e-3, batch 128, 20 epochs, on the first 10,000 training images (the full
60,000 would need ~6x the study's CPU budget), evaluated on the full 10,000 test images: clean and corruption
accuracy, OOD rejection (MSP and max-logit AUROC, FPR95), ECE, margins, energy, FGSM/PGD robust accuracy. HEM's
ConvNet, ~10x LeNet's compute per image, underfits at this budget (75% on 3,000 images); it trains in study (e), on
real MNIST digits.

  python train.py --config configs/studies/fashion_mnist.py:model=lenet,loss=el_le0.75,seed=1 --workdir DIR
  python reproduce.py --studies fashion_mnist                     # the whole grid, 5 seeds
"""

import ml_collections

from el_jax.configs import common
from el_jax.configs.studies import menu
from el_jax.studies import grid

SEEDS = (0, 1, 2, 3, 4)
TRAIN_SUBSET = 10_000

EVALUATION = {
  "corruption_subset": 2000,
  "ood_count": 2000,
  "attack_subset": 1000,
  "fgsm_eps": (0.05, 0.1),
  "pgd_linf_eps": (0.1,),
  "pgd_l2_eps": (),
  "pgd_steps": 10,
  "probe": False,
  "gradient_weights": False,
}
TINY_EVALUATION = EVALUATION | {
  "test_subset": 500,
  "corruption_subset": 200,
  "ood_count": 200,
  "attack_subset": 100,
  "pgd_linf_eps": (),
}


def get_config(arg=None) -> ml_collections.ConfigDict:
  args = common.parse_arg(arg, model="lenet", loss="ce", seed=0, lr_scale=1.0, tiny=False)
  if args.model not in grid.FASHION_MNIST_MODELS:
    raise ValueError(f"Study (a) trains {', '.join(grid.FASHION_MNIST_MODELS)}; got model {args.model!r}.")
  config = common.base_config()
  config.seed = args.seed
  config.dataset.train_subset = TRAIN_SUBSET
  config.dataset.eval_subset = 2000  # the per-epoch check; the final evaluation uses the whole test set
  config.model.name = args.model
  config.loss = menu.loss_section(args.loss)
  config.optimizer.name = "adam"
  config.optimizer.learning_rate = 1e-3 * args.lr_scale
  config.batch_size = 128
  config.num_epochs = 20
  return with_run_settings(config, tiny=args.tiny)


def with_run_settings(config, *, tiny: bool) -> ml_collections.ConfigDict:
  """`config` with what every study run shares: logging every 50 steps, only the last checkpoint kept, and for the
  tiny version (`reproduce.py --tiny`) one epoch on 512 training and 500 test images."""
  config.log_every_steps = 50
  config.checkpoint_keep = 1
  if tiny:
    config.dataset.train_subset = 512
    config.dataset.eval_subset = 500
    config.num_epochs = 1
  return config


def get_study(arg=None) -> grid.Study:
  args = common.parse_arg(arg, tiny=False)
  models = ("lenet", "mlp") if args.tiny else grid.FASHION_MNIST_MODELS
  losses = ("ce", "el_le0.75") if args.tiny else grid.FASHION_MNIST_LOSSES
  seeds = (0, 1) if args.tiny else SEEDS
  runs = []
  for model in models:
    for loss in losses:
      evaluation = dict(TINY_EVALUATION if args.tiny else EVALUATION)
      evaluation["probe"] = model == "lenet" and loss in grid.PROBED_LOSSES
      for seed in seeds:
        config = get_config(f"model={model},loss={loss},seed={seed}" + (",tiny" if args.tiny else ""))
        runs.append(grid.Run(f"{model}/{loss}", {"model": model, "loss": loss}, seed, config, evaluation))
  return grid.Study(
    name="fashion_mnist",
    title="(a) Fashion-MNIST: LeNet and MLP with every loss",
    description=__doc__.split("\n\n")[1],
    runs=tuple(runs),
  )
