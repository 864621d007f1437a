"""HEM, appendix B: the hyper-parameter sweeps of B.1 (Figures 9-10) and the ablation of B.2 (Table 3), ResNet-18 on
CIFAR-10 (B.2 also on CIFAR-100), a model and data set the main experiments do not pair.

Setting (B.1: "as described in A.1 for training other ResNets ... on CIFAR data"): SGD with momentum 0.9, batch 128,
weight decay 5e-4, 110 epochs, lr 0.1, x0.1 at epochs 100 and 105; random crops (padding 4) and flips; pixels in
[0, 1]. `per_class=50` trains on the first 50 training images of each class (B.1's reduced CIFAR-10, 500 images),
where HEM's margin sqrt(2000 / N) is 2 (0.2 on the full 50,000).

Losses: `logit_norm` (tau 0.04), `mm` (margin 1), `hem` (margin sqrt(2000 / N)), the losses B.1 sweeps (the value is
set on the command line, below); `ce` for reference; Table 3's ablation of HEM's two changes to MM at margin 0.2:
`mm_maz` (the mean of the above-zero errors, per example and over the batch), `mm_thres` (errors below the
example's mean set to 0), with `loss=mm --config.loss.margin=0.2` and `loss=hem` (0.2 on CIFAR) its other rows.
Paper results: B.1 chose LN's tau 0.04 and MM's margin 1 for unknown-class rejection (clean accuracy changed
little), and HEM's margin sqrt(M / N) with M = 2000 because the 50-per-class set needs a larger margin (Fig. 10(c));
HEM with margin 0 reached 90.7% on CIFAR-10. Table 3 (clean accuracy, CIFAR-10 / CIFAR-100): MM 93.79 / 70.13,
+maz 93.81 / 74.94, +thres 93.78 / 73.13, HEM 93.84 / 74.95.

Arguments: dataset=cifar10|cifar100 (default cifar10); loss=ce|logit_norm|mm|hem|mm_maz|mm_thres (default hem);
per_class=all|50 (default all); smoke. Needs TFDS `cifar10` / `cifar100`. Each sweep is one run per value
(the figures' values are not listed in the text; these grids span them):

  for tau in 0.01 0.02 0.04 0.1 0.2 0.5 1; do                      # B.1, Fig. 9(a, b): LogitNorm's tau
    python train.py --config configs/hem/appendix_b.py:loss=logit_norm --config.loss.tau=$tau --workdir runs/b1/ln/$tau
  done
  for mu in 0.1 0.2 0.5 1 2 5; do                                  # B.1, Fig. 9(c, d): MM's margin
    python train.py --config configs/hem/appendix_b.py:loss=mm --config.loss.margin=$mu --workdir runs/b1/mm/$mu
  done
  for mu in 0 0.02 0.05 0.1 0.2 0.5 1 2 5; do                      # B.1, Fig. 10(a, b), and (c, d) with per_class=50
    python train.py --config configs/hem/appendix_b.py:loss=hem,per_class=50 --config.loss.margin=$mu \\
        --workdir runs/b1/hem_50/$mu
  done
  python train.py --config configs/hem/appendix_b.py:loss=hem --config.loss.M=500 --workdir runs/b1/hem_m500
  for loss in mm_maz mm_thres hem; do                               # B.2, Table 3 (and dataset=cifar100)
    python train.py --config configs/hem/appendix_b.py:loss=$loss --workdir runs/b2/cifar10/$loss
  done
  python train.py --config configs/hem/appendix_b.py:loss=mm --config.loss.margin=0.2 --workdir runs/b2/cifar10/mm
"""

import ml_collections

from el_jax.configs import common, losses, variants
from el_jax.configs.hem import recipes

MODEL = "resnet18"
DATASETS = ("cifar10", "cifar100")
PER_CLASS = {"all": None, "50": 50}
LOSSES = {**{k: losses.HEM[k] for k in ("ce", "logit_norm", "mm", "hem")}, **losses.HEM_ABLATION}


def get_config(arg=None) -> ml_collections.ConfigDict:
  args = common.parse_arg(arg, dataset="cifar10", loss="hem", per_class="all", smoke=False)
  dataset = variants.choose("dataset", args.dataset, DATASETS)
  per_class = variants.choose("per_class", args.per_class, PER_CLASS)
  config = common.base_config()
  config.dataset.name = dataset
  config.dataset.augmentation = "cifar"
  config.dataset.normalize = False
  config.dataset.train_per_class = per_class
  config.model.name = MODEL
  config.loss = losses.loss_config(LOSSES, args.loss)
  recipes.sgd(config, learning_rate=recipes.CIFAR_LEARNING_RATE, **recipes.CIFAR)
  if args.smoke:
    common.shrink_to_a_few_steps(config, batch_size=8, steps=2, eval_examples=16)
    common.use_stand_in(config, dataset)
    if per_class:  # two images of each class from the stand-in's first 400 (its labels are random)
      config.dataset.train_subset = 400
      config.dataset.train_per_class = 2
  return config
