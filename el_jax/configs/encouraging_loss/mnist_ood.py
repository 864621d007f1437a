"""Encouraging loss, MNIST out-of-distribution detection (EL paper §4.4, Table 4): in-distribution MNIST,
out-of-distribution Fashion-MNIST, scored by the maximum softmax probability.

Setting: as `mnist.py` (L-Softmax CNN, SGD lr 0.1, momentum 0.9, batch 256, 100 epochs) with the normal bonus
(LE = 1). After training, `python evaluate.py --workdir DIR` reports AUROC and FPR95 against Fashion-MNIST and the
synthetic OOD sets.
Paper result: AUROC 95.68 -> 98.04, FPR95 20.92 -> 8.69 (CE -> EL).

Arguments: loss=el|ce (default el); data=mnist (TFDS) or mnist_digits (offline; the evaluation suite's OOD section
pairs it with Fashion-MNIST); smoke.

python train.py --config configs/encouraging_loss/mnist_ood.py:loss=ce --workdir runs/el_mnist_ood/ce
"""

from el_jax.configs.encouraging_loss import mnist


def get_config(arg=None):
  return mnist.get_config(arg)
