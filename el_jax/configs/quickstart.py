"""Quickstart: LeNet on Fashion-MNIST with Encouraging Loss (conservative bonus, LE = 0.75), Adam 1e-3, batch 128.

python train.py --config configs/quickstart.py --workdir runs/quickstart
python train.py --config configs/quickstart.py:smoke --workdir /tmp/smoke   # a few dozen steps
"""

from el_jax.configs import common


def get_config(arg=None):
  args = common.parse_arg(arg, smoke=False)
  config = common.base_config()
  config.model.name = "lenet"
  config.loss.name = "encouraging_loss"
  config.loss.log_end = 0.75
  config.optimizer.name = "adam"
  config.optimizer.learning_rate = 1e-3
  config.batch_size = 128
  config.num_epochs = 10
  if args.smoke:
    common.shrink_for_smoke_test(config)
  return config
