"""CE + expectation-loss mixing, UCI tabular classification (mixing paper, "UCI Datasets", Table 4): a linear
classifier and a network with one hidden I x I ReLU layer (I: the number of input features), trained with CE, the
three focus schedules, the expectation loss alone ("EL") and focal loss (gamma 2, alpha 0.25).

Setting: 50 epochs, batch 8, learning rate swept over {0.01, 0.005, 0.001} and chosen on the validation split; the
optimiser is not stated: plain SGD. "We examine [...] the 121 classification datasets of the UCI Machine Learning
repository, to which the train/test splits were provided by the authors of (Klambauer et al. 2017)": those sets are
read with `data=uci121:<name>` from the release's folders (`el_jax.data.uci121`; one folder per set with
`<name>_R.dat`, `conxuntos.dat`, `conxuntos_kfold.dat`) given as `--config.dataset.options.data_dir=DIR`. The paper
does not say how it used the split files; here as Fernández-Delgado et al. made them: `split=validation` trains on
conxuntos.dat's first line and evaluates on its second (the learning-rate sweep), `split=test` trains on fold
`fold=0..3` of conxuntos_kfold.dat and evaluates on its test rows (report the mean over the four folds). The hidden
layer is as wide as the set's input. Offline, the four scikit-learn UCI sets (`data=digits|iris|wine|
breast_cancer`) stand in for them.
Paper results (121 sets; wins / mean accuracy gain over CE / mean rank), linear: CE 33 / 0 / 2.59, F=0 32 / 0.09 /
2.39, F=0,0.5 31 / 0.20 / 2.30, F=0-0.5 48 / 0.30 / 2.12, EL 33 / -2.71 / 3.25, focal 26 / -0.56 / 3.13; one hidden
layer: CE 26 / 0 / 2.70, F=0 30 / 0.12 / 2.62, F=0,0.5 37 / 0.27 / 2.40, F=0-0.5 42 / 0.30 / 2.37,
EL 33 / -4.73 / 3.52, focal 25 / -0.89 / 3.03.

Arguments: data=digits|iris|wine|breast_cancer|uci121:<name> (default digits); model=linear|hidden (default hidden);
lr=0.01|0.005|0.001 (default 0.01); loss=ce|f0|f0_05|f0_to_05|expectation|focal (default f0_to_05);
split=validation|test (the evaluation split; default validation, for the sweep); fold=0|1|2|3 (the fold of
`split=test` with `data=uci121:<name>`; default 0); smoke (with uci121, the stand-in `synthetic:uci121:<name>`).

python train.py --config configs/expectation_mixing/uci.py:data=wine,model=linear,lr=0.005,loss=focal --workdir DIR
python train.py --config configs/expectation_mixing/uci.py:data=uci121:abalone,split=test,fold=2 \
  --config.dataset.options.data_dir=/data/uci121 --workdir DIR
"""

from ml_collections import config_dict

from el_jax.configs import common, losses, variants

# Number of input features of each scikit-learn UCI set.
FEATURES = {"digits": 64, "iris": 4, "wine": 13, "breast_cancer": 30}
MODELS = {"linear": 0, "hidden": 1}  # hidden layers
LEARNING_RATES = ("0.01", "0.005", "0.001")
SPLITS = ("validation", "test")
FOLDS = ("0", "1", "2", "3")
UCI121 = "uci121:"


def get_config(arg=None):
  args = common.parse_arg(
    arg, data="digits", model="hidden", lr="0.01", loss="f0_to_05", split="validation", fold="0", smoke=False
  )
  config = common.base_config()
  split = variants.choose("split", args.split, SPLITS)
  if args.data.startswith(UCI121) and args.data != UCI121:
    fold = variants.choose("fold", args.fold, FOLDS)
    config.dataset.name = f"synthetic:{args.data}" if args.smoke else args.data
    splits = ("train", "validation") if split == "validation" else (f"fold{fold}_train", f"fold{fold}_test")
    config.dataset.train_split, config.dataset.eval_split = splits
    if not args.smoke:
      config.dataset.options = {"data_dir": config_dict.placeholder(str)}
    features = None  # the hidden layer as wide as the set's input
  else:
    if args.data not in FEATURES:
      valid = ", ".join([*FEATURES, f"{UCI121}<name>"])
      raise ValueError(f"Unknown data={args.data!r} in the config argument. Valid: {valid}.")
    features = FEATURES[args.data]
    config.dataset.name = f"uci_{args.data}"
    config.dataset.eval_split = split
  config.dataset.normalize = False  # the UCI sources standardise their features
  config.model.name = "mlp"
  config.model.depth = variants.choose("model", args.model, MODELS)
  config.model.width = config_dict.FieldReference(features, field_type=int)
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
