"""Pieces every config shares: the base config and the parsing of the config argument.

A config file defines `get_config(arg: str | None = None) -> ConfigDict`; `arg` is what follows the colon in
`--config configs/x.py:arg`, a comma-separated list of `key=value` or bare flags (e.g. `smoke`, `model=mlp`).
"""

import ml_collections
from ml_collections import config_dict


def parse_arg(arg: str | None, **defaults):
  """Parses `"a=1,b,c=x"` against `defaults` (which fix the allowed keys and their types).

  A bare key sets a bool to True. Raises a ValueError naming an unknown key and listing the valid ones.
  """
  values = dict(defaults)
  for item in filter(None, (arg or "").split(",")):
    key, _, raw = item.partition("=")
    if key not in defaults:
      raise ValueError(f"Unknown config argument {key!r}. Valid: {', '.join(sorted(defaults))}.")
    default = defaults[key]
    if isinstance(default, bool):
      values[key] = raw.lower() in ("", "1", "true", "yes")
    elif default is None or isinstance(default, str):
      values[key] = raw
    else:
      values[key] = type(default)(raw)
  return ml_collections.ConfigDict(values)


def base_config() -> ml_collections.ConfigDict:
  """Defaults shared by every experiment; a config file overrides what its experiment sets."""
  config = ml_collections.ConfigDict()
  config.seed = 0

  config.dataset = ml_collections.ConfigDict()
  config.dataset.name = "fashion_mnist"
  config.dataset.train_split = "train"
  config.dataset.eval_split = "test"
  config.dataset.train_subset = config_dict.placeholder(int)  # first N training examples; None: all
  config.dataset.train_per_class = config_dict.placeholder(int)  # then the first N of each class; None: all
  config.dataset.eval_subset = config_dict.placeholder(int)
  config.dataset.normalize = True  # standardise pixels with the training split's per-channel mean and std
  # Passed to el_jax.data.load when set: e.g. --config.dataset.options.data_dir=/data/tfds for the TFDS sets.
  config.dataset.options = ml_collections.ConfigDict({"data_dir": config_dict.placeholder(str)})
  config.dataset.augmentation = "none"  # el_jax.data.transforms.augmentation: "none" | "cifar" | "imagenet"
  config.dataset.image_size = config_dict.placeholder(int)  # crop/resize size for variable-size images
  config.dataset.long_tail_ratio = config_dict.placeholder(float)  # largest/smallest class count; None: balanced

  config.model = ml_collections.ConfigDict({"name": "lenet"})
  config.loss = ml_collections.ConfigDict({"name": "cross_entropy"})

  config.optimizer = ml_collections.ConfigDict()
  config.optimizer.name = "adam"
  config.optimizer.learning_rate = 1e-3
  config.optimizer.schedule = "constant"

  config.batch_size = 128  # global, over all devices and processes
  config.eval_batch_size = 1000
  config.num_epochs = 20
  config.log_every_steps = 100
  config.checkpoint_every_steps = 0  # 0: at the end of every epoch only
  config.checkpoint_keep = 2
  config.early_stopping_patience = config_dict.placeholder(int)  # epochs without a better eval metric; None: off
  config.early_stopping_metric = config_dict.placeholder(str)  # "loss" (lower is better; None) or "accuracy"
  # Evaluators after every N epochs, {name: {"every_epochs": N, **options}} (el_jax.evaluate.during_training), e.g.
  # --config.evals='{"ood": {"every_epochs": 1, "ood_count": 1000}}'; empty: none.
  config.evals = ml_collections.ConfigDict()
  # Where metrics go (el_jax.train.metrics_log.WRITERS): "jsonl" (metrics.jsonl, the run's own record: always),
  # "tensorboard", "wandb" (Weights & Biases, the `wandb` extra; offline unless wandb.mode="online").
  config.writers = ("jsonl", "tensorboard")
  config.wandb = ml_collections.ConfigDict()
  config.wandb.project = "el_jax"
  config.wandb.entity = config_dict.placeholder(str)  # None: the W&B account's default
  config.wandb.mode = "offline"  # "offline": nothing leaves the machine (`wandb sync` uploads later), or "online"
  config.wandb.tags = ()

  # Devices: `data` x `fsdp` mesh (data=-1 uses every device); activations and matmuls in compute_dtype.
  config.mesh = ml_collections.ConfigDict({"data": -1, "fsdp": 1, "fsdp_min_size": 2**14})
  config.compute_dtype = "float32"  # or "bfloat16"

  # Adversarial training (el_jax.train.adversarial), off while `attack` is None; e.g. Madry's PGD-AT with
  # --config.adversarial.attack=pgd --config.adversarial.eps=0.1 --config.adversarial.steps=3
  # --config.adversarial.step_size=0.0833. Every entry None by default, so a config without the section resumes as one
  # with it (checkpoint.check_resumable matches an absent entry with None).
  config.adversarial = ml_collections.ConfigDict(
    {
      "attack": config_dict.placeholder(str),  # "pgd" | "fgsm"
      "norm": config_dict.placeholder(str),  # "linf" (None) | "l2"
      "eps": config_dict.placeholder(float),  # radius in [0, 1] pixel space
      "steps": config_dict.placeholder(int),  # pgd only
      "step_size": config_dict.placeholder(float),  # pgd only
      "random_start": config_dict.placeholder(bool),  # pgd only; None: True
      "ratio": config_dict.placeholder(float),  # fraction of each batch made adversarial; None: 1
      "attack_mode": config_dict.placeholder(str),  # model mode crafting the attack: "eval" (None) | "train"
    }
  )
  return config


def shrink_for_smoke_test(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """A run of at most a few hundred steps on a data subset, to check that a config trains end to end."""
  config.dataset.train_subset = 2048
  config.dataset.eval_subset = 500
  config.batch_size = min(config.batch_size, 64)
  config.eval_batch_size = 200
  config.num_epochs = 2
  config.log_every_steps = 8
  return config


def shrink_to_a_few_steps(
  config: ml_collections.ConfigDict, *, batch_size: int = 4, steps: int = 2, eval_examples: int = 8
) -> ml_collections.ConfigDict:
  """A smoke run of one epoch of `steps` steps of `batch_size` examples, evaluated on `eval_examples` examples.

  For models too large for `shrink_for_smoke_test`'s few hundred steps on a CPU (224x224 inputs, wide networks).
  """
  config.dataset.train_subset = batch_size * steps
  config.dataset.eval_subset = eval_examples
  config.batch_size = batch_size
  config.eval_batch_size = min(eval_examples, 200)
  config.num_epochs = 1
  config.log_every_steps = 1
  return config


def use_stand_in(
  config: ml_collections.ConfigDict, name: str, *, train_split: str = "train", eval_split: str = "test"
) -> ml_collections.ConfigDict:
  """Replaces a dataset that needs a download (TFDS) by `synthetic:<name>`, of the same shapes and classes."""
  config.dataset.name = f"synthetic:{name}"
  config.dataset.train_split = train_split
  config.dataset.eval_split = eval_split
  config.dataset.options = ml_collections.ConfigDict()
  return config


def one_step_on_stand_in(
  config: ml_collections.ConfigDict, name: str, *, eval_split: str = "test"
) -> ml_collections.ConfigDict:
  """The smoke run of a large-input config: one step of two images of `synthetic:<name>`, evaluated on two."""
  shrink_to_a_few_steps(config, batch_size=2, steps=1, eval_examples=2)
  return use_stand_in(config, name, eval_split=eval_split)


def shrink_mnist_for_smoke_test(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """A few steps on MNIST: the TFDS set (`tfds:mnist`) is replaced by its synthetic stand-in; the offline digits
  (`mnist_digits`, in a shuffled order) are cut to their first 512 training and 500 test digits."""
  if config.dataset.name.startswith("tfds:"):
    shrink_to_a_few_steps(config, batch_size=32, steps=3, eval_examples=64)
    use_stand_in(config, "mnist")
  else:
    shrink_to_a_few_steps(config, batch_size=64, steps=8, eval_examples=500)
  return config
