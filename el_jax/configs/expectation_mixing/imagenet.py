"""CE + expectation-loss mixing, ImageNet (mixing paper, Experiments, Table 2): seven ImageNet networks trained with
CE and the three focus schedules.

Setting (the official PyTorch ImageNet example, as the paper says): SGD lr 0.1, momentum 0.9, weight decay 1e-4,
batch 256, 90 epochs, x0.1 at epochs 30 and 60; 224x224 random-resized crops and flips for training, the 224x224
centre crop of the image resized to 256 for evaluation.
Paper results (top-1 %; CE / F=0 / F=0,0.5 / F=0-0.5):
  resnet18 69.82 / 70.19 / 70.25 / 70.50           shufflenet_v2 65.28 / 65.92 / 65.51 / 65.99
  resnet34 73.26 / 73.65 / 73.91 / 74.07           resnext50_32x4d 77.30 / 77.63 / 78.01 / 78.25
  resnet50 75.74 / 75.86 / 76.06 / 76.35           resnext101_32x8d 79.20 / 79.45 / 79.73 / 79.99
  resnet101 77.59 / 77.90 / 78.37 / 78.51

Arguments: model (default resnet50); loss=ce|f0|f0_05|f0_to_05 (default f0_to_05); smoke. Needs TFDS `imagenet2012`.

python train.py --config configs/expectation_mixing/imagenet.py:model=resnet50,loss=f0_to_05 --workdir DIR
"""

from el_jax.configs import common, losses, variants

MODELS = (
  "resnet18",
  "resnet34",
  "resnet50",
  "resnet101",
  "shufflenet_v2",
  "resnext50_32x4d",
  "resnext101_32x8d",
)


def get_config(arg=None):
  args = common.parse_arg(arg, model="resnet50", loss="f0_to_05", smoke=False)
  config = common.base_config()
  config.dataset.name = "imagenet"
  config.dataset.eval_split = "validation"
  config.dataset.augmentation = "imagenet"
  config.dataset.image_size = 224
  config.model.name = variants.choose("model", args.model, MODELS)
  config.loss = losses.loss_config(losses.MIXING, args.loss)

  config.optimizer.name = "sgd"
  config.optimizer.learning_rate = 0.1
  config.optimizer.momentum = 0.9
  config.optimizer.weight_decay = 1e-4
  config.optimizer.schedule = "multistep"
  config.optimizer.boundaries = (30, 60)
  config.optimizer.decay_factor = 0.1
  config.batch_size = 256
  config.eval_batch_size = 500
  config.num_epochs = 90
  if args.smoke:
    common.one_step_on_stand_in(config, "imagenet", eval_split="validation")
  return config
