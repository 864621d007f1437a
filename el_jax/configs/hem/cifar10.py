"""HEM, CIFAR-10 (HEM paper §5.1, Figures 1-4; appendix A.1): ResNet-32, MobileNetV3-Small and WRN-22-10 trained with
CE, LogitNorm, logit-adjusted, DICE, multi-class margin, HEM and HEM+ losses.

Setting (A.1.4, after Pang et al., 2021): SGD with momentum 0.9, batch 128, weight decay 5e-4, 110 epochs, lr 0.1
(MobileNet 0.02), x0.1 at epochs 100 and 105; random crops (padding 4) and flips; pixels scaled to [0, 1].
Parameters (Table 2): ResNet-32 464,154; MobileNetV3-S 1,528,106; WRN-22-10 27,977,146 (with the unused copy of the
first group of Pang et al.'s code, `--config.model.unused_first_group=True`; 26,797,914 without).
Paper result: WRN-22-10 with HEM reaches 94.73% clean accuracy (95.32% with lr 0.05, appendix B.3); across the
conditions CE is about 1 point more accurate on clean data, HEM better at rejecting unknown classes (CIFAR-100, SVHN,
Textures, synthetic sets) and AutoAttack samples.

Arguments: model=resnet32|mobilenet_v3_small|wrn22_10 (default resnet32); loss=ce|logit_norm|logit_adjusted|dice|mm|
hem|hem_plus|hem_plus_label (default hem); smoke. Needs TFDS `cifar10`.

python train.py --config configs/hem/cifar10.py:model=wrn22_10,loss=hem --workdir DIR
"""

from el_jax.configs import common
from el_jax.configs.hem import recipes

MODELS = ("resnet32", "mobilenet_v3_small", "wrn22_10")


def get_config(arg=None):
  args = common.parse_arg(arg, model="resnet32", loss="hem", smoke=False)
  config = recipes.base(args, dataset="cifar10", models=MODELS, augmentation="cifar")
  recipes.sgd(config, learning_rate=recipes.cifar_learning_rate(args.model), **recipes.CIFAR)
  if args.smoke:
    common.shrink_to_a_few_steps(config, batch_size=8, steps=2, eval_examples=16)
    common.use_stand_in(config, "cifar10")
  return config
