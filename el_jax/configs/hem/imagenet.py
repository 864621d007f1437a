"""HEM, ImageNet-1k (HEM paper §5.1, Figures 1-3; appendix A.1): ResNet-50, Swin-T and ViT-B/16 trained with CE,
LogitNorm, logit-adjusted, DICE, multi-class margin, HEM and HEM+ losses.

Settings (A.1.4):
- ResNet-50: SGD with momentum 0.9, batch 512, weight decay 1e-4, 100 epochs, lr 0.1, x0.1 at epochs 25, 50, 75.
- Swin-T and ViT-B/16 (after Irandoust et al., 2022): AdamW, fixed lr 1e-3 after an exponential warm-up of 5 epochs
  (10 for ViT-B/16, and for Swin-T trained with CE, which collapsed with 5), batch 256, 100 epochs. The weight decay
  is not stated: PyTorch's AdamW default, 0.01.
Inputs: 224x224, pixels in [0, 1]. The paper flips, resizes to 256 and centre-crops; this trainer's "imagenet"
augmentation uses random-resized crops for training instead.
Parameters (Table 2): ResNet-50 25,557,032; SwinT 28,351,570 (Swin V2-T; el_jax's `swin_t` is Swin V1-T,
28,288,354); ViT-B/16 86,567,656.
Paper result (figures only): CE and HEM reach similar clean and corruption accuracy; HEM rejects unknown classes
(Textures, iNaturalist, ImageNet-O, synthetic sets) and AutoAttack samples better.

Arguments: model=resnet50|swin_t|vit_b16 (default resnet50); loss (as cifar10.py, default hem); smoke.
Needs TFDS `imagenet2012`.

python train.py --config configs/hem/imagenet.py:model=swin_t,loss=hem --workdir DIR
"""

from el_jax.configs import common
from el_jax.configs.hem import recipes

MODELS = ("resnet50", "swin_t", "vit_b16")
# Exponential warm-up epochs of the transformers; Swin-T with CE needed the longer one.
WARMUP_EPOCHS = {"swin_t": 5, "vit_b16": 10}
CE_WARMUP_EPOCHS = 10


def get_config(arg=None):
  args = common.parse_arg(arg, model="resnet50", loss="hem", smoke=False)
  config = recipes.base(args, dataset="imagenet", models=MODELS, augmentation="imagenet")
  config.dataset.eval_split = "validation"
  config.dataset.image_size = 224
  config.eval_batch_size = 500
  if args.model == "resnet50":
    recipes.sgd(
      config,
      learning_rate=0.1,
      boundaries=(25, 50, 75),
      decay_factor=0.1,
      weight_decay=1e-4,
      num_epochs=100,
      batch_size=512,
    )
  else:
    config.optimizer.name = "adamw"
    config.optimizer.learning_rate = 1e-3
    config.optimizer.schedule = "constant"
    config.optimizer.warmup = "exponential"
    config.optimizer.warmup_epochs = CE_WARMUP_EPOCHS if args.loss == "ce" else WARMUP_EPOCHS[args.model]
    config.optimizer.weight_decay = 0.01
    config.batch_size = 256
    config.num_epochs = 100
  if args.smoke:
    common.one_step_on_stand_in(config, "imagenet", eval_split="validation")
  return config
