"""CE + expectation-loss mixing, UCI tabular classification (mixing paper, "UCI Datasets", Table 4): a linear
classifier and a network with one hidden I x I ReLU layer (I: the number of input features), trained with CE, the
three focus schedules, the expectation loss alone ("EL") and focal loss (gamma 2, alpha 0.25).

Setting: 50 epochs, batch 8, learning rate swept over {0.01, 0.005, 0.001} and chosen on the validation split; the
optimiser is not stated: plain SGD. The paper's 121 sets (Klambauer et al.'s splits) are not bundled; the four
scikit-learn UCI sets stand in for them.
Paper results (121 sets; wins / mean accuracy gain over CE / mean rank), linear: CE 33 / 0 / 2.59, F=0 32 / 0.09 /
2.39, F=0,0.5 31 / 0.20 / 2.30, F=0-0.5 48 / 0.30 / 2.12, EL 33 / -2.71 / 3.25, focal 26 / -0.56 / 3.13; one hidden
layer: CE 26 / 0 / 2.70, F=0 30 / 0.12 / 2.62, F=0,0.5 37 / 0.27 / 2.40, F=0-0.5 42 / 0.30 / 2.37,
EL 33 / -4.73 / 3.52, focal 25 / -0.89 / 3.03.

Arguments: data=digits|iris|wine|breast_cancer (default digits); model=linear|hidden (default hidden);
lr=0.01|0.005|0.001 (default 0.01); loss=ce|f0|f0_05|f0_to_05|expectation|focal (default f0_to_05);
split=validation|test (the evaluation split; default validation, for the sweep); smoke.

python train.py --config configs/expectation_mixing/uci.py:data=wine,model=linear,lr=0.005,loss=focal --workdir DIR
"""

from el_jax.configs import common, losses, variants

# Number of input features of each scikit-learn UCI set.
FEATURES = {"digits": 64, "iris": 4, "wine": 13, "breast_cancer": 30}
MODELS = {"linear": 0, "hidden": 1}  # hidden layers
LEARNING_RATES = ("0.01", "0.005", "0.001")
SPLITS = ("validation", "test")


def get_config(arg=None):
  args = common.parse_arg(
    arg, data="digits", model="hidden", lr="0.01", loss="f0_to_05", split="validation", smoke=False
  )
  config = common.base_config()
  features = variants.choose("data", args.data, FEATURES)
  config.dataset.name = f"uci_{args.data}"
  config.dataset.eval_split = variants.choose("split", args.split, SPLITS)
  config.dataset.normalize = False  # the UCI sources standardise their features
  config.model.name = "mlp"
  config.model.depth = variants.choose("model", args.model, MODELS)
  config.model.width = features
  config.loss = losses.loss_config(losses.MIXING_UCI, args.loss)

  config.optimizer.name = "sgd"
  config.optimizer.learning_rate = float(variants.choose("lr", args.lr, LEARNING_RATES))
  config.optimizer.schedule = "constant"
  config.batch_size = 8
  config.eval_batch_size = 200
  config.num_epochs = 50
  config.log_every_steps = 50
  if args.smoke:
    config.num_epochs = 2
  return config
