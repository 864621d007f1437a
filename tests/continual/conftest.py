import pytest


@pytest.fixture
def tiny_config():
  """A two-episode Split MNIST run on the offline digits, a few steps per episode."""
  from el_jax.configs.hem import continual

  def make(strategy: str, **overrides):
    config = continual.get_config(f"task=split_mnist,strategy={strategy},data=mnist_digits,loss=ce,smoke")
    config.continual.num_tasks = 2
    config.dataset.train_subset = 400
    config.dataset.eval_subset = 200
    config.model.width = 32
    for key, value in overrides.items():
      config.continual[strategy][key] = value
    return config

  return make
