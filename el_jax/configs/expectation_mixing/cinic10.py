"""CE + expectation-loss mixing, CINIC-10 (mixing paper, Experiments, Table 1): the CIFAR-100 networks on CINIC-10
(180K training images: the train and validation splits; 90K test images; 32x32, 10 classes).

Setting: SGD with momentum 0.9, weight decay 1e-4, 90 epochs, lr 0.1, x0.1 at epochs 30 and 60; random crops and
flips as for CIFAR-100 (the paper adds random rotations for networks of more than 1M parameters; this trainer has no
rotation augmentation). The batch size is not stated: 128. el_jax records no CINIC-10 pixel statistics, so inputs
are scaled to [0, 1] without standardisation.
Paper results (top-1 %, mean of 3 seeds; CE / F=0 / F=0,0.5 / F=0-0.5):
  shufflenet_v2 81.35 / 81.55 / 81.59 / 81.79      resnet18 88.02 / 88.22 / 88.26 / 88.25
  resnet20 83.35 / 83.53 / 83.53 / 83.72           resnet34 88.10 / 88.74 / 88.77 / 88.85
  resnet32 84.74 / 84.91 / 84.96 / 85.10           preact_resnet18 85.97 / 86.55 / 86.60 / 86.71
  resnet44 84.81 / 84.99 / 85.00 / 85.18           resnext29 88.35 / 88.58 / 88.59 / 88.72

Arguments: model (as cifar100.py, default resnet32); loss=ce|f0|f0_05|f0_to_05 (default f0_to_05); smoke.
Needs CINIC-10 as a TFDS dataset named `cinic10` (not in the TFDS catalogue: build it with a custom builder, splits
train / validation / test, features image and label).

python train.py --config configs/expectation_mixing/cinic10.py:model=resnet18,loss=ce --workdir DIR
"""

from el_jax.configs import common
from el_jax.configs.expectation_mixing import cifar100


def get_config(arg=None):
  args = common.parse_arg(arg, model="resnet32", loss="f0_to_05", smoke=False)
  config = cifar100.cifar_like(args, dataset="tfds:cinic10", num_epochs=90, boundaries=(30, 60))
  config.dataset.train_split = "train+validation"
  config.dataset.normalize = False
  if args.smoke:
    cifar100.smoke(config, args.model)
    common.use_stand_in(config, "cinic10")
  return config
