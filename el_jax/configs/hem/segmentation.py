"""HEM, semantic segmentation (HEM paper §5.4, Figure 8; appendix A.4): FPN (Kirillov et al., 2019) with a ResNet-34,
EfficientNet-B4, DenseNet-201 or ResNeXt-50 encoder, on CamVid, Cityscapes and SBD, trained with CE, LogitNorm,
logit-adjusted, DICE, multi-class margin, HEM and HEM+ losses; scored by the mean IoU (A.4.2) over five trials
(`--config.seed`).

Setting, as A.4.4 gives it: "SGD with momentum of 0.9 was used with a fixed learning rate of 0.1 and a batch size of
12" (after SegNet's CamVid set-up, Badrinarayanan et al. 2017); "a fixed number of training epochs was used, rather
than selecting the best checkpoint": "100 epochs was used for CamVid and 50 epochs were used for the other two,
larger, data-sets. For the larger data-sets we reduced the batch size to four"; "For the SBD data-set, CE loss failed
to learn when using a learning rate of 0.1 ... A learning rate of 0.05 was found to work best with CE loss, so this
learning rate was used in all experiments with all losses and the SBD data-set."

  data        lr     batch  epochs  crop (train)   evaluated on
  camvid      0.1    12     100     320 x 320      test (233 images), padded to 384 x 480
  cityscapes  0.1    4      50      512 x 1024     val (500; the test labels are not public), 1024 x 2048
  sbd         0.05   4      50      320 x 320      val (2857), padded to 512 x 512

Where the paper is silent (choices of this file):
- crops and evaluation sizes: `el_jax.data.segmentation.CROP_SIZES` / `EVAL_SIZES` (CamVid's follow the example of
  segmentation_models.pytorch, the library the paper trains with; random crops with a horizontal flip,
  `dataset.augmentation = "segmentation"`); ignored pixels (CamVid's void, Cityscapes' ids without a train id, SBD's
  255, and the padding) count in neither the loss nor the IoU;
- weight decay 0: A.4.4 names none, and SegNet's recipe, which it follows, gives only the learning rate and momentum;
- pixels in [0, 1] without standardisation, as every HEM config (A.1.1); `--config.dataset.normalize` has no
  statistics for these sets;
- the evaluation batch is the training batch (full images are larger than the crops);
- the encoders' initialisation is the FPN models' own (`el_jax.models`); the paper does not say whether its encoders
  started from ImageNet weights (segmentation_models.pytorch's default);
- a "sample" of the loss hyper-parameters is a pixel: LA's class counts and HEM+'s per-class margins
  sqrt(2000 / (K s_k)) use the training set's labelled pixels per class (`el_jax.data.class_counts`), and HEM's margin
  sqrt(2000 / N) the number N of labelled training pixels, which makes it small (about 0.006 on CamVid);
  `--config.loss.margin=0.2` (or `--config.loss.M=...`) sets another.
Paper result (Figure 8, mean IoU, figures only): HEM+ is the best loss on average over the data sets and encoders;
CE beats HEM+ for some encoders on CamVid, HEM+ beats CE with all four on Cityscapes and SBD; LN and LA are far
worse; DICE is about as good as CE and HEM.

Arguments: data=camvid|cityscapes|sbd (default camvid); encoder=resnet34|efficientnet_b4|densenet201|resnext50_32x4d
(default resnet34; the model is `fpn_<encoder>`); loss=ce|logit_norm|logit_adjusted|dice|mm|hem|hem_plus|
hem_plus_label (default hem_plus); smoke (one step on a few 64 x 64 crops of the `synthetic:segmentation:<data>`
stand-in, evaluated on two whole images). Needs the release folder of the set,
`--config.dataset.options.data_dir=DIR` (see `el_jax.data.segmentation`).

python train.py --config configs/hem/segmentation.py:data=cityscapes,encoder=resnext50_32x4d,loss=hem_plus \
  --config.dataset.options.data_dir=DIR --workdir DIR
python evaluate.py --workdir DIR   # mean IoU, per-class IoU and pixel accuracy (the segmentation evaluator)
"""

from el_jax.configs import common, losses, variants
from el_jax.data import segmentation

ENCODERS = ("resnet34", "efficientnet_b4", "densenet201", "resnext50_32x4d")
# A.4.4, per data set: learning rate, batch size, epochs; and the split evaluated (CamVid alone has a labelled test
# split).
SETTINGS = {
  "camvid": {"learning_rate": 0.1, "batch_size": 12, "num_epochs": 100, "eval_split": "test"},
  "cityscapes": {"learning_rate": 0.1, "batch_size": 4, "num_epochs": 50, "eval_split": "val"},
  "sbd": {"learning_rate": 0.05, "batch_size": 4, "num_epochs": 50, "eval_split": "val"},
}


def get_config(arg=None):
  args = common.parse_arg(arg, data="camvid", encoder="resnet34", loss="hem_plus", smoke=False)
  settings = variants.choose("data", args.data, SETTINGS)
  config = common.base_config()
  config.dataset.name = f"segmentation:{args.data}"
  config.dataset.eval_split = settings["eval_split"]
  config.dataset.augmentation = "segmentation"
  config.dataset.crop_size = segmentation.CROP_SIZES[args.data]
  config.dataset.eval_size = segmentation.EVAL_SIZES[args.data]
  config.dataset.normalize = False
  config.model.name = f"fpn_{variants.choose('encoder', args.encoder, ENCODERS)}"
  config.loss = losses.loss_config(losses.HEM, args.loss)
  config.optimizer.name = "sgd"
  config.optimizer.learning_rate = settings["learning_rate"]
  config.optimizer.momentum = 0.9
  config.optimizer.weight_decay = 0.0
  config.optimizer.schedule = "constant"
  config.batch_size = config.eval_batch_size = settings["batch_size"]
  config.num_epochs = settings["num_epochs"]
  if args.smoke:
    smoke(config, args.data, settings["eval_split"])
  return config


# Stand-in images in the smoke run's one batch: the fewest (of the stand-ins' first images) whose labelled pixels hold
# every class, which LA's log-prior and HEM+'s margins sqrt(2000 / (K s_k)) need (s_k > 0).
SMOKE_IMAGES = {"camvid": 2, "cityscapes": 10, "sbd": 4}
SMOKE_CROP = (64, 64)  # a multiple of 32, as the FPN models need


def smoke(config, data: str, eval_split: str):
  """One step of one batch of `SMOKE_IMAGES[data]` stand-in images cropped to `SMOKE_CROP` (the class counts are
  those of the whole images), evaluated on two whole images padded to the evaluation size."""
  common.one_step_on_stand_in(config, f"segmentation:{data}", eval_split=eval_split)
  config.dataset.train_subset = config.batch_size = SMOKE_IMAGES[data]
  config.dataset.crop_size = SMOKE_CROP
  return config
