"""HEM, continual learning (HEM paper §5.3, Figure 7; appendix A.3): Permuted MNIST, Split MNIST, Split CIFAR-10 and
Split CIFAR-100, five training episodes each, learnt with CE, LogitNorm, DICE, multi-class margin or HEM loss combined
with one of five strategies against forgetting: Replay, SI, EWC, LFL, LwF.

Setting (A.3): the recipes of the continual-learning-baselines repository (Avalanche), one per strategy, with MLPs
for MNIST and ResNet-18 (el_jax's `resnet18`, CIFAR stem: 11,173,962 parameters on CIFAR-10, HEM Table 2) for
CIFAR; a recipe written for MNIST runs for 10x its epochs on CIFAR and the Replay recipe (written for CIFAR-100) for
1/10 of its epochs on MNIST. Episodes: Split-X deals the classes, in a seeded random order, into five groups
(class-incremental, one head over all classes); Permuted MNIST gives each episode all ten classes under its own
seeded pixel permutation (domain-incremental). Every episode restarts the optimiser; after the last one the model is
scored on the test sets of all five episodes. Recipes (baselines file -> settings):

  replay  split_cifar100/replay.py: SGD lr 0.1, momentum 0.9, weight decay 2e-4, batch 128 (+128 from the memory),
          200 epochs (MNIST 20), lr x0.3 every third of them; class-balanced memory of 2,000 examples
  ewc     permuted_mnist/ewc.py: MLP 784-512-10, SGD lr 1e-3, batch 256, 10 epochs, lambda 1
  si      permuted_mnist/synaptic_intelligence.py: MLP 784-1000-10, Adam 1e-3, batch 256, 10 epochs, si_lambda 10;
          split_mnist/synaptic_intelligence.py (Split tasks): MLP 784-256-256-10, Adam 1e-3, batch 64, 10 epochs,
          si_lambda 1; both xi 0.1 (c = si_lambda / 2, importance clipped at 0.001 as Avalanche does)
  lfl     permuted_mnist/lfl.py: MLP 784-256-10, SGD lr 0.01, batch 128, 3 epochs, lambda_e 1e-4
  lwf     split_mnist/lwf.py: MLP 784-200-10, SGD lr 1e-3, batch 128, 21 epochs, T 2, alpha 0, 0.5, 1.33, 2.25, 3.2
          per episode, the loss of episode t weighted 1/(t+1)
Deviations: el_jax's MLP uses ReLU (the LwF recipe's MLP uses tanh) and has all output units from the start (the
LwF recipe grows them as classes arrive); the CIFAR recipes use ResNet-18 throughout, as the paper says.

Paper result (Figure 7, figures only; five trials): HEM reaches higher accuracy than CE after the five episodes in
most task/strategy conditions and on average over tasks and strategies; LogitNorm and DICE do very poorly; LFL was
reported for Permuted MNIST and LwF for the other tasks.

Arguments: task=permuted_mnist|split_mnist|split_cifar10|split_cifar100 (default split_mnist);
strategy=replay|si|ewc|lfl|lwf (default replay); loss=ce|logit_norm|dice|mm|hem (default hem);
data=tfds:mnist|tfds:cifar10|tfds:cifar100 (default: the task's) or mnist_digits (5,000 offline digits, MNIST tasks);
seed (default 0; draws the class order or permutations, the memory and the initialisation); smoke.

python train.py --config configs/hem/continual.py:task=split_mnist,strategy=lwf,loss=hem --workdir DIR
"""

import ml_collections
from ml_collections import config_dict

from el_jax.configs import common, losses, variants

TASKS = {  # task -> (scenario, TFDS dataset, MNIST or CIFAR recipe family)
  "permuted_mnist": ("permuted", "tfds:mnist", "mnist"),
  "split_mnist": ("split", "tfds:mnist", "mnist"),
  "split_cifar10": ("split", "tfds:cifar10", "cifar"),
  "split_cifar100": ("split", "tfds:cifar100", "cifar"),
}
STRATEGIES = ("replay", "si", "ewc", "lfl", "lwf")
LOSSES = ("ce", "logit_norm", "dice", "mm", "hem")
NUM_TASKS = 5
CIFAR_EPOCH_FACTOR = 10

# The baselines' recipes on MNIST: model (MLP depth, width), optimiser, batch size, epochs, strategy settings.
_MNIST_RECIPES = {
  "replay": {
    "mlp": (2, 256),
    "optimizer": {"name": "sgd", "learning_rate": 0.1, "momentum": 0.9, "weight_decay": 2e-4},
    "batch_size": 128,
    "num_epochs": 20,
    "step_decay": 0.3,  # x0.3 every num_epochs // 3 epochs (StepLR)
    "settings": {"memory_size": 2000, "memory_batch_size": 128},
  },
  "ewc": {
    "mlp": (1, 512),
    "optimizer": {"name": "sgd", "learning_rate": 1e-3},
    "batch_size": 256,
    "num_epochs": 10,
    "settings": {"strength": 1.0},
  },
  "si": {
    "mlp": (1, 1000),
    "optimizer": {"name": "adam", "learning_rate": 1e-3},
    "batch_size": 256,
    "num_epochs": 10,
    "settings": {"strength": 10 / 2, "damping": 0.1, "max_importance": 1e-3},
  },
  "si_split": {
    "mlp": (2, 256),
    "optimizer": {"name": "adam", "learning_rate": 1e-3},
    "batch_size": 64,
    "num_epochs": 10,
    "settings": {"strength": 1 / 2, "damping": 0.1, "max_importance": 1e-3},
  },
  "lfl": {
    "mlp": (1, 256),
    "optimizer": {"name": "sgd", "learning_rate": 0.01},
    "batch_size": 128,
    "num_epochs": 3,
    "settings": {"strength": 1e-4},
  },
  "lwf": {
    "mlp": (1, 200),
    "optimizer": {"name": "sgd", "learning_rate": 1e-3},
    "batch_size": 128,
    "num_epochs": 21,
    "settings": {"alpha": [0.0, 0.5, 1.33333, 2.25, 3.2], "temperature": 2.0, "scale_task_loss": True},
  },
}


def recipe(task: str, strategy: str) -> dict:
  """The baselines' recipe for `strategy` on `task`, with the epochs of the task's family (see the docstring)."""
  _, _, family = variants.choose("task", task, TASKS)
  variants.choose("strategy", strategy, STRATEGIES)
  key = "si_split" if (strategy == "si" and task == "split_mnist") else strategy
  chosen = dict(_MNIST_RECIPES[key])
  if family == "cifar":
    chosen["num_epochs"] *= CIFAR_EPOCH_FACTOR
    chosen["model"] = {"name": "resnet18"}
  else:
    depth, width = chosen["mlp"]
    chosen["model"] = {"name": "mlp", "depth": depth, "width": width}
  return chosen


def get_config(arg=None):
  args = common.parse_arg(arg, task="split_mnist", strategy="replay", loss="hem", data="", seed=0, smoke=False)
  scenario, tfds_name, family = variants.choose("task", args.task, TASKS)
  chosen = recipe(args.task, args.strategy)
  dataset = args.data or tfds_name
  valid_data = (tfds_name, "mnist_digits") if family == "mnist" else (tfds_name,)
  variants.choose("data", dataset, valid_data)

  config = common.base_config()
  config.seed = args.seed
  config.dataset.name = dataset
  config.dataset.normalize = True  # Avalanche's benchmarks standardise the pixels
  config.dataset.augmentation = "cifar" if family == "cifar" else "none"  # random crop and flip for CIFAR
  config.model = ml_collections.ConfigDict(chosen["model"])
  config.loss = losses.loss_config({k: losses.HEM[k] for k in LOSSES}, args.loss)

  config.optimizer = ml_collections.ConfigDict(chosen["optimizer"])
  config.optimizer.schedule = "constant"
  if "step_decay" in chosen:
    period = chosen["num_epochs"] // 3
    config.optimizer.schedule = "multistep"
    config.optimizer.boundaries = (period, 2 * period, 3 * period)
    config.optimizer.decay_factor = chosen["step_decay"]
  config.batch_size = chosen["batch_size"]
  config.eval_batch_size = 500
  config.num_epochs = chosen["num_epochs"]  # per episode

  config.continual = ml_collections.ConfigDict()
  config.continual.task = args.task
  config.continual.scenario = scenario
  config.continual.num_tasks = NUM_TASKS
  config.continual.class_order = "random"  # drawn from the seed (Avalanche's default for the Split benchmarks)
  config.continual.strategy = args.strategy
  config.continual[args.strategy] = ml_collections.ConfigDict(chosen["settings"])
  config.continual.max_steps_per_episode = config_dict.placeholder(int)
  if args.smoke:
    _shrink(config, family)
  return config


def _shrink(config, family: str) -> None:
  """A few steps per episode on synthetic stand-ins (TFDS sets) or the first offline digits."""
  if config.dataset.name.startswith("tfds:"):
    common.use_stand_in(config, config.dataset.name.removeprefix("tfds:"))
  config.dataset.train_subset = 500
  config.dataset.eval_subset = 100
  config.batch_size = 8 if family == "cifar" else 16
  config.eval_batch_size = 100
  config.log_every_steps = 2
  config.continual.max_steps_per_episode = 2 if family == "cifar" else 3
  if config.continual.strategy == "replay":
    config.continual.replay.memory_size = 40
    config.continual.replay.memory_batch_size = config.batch_size
