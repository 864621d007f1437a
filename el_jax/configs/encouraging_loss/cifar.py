"""Encouraging loss, CIFAR-10/100 at 224x224 pixels (EL paper §4.2, Table 1 / Figure 4, and Table 2).

Setting (the authors' scripts, after narumiruna/efficientnet-pytorch): ResNet-50 or EfficientNet-B0 on CIFAR images
resized to 224x224 (random-resized crop and flip for training, resize and centre crop for evaluation); SGD with
Nesterov momentum 0.9, weight decay 1e-4, 90 epochs, learning rate x0.1 at epochs 30, 60 and 80; ResNet-50 batch 64
lr 0.025, EfficientNet-B0 batch 32 lr 0.0125. EL with the conservative bonus LE = 0.75.
Paper results (accuracy %, CE -> EL): C10-R50 92.34 -> 92.97, C10-B0 93.21 -> 94.24, C100-R50 74.39 -> 75.80,
C100-B0 76.22 -> 77.21.
Table 2 (ResNet-50, EL with the normal bonus LE = 1, `loss=el_normal`): EL 92.74 (C10) / 75.80 (C100); with half the
learning rate (`lr_scale=0.5`) 93.69 / 76.37; CE with twice the learning rate (`lr_scale=2`) 91.53 / 73.57.

Arguments: dataset=cifar10|cifar100; model=resnet50|efficientnet_b0; loss=el|el_normal|ce (default el);
lr_scale (a factor on the learning rate, default 1); smoke.

python train.py --config configs/encouraging_loss/cifar.py:dataset=cifar100,model=resnet50,loss=el --workdir DIR
"""

from el_jax.configs import common, losses, variants

LOSSES = {**losses.encouraging_loss_menu(log_end=0.75), "el_normal": losses.encouraging(log_end=1.0)}
# model -> (batch size, learning rate)
MODELS = {"resnet50": (64, 0.025), "efficientnet_b0": (32, 0.0125)}
DATASETS = ("cifar10", "cifar100")


def get_config(arg=None):
  args = common.parse_arg(arg, dataset="cifar10", model="resnet50", loss="el", lr_scale=1.0, smoke=False)
  config = common.base_config()
  config.dataset.name = variants.choose("dataset", args.dataset, DATASETS)
  config.dataset.augmentation = "imagenet"
  config.dataset.image_size = 224
  batch_size, learning_rate = variants.choose("model", args.model, MODELS)
  config.model.name = args.model
  config.loss = losses.loss_config(LOSSES, args.loss)

  config.optimizer.name = "sgd"
  config.optimizer.learning_rate = learning_rate * args.lr_scale
  config.optimizer.momentum = 0.9
  config.optimizer.nesterov = True
  config.optimizer.weight_decay = 1e-4
  config.optimizer.schedule = "multistep"
  config.optimizer.boundaries = (30, 60, 80)
  config.optimizer.decay_factor = 0.1
  config.batch_size = batch_size
  config.num_epochs = 90
  if args.smoke:
    common.one_step_on_stand_in(config, args.dataset)
  return config
