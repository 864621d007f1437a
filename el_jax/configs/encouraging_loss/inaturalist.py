"""Encouraging loss, iNaturalist 2018 (EL paper §4.2 "long-tailed classification", appendix Table 9): ResNet-50 on
8,142 species (438K training images, evaluated on the 24K validation images).

Setting (Kang et al., 2020, as the paper says): SGD lr 0.2, momentum 0.9, weight decay 5e-4, batch 512, 200 epochs,
cosine decay to 0; 224x224 random-resized crops and flips. TFDS `i_naturalist2018` has no pixel statistics recorded in
el_jax, so inputs are scaled to [0, 1] without standardisation.
Paper results (top-1 %; overall / many / medium / few-shot): CE 64.3 / 74.1 / 65.9 / 59.8; EL conservative (LE = 0.5,
`loss=el`) 65.3 / 74.3 / 66.6 / 61.2; EL normal bonus (`loss=el_normal`) 65.8 / 74.4 / 66.6 / 62.4; EL aggressive
(bonus start 0.5, `loss=el_aggressive`) 66.3 / 75.1 / 67.4 / 62.6; focal loss (gamma 2) 62.9 / 72.9 / 64.1 / 58.8;
halted focal loss 63.6 / 73.1 / 64.6 / 59.7.

Table 3's deferred re-weighting (DRW, Cao et al. 2019; appendix B.3: "We defer the training with this class-balanced
re-weighting method after 180 epochs of regular training"): from epoch 180 of 200 the mean of the per-example losses
becomes the mean weighted by the class-balanced weights (1 - beta) / (1 - beta^n_k), beta = 0.9999
(`class_weights="effective_number"`, `reweight_from=0.9`): CE + DRW (`loss=ce_drw`) 68.1 / 71.0 / 68.3 / 67.1; EL
normal bonus + DRW (`loss=el_normal_drw`) 70.3 / 69.0 / 70.1 / 70.9.

Table 3's classifier re-training (CRT, Kang et al. 2020): train the representation with `loss=ce` (or `loss=el_normal`:
"+ Normal Bonus", the bonus in the representation stage only), then re-train the classifier on the frozen features
with class-balanced sampling for 30 epochs: `python evaluate.py --workdir DIR --crt` (the `crt` evaluator,
`el_jax.evaluate.probe.CRT_RECIPE`). Paper: CRT 64.9 / 71.4 / 65.9 / 61.9; + normal bonus 66.8 / 71.7 / 67.6 / 64.6.

Arguments: loss=el|el_normal|el_aggressive|ce|focal|halted_focal|ce_drw|el_normal_drw (default el); smoke.
Needs TFDS `i_naturalist2018`.

python train.py --config configs/encouraging_loss/inaturalist.py:loss=el_aggressive --workdir DIR
"""

from el_jax.configs import common, losses

LOSSES = {
  **losses.encouraging_loss_menu(log_end=0.5),
  "el_normal": losses.encouraging(log_end=1.0),
  "el_aggressive": losses.encouraging(log_end=1.0, bonus_start=0.5),
  "focal": {"name": "focal_loss", "gamma": 2.0},
  "halted_focal": {"name": "halted_focal_loss", "gamma": 2.0},
  "ce_drw": losses.deferred_reweighting(losses.cross_entropy(), start=180 / 200),
  "el_normal_drw": losses.deferred_reweighting(losses.encouraging(log_end=1.0), start=180 / 200),
}


def get_config(arg=None):
  args = common.parse_arg(arg, loss="el", smoke=False)
  config = common.base_config()
  config.dataset.name = "tfds:i_naturalist2018"
  config.dataset.eval_split = "validation"
  config.dataset.augmentation = "imagenet"
  config.dataset.image_size = 224
  config.dataset.normalize = False
  config.model.name = "resnet50"
  config.loss = losses.loss_config(LOSSES, args.loss)

  config.optimizer.name = "sgd"
  config.optimizer.learning_rate = 0.2
  config.optimizer.momentum = 0.9
  config.optimizer.weight_decay = 5e-4
  config.optimizer.schedule = "cosine"
  config.batch_size = 512
  config.eval_batch_size = 512
  config.num_epochs = 200
  if args.smoke:
    common.one_step_on_stand_in(config, "inaturalist2018", eval_split="validation")
  return config
