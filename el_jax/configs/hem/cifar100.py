"""HEM, CIFAR-100 (HEM paper §5.1, Figures 1-3; appendix A.1): MobileNetV3-Large, ResNet-18 and PreAct-ResNet-18
trained with CE, LogitNorm, logit-adjusted, DICE, multi-class margin, HEM and HEM+ losses.

Setting: as CIFAR-10 (SGD, momentum 0.9, batch 128, weight decay 5e-4, 110 epochs, lr 0.1, MobileNet 0.02, x0.1 at
epochs 100 and 105; crops and flips; pixels in [0, 1]). ResNet-18 uses the CIFAR stem (3x3 convolution, no pooling).
Parameters (Table 2): MobileNetV3-L 4,330,132; ResNet-18 11,173,962 (the table's figure for 10 classes; 11,220,132
with 100); PreAct-ResNet-18 11,218,340.
Paper result (figures only): CE and HEM reach similar clean and corruption accuracy; HEM rejects unknown classes
(CIFAR-10, SVHN, Textures, synthetic sets) and AutoAttack samples better.

Arguments: model=mobilenet_v3_large|resnet18|preact_resnet18 (default resnet18); loss (as cifar10.py, default hem);
smoke. Needs TFDS `cifar100`.

python train.py --config configs/hem/cifar100.py:model=preact_resnet18,loss=logit_norm --workdir DIR
"""

from el_jax.configs import common
from el_jax.configs.hem import recipes

MODELS = ("mobilenet_v3_large", "resnet18", "preact_resnet18")


def get_config(arg=None):
  args = common.parse_arg(arg, model="resnet18", loss="hem", smoke=False)
  config = recipes.base(args, dataset="cifar100", models=MODELS, augmentation="cifar")
  recipes.sgd(config, learning_rate=recipes.cifar_learning_rate(args.model), **recipes.CIFAR)
  if args.smoke:
    common.shrink_to_a_few_steps(config, batch_size=8, steps=2, eval_examples=16)
    common.use_stand_in(config, "cifar100")
  return config
