"""Encouraging loss, ImageNet (EL paper §4.2, Table 1 / Figure 4): ResNet-50 and EfficientNet-B0.

Settings, each from the code base the paper ran (appendix):
- ResNet-50 (PyTorch's ImageNet example): SGD lr 0.1, momentum 0.9, weight decay 1e-4, batch 256, 90 epochs,
  x0.1 at epochs 30 and 60; 224x224 random-resized crops and flips.
- EfficientNet-B0 (timm's recipe): TensorFlow-style RMSProp (decay 0.9, eps 1e-3, momentum 0.9) lr 0.048, batch 384,
  450 epochs, x0.97 every 2.4 epochs after a 3-epoch linear warm-up, weight decay 1e-5, label smoothing 0.1, dropout
  0.2 and stochastic depth 0.2 (the model's defaults). timm's RandAugment, random erasing and weight EMA are not
  part of this trainer.
Both with EL's conservative bonus LE = 0.75.
Paper results (top-1 %, CE -> EL): ResNet-50 75.49 -> 76.43; EfficientNet-B0 77.80 -> 78.28.

Arguments: model=resnet50|efficientnet_b0; loss=el|ce (default el); smoke. Needs TFDS `imagenet2012`.

python train.py --config configs/encouraging_loss/imagenet.py:model=efficientnet_b0,loss=el --workdir DIR
"""

import ml_collections

from el_jax.configs import common, losses, variants

MODELS = ("resnet50", "efficientnet_b0")
EFFICIENTNET_EPOCHS = 450
EFFICIENTNET_DECAY_EVERY = 2.4


def _resnet50(config, loss):
  config.loss = losses.loss_config(losses.encouraging_loss_menu(log_end=0.75), loss)
  config.optimizer = ml_collections.ConfigDict(
    {
      "name": "sgd",
      "learning_rate": 0.1,
      "momentum": 0.9,
      "weight_decay": 1e-4,
      "schedule": "multistep",
      "boundaries": (30, 60),
      "decay_factor": 0.1,
    }
  )
  config.batch_size = 256
  config.num_epochs = 90


def _efficientnet_b0(config, loss):
  config.loss = losses.loss_config(losses.encouraging_loss_menu(log_end=0.75, label_smoothing=0.1), loss)
  count = int(EFFICIENTNET_EPOCHS / EFFICIENTNET_DECAY_EVERY)
  config.optimizer = ml_collections.ConfigDict(
    {
      "name": "rmsprop",
      "learning_rate": 0.048,
      "decay": 0.9,
      "eps": 1e-3,
      "momentum": 0.9,
      "eps_in_sqrt": True,
      "initial_scale": 1.0,
      "weight_decay": 1e-5,
      "schedule": "multistep",
      "boundaries": tuple(round(EFFICIENTNET_DECAY_EVERY * k, 6) for k in range(1, count + 1)),
      "decay_factor": 0.97,
      "warmup_epochs": 3,
      "warmup": "linear",
    }
  )
  config.batch_size = 384
  config.num_epochs = EFFICIENTNET_EPOCHS


def get_config(arg=None):
  args = common.parse_arg(arg, model="resnet50", loss="el", smoke=False)
  config = common.base_config()
  config.dataset.name = "imagenet"
  config.dataset.eval_split = "validation"
  config.dataset.augmentation = "imagenet"
  config.dataset.image_size = 224
  config.model.name = variants.choose("model", args.model, MODELS)
  {"resnet50": _resnet50, "efficientnet_b0": _efficientnet_b0}[args.model](config, args.loss)
  config.eval_batch_size = 500
  if args.smoke:
    common.one_step_on_stand_in(config, "imagenet", eval_split="validation")
  return config
