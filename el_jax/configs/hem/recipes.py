"""Training recipes the HEM experiments share (HEM paper appendix A.1.4 and A.2.4)."""

import ml_collections

from el_jax.configs import common, losses, variants


def base(args, *, dataset: str, models, augmentation: str) -> ml_collections.ConfigDict:
  """Dataset, model and loss from the config argument; pixels scaled to [0, 1] without standardisation (A.1.1)."""
  config = common.base_config()
  config.dataset.name = dataset
  config.dataset.augmentation = augmentation
  config.dataset.normalize = False
  config.model.name = variants.choose("model", args.model, models)
  config.loss = losses.loss_config(losses.HEM, args.loss)
  return config


def sgd(
  config,
  *,
  learning_rate: float,
  boundaries: tuple,
  decay_factor: float,
  weight_decay: float,
  num_epochs: int,
  batch_size: int = 128,
) -> ml_collections.ConfigDict:
  """SGD with momentum 0.9 and a step schedule."""
  config.optimizer.name = "sgd"
  config.optimizer.learning_rate = learning_rate
  config.optimizer.momentum = 0.9
  config.optimizer.weight_decay = weight_decay
  config.optimizer.schedule = "multistep"
  config.optimizer.boundaries = boundaries
  config.optimizer.decay_factor = decay_factor
  config.batch_size = batch_size
  config.num_epochs = num_epochs
  return config


# CIFAR-10/100 (A.1.4, from Pang et al., 2021): 110 epochs, x0.1 at 100 and 105; MobileNets start at lr 0.02.
CIFAR = {"boundaries": (100, 105), "decay_factor": 0.1, "weight_decay": 5e-4, "num_epochs": 110}
CIFAR_LEARNING_RATE = 0.1
MOBILENET_LEARNING_RATE = 0.02


def cifar_learning_rate(model: str) -> float:
  return MOBILENET_LEARNING_RATE if model.startswith("mobilenet") else CIFAR_LEARNING_RATE
