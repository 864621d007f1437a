"""HEM, long-tailed CIFAR-10/100 (HEM paper §5.2, Figures 5-6; appendix A.2): ResNet-32 on long-tailed CIFAR-10,
ResNet-18 on long-tailed CIFAR-100, with imbalance ratios 100 and 10, trained with CE, LogitNorm, logit-adjusted (LA),
DICE, multi-class margin, HEM and HEM+ losses.

Training data (A.2.1): class j keeps its first floor(s_j f^j) images, f chosen for a largest/smallest class ratio of
100 or 10 (`config.dataset.long_tail_ratio`; see el_jax/data/long_tail.py for the factors). Test sets stay balanced.
Setting (A.2.4, after Cao et al., 2019): SGD with momentum 0.9, batch 128, weight decay 2e-4, 200 epochs, lr 0.1,
x0.01 at epochs 160 and 180; random crops (padding 4) and flips; pixels in [0, 1]. HEM's margin sqrt(2000 / N) and
HEM+'s per-class margins and LA's class counts come from the long-tailed training set.
Paper result (figures only): LA is the most accurate on clean and corrupted data; HEM and HEM+ reject unknown classes
and AutoAttack samples better than CE and LA; DICE is worse than HEM on every criterion but adversarial rejection.

Arguments: dataset=cifar10|cifar100 (default cifar10; the model follows: resnet32 / resnet18); ratio=100|10
(default 100); loss=ce|logit_norm|logit_adjusted|dice|mm|hem|hem_plus|hem_plus_label (default hem_plus; `hem_plus_label`
puts HEM+'s per-class margins on the example's own class, see `el_jax.losses.hem_plus_margins`); smoke.
Needs TFDS `cifar10` / `cifar100`.

python train.py --config configs/hem/long_tail.py:dataset=cifar100,ratio=10,loss=hem_plus --workdir DIR
"""

import math

from el_jax.configs import common, variants
from el_jax.configs.hem import recipes

MODELS = {"cifar10": "resnet32", "cifar100": "resnet18"}
RATIOS = ("100", "10")
NUM_CLASSES = {"cifar10": 10, "cifar100": 100}


def get_config(arg=None):
  args = common.parse_arg(arg, dataset="cifar10", ratio="100", loss="hem_plus", smoke=False)
  args.model = variants.choose("dataset", args.dataset, MODELS)
  config = recipes.base(args, dataset=args.dataset, models=MODELS.values(), augmentation="cifar")
  config.dataset.long_tail_ratio = float(variants.choose("ratio", args.ratio, RATIOS))
  recipes.sgd(config, learning_rate=0.1, boundaries=(160, 180), decay_factor=0.01, weight_decay=2e-4, num_epochs=200)
  if args.smoke:
    smoke(config, NUM_CLASSES[args.dataset])
  return config


def smoke(config, num_classes: int):
  """One epoch over a long-tailed cut of a synthetic CIFAR stand-in large enough that its rarest class keeps an
  example: `ratio + 4 sqrt(ratio) + 8` examples per class on average before the cut (the stand-in's labels are
  random, so its class counts vary by about the square root of that). The cut keeps about 370 images for CIFAR-10
  at ratio 100, but about 3,200 for CIFAR-100 at ratio 100: that smoke run takes minutes on a CPU."""
  ratio = config.dataset.long_tail_ratio
  config.dataset.train_subset = int((ratio + 4 * math.sqrt(ratio) + 8) * num_classes)
  config.dataset.eval_subset = 16
  config.batch_size = 64
  config.eval_batch_size = 16
  config.num_epochs = 1
  config.log_every_steps = 1
  common.use_stand_in(config, config.dataset.name)
  return config
