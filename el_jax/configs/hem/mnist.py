"""HEM, MNIST (HEM paper §5.1, Figures 1-3; appendix A.1): LeNet, ConvNet and a 3x200 MLP trained with CE, LogitNorm,
logit-adjusted, DICE, multi-class margin, HEM and HEM+ losses.

Setting (A.1.4): Adam, fixed learning rate 1e-3, batch 128, 20 epochs, no augmentation, pixels scaled to [0, 1].
Parameters (Table 2): LeNet 20,194 (el_jax's 20,192, see el_jax/models/lenet.py), ConvNet 30,954, MLP 239,410.
Paper result (averaged over the 15 data-set/architecture conditions, figures only): CE and HEM reach similar clean
and corruption accuracy (CE about 1 point higher on average); HEM rejects unknown classes and AutoAttack samples
better than CE in 14 of the 15 conditions. OOD sets for MNIST include Fashion-MNIST and four synthetic sets.

Arguments: model=lenet|convnet|mlp (default convnet); loss=ce|logit_norm|logit_adjusted|dice|mm|hem|hem_plus|
hem_plus_label (default hem); data=mnist (TFDS, the paper's 60K) or mnist_digits (5,000 offline digits); smoke.

python train.py --config configs/hem/mnist.py:model=lenet,loss=hem --workdir DIR
"""

from el_jax.configs import common, variants
from el_jax.configs.hem import recipes

MODELS = ("lenet", "convnet", "mlp")
DATA = {"mnist": "tfds:mnist", "mnist_digits": "mnist_digits"}


def get_config(arg=None):
  args = common.parse_arg(arg, model="convnet", loss="hem", data="mnist", smoke=False)
  config = recipes.base(args, dataset=variants.choose("data", args.data, DATA), models=MODELS, augmentation="none")
  config.optimizer.name = "adam"
  config.optimizer.learning_rate = 1e-3
  config.optimizer.schedule = "constant"
  config.batch_size = 128
  config.num_epochs = 20
  if args.smoke:
    common.shrink_mnist_for_smoke_test(config)
  return config
