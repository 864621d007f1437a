"""HEM, TinyImageNet (HEM paper §5.1, Figures 1-3; appendix A.1): ResNet-18, Inception-v3 and WRN-28-10 on 64x64
images of 200 classes, trained with CE, LogitNorm, logit-adjusted, DICE, multi-class margin, HEM and HEM+ losses.

Setting (A.1.4): as CIFAR but 200 epochs with x0.1 at epochs 50, 100 and 150: SGD with momentum 0.9, batch 128,
weight decay 5e-4, lr 0.1; random crops (padding 4) and flips; pixels in [0, 1]; evaluated on the validation split.
Parameters (Table 2): ResNet-18 11,173,962 (the table repeats the 10-class figure; 11,271,432 with 200 classes),
Inception 23,995,504, WRN-28-10 38,241,656 (with the unused first-group copy, `--config.model.unused_first_group=True`).
HEM's Inception-v3 is modified for 64x64 inputs (a shorter stem, a 4x4 auxiliary-head convolution); el_jax's
`inception_v3` is torchvision's network without the auxiliary head and needs inputs of at least 75x75, so this
config feeds it the images resized to 299x299 with random-resized crops ("imagenet" augmentation) instead.
Paper result (figures only): CE and HEM reach similar clean and corruption accuracy; HEM rejects unknown classes
(Textures, iNaturalist, ImageNet-O, synthetic sets) and AutoAttack samples better.

Arguments: model=resnet18|inception_v3|wrn28_10 (default resnet18); loss (as cifar10.py, default hem); smoke.
Needs Tiny ImageNet as a TFDS dataset named `tiny_imagenet` (not in the TFDS catalogue: build it with a custom
builder, splits train / validation, features image and label).

python train.py --config configs/hem/tiny_imagenet.py:model=wrn28_10,loss=hem --workdir DIR
"""

from el_jax.configs import common
from el_jax.configs.hem import recipes

MODELS = ("resnet18", "inception_v3", "wrn28_10")
INCEPTION_SIZE = 299


def get_config(arg=None):
  args = common.parse_arg(arg, model="resnet18", loss="hem", smoke=False)
  config = recipes.base(args, dataset="tfds:tiny_imagenet", models=MODELS, augmentation="cifar")
  config.dataset.eval_split = "validation"
  if args.model == "inception_v3":
    config.dataset.augmentation = "imagenet"
    config.dataset.image_size = INCEPTION_SIZE
  recipes.sgd(config, learning_rate=0.1, boundaries=(50, 100, 150), decay_factor=0.1, weight_decay=5e-4, num_epochs=200)
  if args.smoke:
    size = 2 if args.model == "inception_v3" else 4
    common.shrink_to_a_few_steps(config, batch_size=size, steps=1 if size == 2 else 2, eval_examples=size)
    common.use_stand_in(config, "tiny_imagenet", eval_split="validation")
  return config
