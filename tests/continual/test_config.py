import itertools

import pytest
from flax import nnx

from el_jax import losses, models
from el_jax.configs.hem import continual as continual_config
from el_jax.continual import strategies


@pytest.mark.parametrize(
  ("task", "strategy"), list(itertools.product(continual_config.TASKS, continual_config.STRATEGIES))
)
def test_every_variant_builds_with_a_continual_section(task, strategy):
  for loss in continual_config.LOSSES:
    config = continual_config.get_config(f"task={task},strategy={strategy},loss={loss}")
    assert config.continual.strategy == strategy and config.continual.num_tasks == 5
    assert strategy in config.continual and config.continual.max_steps_per_episode is None
    assert config.loss.name in losses.names()
    family = "cifar" if "cifar" in task else "mnist"
    assert config.dataset.name == {"permuted_mnist": "tfds:mnist", "split_mnist": "tfds:mnist"}.get(
      task, f"tfds:{task.removeprefix('split_')}"
    )
    assert config.model.name == ("resnet18" if family == "cifar" else "mlp")
    assert config.continual.scenario == ("permuted" if task == "permuted_mnist" else "split")
  if "mnist" in task:
    assert continual_config.get_config(f"task={task},strategy={strategy},data=mnist_digits").dataset.name == (
      "mnist_digits"
    )


def test_recipes_follow_the_baselines_and_the_tenfold_cifar_epochs():
  ewc = continual_config.get_config("task=permuted_mnist,strategy=ewc")
  assert (ewc.model.depth, ewc.model.width, ewc.batch_size, ewc.num_epochs) == (1, 512, 256, 10)
  assert (ewc.optimizer.name, ewc.optimizer.learning_rate, ewc.continual.ewc.strength) == ("sgd", 1e-3, 1.0)
  assert continual_config.get_config("task=split_cifar10,strategy=ewc").num_epochs == 100
  si_split = continual_config.get_config("task=split_mnist,strategy=si")
  si_permuted = continual_config.get_config("task=permuted_mnist,strategy=si")
  assert (si_split.model.depth, si_split.model.width, si_split.batch_size) == (2, 256, 64)
  assert (si_permuted.model.width, si_permuted.batch_size) == (1000, 256)
  assert si_split.continual.si.strength == 0.5 and si_permuted.continual.si.strength == 5.0  # si_lambda / 2
  replay = continual_config.get_config("task=split_cifar100,strategy=replay")
  assert replay.num_epochs == 200 and list(replay.optimizer.boundaries) == [66, 132, 198]
  assert (replay.optimizer.momentum, replay.optimizer.weight_decay, replay.optimizer.decay_factor) == (0.9, 2e-4, 0.3)
  assert (replay.continual.replay.memory_size, replay.continual.replay.memory_batch_size) == (2000, 128)
  assert continual_config.get_config("task=split_mnist,strategy=replay").num_epochs == 20
  lwf = continual_config.get_config("task=split_mnist,strategy=lwf")
  assert lwf.num_epochs == 21 and list(lwf.continual.lwf.alpha) == [0.0, 0.5, 1.33333, 2.25, 3.2]
  assert lwf.continual.lwf.temperature == 2.0 and lwf.continual.lwf.scale_task_loss
  lfl = continual_config.get_config("task=permuted_mnist,strategy=lfl")
  assert (lfl.num_epochs, lfl.optimizer.learning_rate, lfl.continual.lfl.strength) == (3, 0.01, 1e-4)
  loss = continual_config.get_config("loss=hem").loss.to_dict()
  assert {k: v for k, v in loss.items() if v is not None} == {"name": "hem_loss", "margin": "hem"}  # M unset: 2000


def test_models_have_the_sizes_of_the_papers():
  def size(name, input_shape, **kwargs):
    return models.count_params(
      nnx.eval_shape(lambda: models.create(name, num_classes=10, input_shape=input_shape, **kwargs))
    )

  assert size("resnet18", (32, 32, 3)) == 11_173_962  # HEM Table 2, ResNet-18 on CIFAR-10
  config = continual_config.get_config("task=permuted_mnist,strategy=ewc")
  mlp = size("mlp", (28, 28, 1), depth=config.model.depth, width=config.model.width)
  assert mlp == 784 * 512 + 512 + 512 * 10 + 10


@pytest.mark.parametrize(
  ("arg", "message"),
  [
    ("task=split_svhn", "Unknown task='split_svhn'"),
    ("strategy=gem", "Unknown strategy='gem'"),
    ("loss=logit_adjusted", "Unknown loss='logit_adjusted'"),
    ("task=split_cifar10,data=mnist_digits", "Unknown data='mnist_digits'"),
    ("epochs=3", "Unknown config argument 'epochs'"),
  ],
)
def test_bad_arguments_name_the_problem(arg, message):
  with pytest.raises(ValueError, match=message):
    continual_config.get_config(arg)


def test_the_config_offers_the_registered_strategies():
  assert sorted(continual_config.STRATEGIES) == sorted(strategies.names())
