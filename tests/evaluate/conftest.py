"""A briefly trained workdir on the tiny synthetic Fashion-MNIST, shared by the end-to-end evaluation tests."""

import pytest

from configs import quickstart
from el_jax import train


def tiny_config(loss_name="encouraging_loss"):
  config = quickstart.get_config("smoke")
  config.dataset.train_subset = 256
  config.dataset.eval_subset = 250
  config.batch_size = 32
  config.eval_batch_size = 100
  config.num_epochs = 2
  if loss_name != "encouraging_loss":
    config.loss = {"name": loss_name}
  return config


@pytest.fixture(scope="module")
def trained_workdirs(fake_fashion_mnist_dir, tmp_path_factory):
  """Two briefly trained runs (EL with LE = 0.75 and CE) on the synthetic Fashion-MNIST."""
  with pytest.MonkeyPatch.context() as patch:
    patch.setenv("EL_JAX_DATA_DIR", str(fake_fashion_mnist_dir))
    root = tmp_path_factory.mktemp("runs")
    workdirs = {}
    for loss in ("encouraging_loss", "cross_entropy"):
      workdirs[loss] = str(root / loss)
      train.train_and_evaluate(tiny_config(loss), workdirs[loss])
    yield workdirs
