"""CE + expectation-loss mixing, Women's Clothing E-Commerce Reviews (mixing paper, "LSTM multi-class classification",
Table 3): five LSTM classifiers predicting a review's 1-5 rating from its text, trained with CE and the three focus
schedules F=0, F=0,0.5 and F=0-0.5.

Setting: token embedding in R^E_d, one or two LSTM layers of H_d cells, a linear projection of the LSTM output at the
end of the sequence. Architectures (`arch=`): 1: one layer, H_d = E_d = 50; 2: one layer, 75; 3: one layer, 100;
4: two layers, 50; 5: two layers, 100. The paper states neither the optimiser, batch size, number of epochs nor the
train/test split; this config uses Adam (lr 1e-3), batch 64, 10 epochs, a 10,000-word vocabulary built on the training
split and a seeded 80/20 split of the 22,641 reviews that have a text (`el_jax.data.text`; options `seed`,
`test_fraction`). Sequences are padded to the longest review of the file (option `max_length`).
Paper results (accuracy %, mean of 8 seeds; CE / F=0 / F=0,0.5 / F=0-0.5):
  arch 1: 61.08 / 60.81 / 60.95 / 61.57          arch 4: 63.26 / 63.20 / 63.20 / 63.46
  arch 2: 60.46 / 61.52 / 61.52 / 61.36          arch 5: 63.14 / 63.79 / 63.79 / 63.77
  arch 3: 60.07 / 61.12 / 61.12 / 61.27

Arguments: arch=1..5 (default 1); loss=ce|f0|f0_05|f0_to_05 (default f0_to_05); smoke (a few steps on the synthetic
stand-in `synthetic:text:reviews`). Needs `Womens Clothing E-Commerce Reviews.csv` (Kaggle:
nicapotato/womens-ecommerce-clothing-reviews) in the folder given as `--config.dataset.options.data_dir`.

python train.py --config configs/expectation_mixing/reviews.py:arch=1,loss=f0_to_05 --workdir DIR \
  --config.dataset.options.data_dir=/data/reviews
"""

import ml_collections
from ml_collections import config_dict

from el_jax.configs import common, losses, variants

# arch -> (LSTM layers, H_d = E_d)
ARCHITECTURES = {"1": (1, 50), "2": (1, 75), "3": (1, 100), "4": (2, 50), "5": (2, 100)}
VOCAB_SIZE = 10_000  # word ids, padding (0) and out-of-vocabulary (1) included


def get_config(arg=None):
  args = common.parse_arg(arg, arch="1", loss="f0_to_05", smoke=False)
  num_layers, width = variants.choose("arch", args.arch, ARCHITECTURES)
  config = common.base_config()
  vocab_size = config_dict.FieldReference(VOCAB_SIZE)  # shared: overriding either one changes both
  config.dataset.name = "text:reviews"
  config.dataset.normalize = False
  config.dataset.options = ml_collections.ConfigDict(
    {
      "data_dir": config_dict.placeholder(str),
      "max_length": config_dict.placeholder(int),  # None: the longest review
      "vocab_size": vocab_size,
      "test_fraction": 0.2,
      "seed": 0,
    }
  )
  config.model = ml_collections.ConfigDict(
    {"name": "lstm", "vocab_size": vocab_size, "embed_dim": width, "hidden_dim": width, "num_layers": num_layers}
  )
  config.loss = losses.loss_config(losses.MIXING, args.loss)

  config.optimizer.name = "adam"
  config.optimizer.learning_rate = 1e-3
  config.optimizer.schedule = "constant"
  config.batch_size = 64
  config.eval_batch_size = 500
  config.num_epochs = 10
  config.log_every_steps = 50
  if args.smoke:
    common.shrink_to_a_few_steps(config, batch_size=32, steps=4, eval_examples=64)
    config.dataset.name = "synthetic:text:reviews"
    config.dataset.options = ml_collections.ConfigDict()
  return config
