"""HEM, the robustness protocol of each in-distribution data set (HEM paper appendix A.1.2): its seven OOD sets, its
common-corruption set and its AutoAttack budgets. The evaluators take these as their defaults
(`el_jax.evaluate.dataset_defaults`); `get_config(dataset)` gives one row as evaluation options.

Quoting A.1.2: "The seven data-set used to evaluate networks trained with MNIST were the test-sets of Omniglot,
FashionMNIST, KMNIST and four data-sets containing synthetic images [random blobs, uniform noise, permuted pixels,
phase-randomised] ... The CIFAR10 trained networks were tested using unknown classes from the test-sets of the
Textures, SVHN, and CIFAR100 data-sets, plus, four synthetic image data-sets ... For CIFAR100 trained networks the
same seven OOD data-sets were used as for CIFAR10, except CIFAR10 was used in place of CIFAR100. Networks trained on
TinyImageNet and ImageNet1k were evaluated using Textures, the iNaturalist 2021 validation set, the ImageNet-O
data-set, and the four synthetic image data-sets". Corruptions: "MNIST-C, CIFAR10-C, CIFAR100-C, TinyImageNet-C and
ImageNet-C ... averaging performance over all the corruptions at all degrees of intensity". AutoAttack: "epsilon was set
to 8/255 and 0.5 for l_inf and l_2-norm attacks, respectively, against networks trained on CIFAR10, CIFAR100,
TinyImageNet, and ImageNet1k, and epsilon was set to 0.3 for l_inf-norm and to 2 for l_2-norm attacks on MNIST".

Each real OOD set is brought to the in-distribution input shape (`el_jax.data.conform`): colour to grey by ITU-R
601-2 luma (Omniglot is stored as 3 equal channels by TFDS), grey to colour by repeating; other sizes by resizing the
shorter side (bilinear, antialiased) and cutting out the centre, the shorter side resized to the input side, or
for ImageNet to 256 before the 224 crop as its test images are (`ood_resize`). The paper does not say how it
resized them.

  python evaluate.py --workdir DIR    # a run on one of these data sets gets its row as the defaults
"""

import ml_collections

from el_jax.evaluate.ood_sets import SYNTHETIC

MNIST_LINF, MNIST_L2 = 0.3, 2.0
NATURAL_LINF, NATURAL_L2 = 8 / 255, 0.5
# FGSM sweeps, on the scale of each row's L_inf budget (EL Figure 7's for MNIST).
MNIST_FGSM = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3)
NATURAL_FGSM = (1 / 255, 2 / 255, 4 / 255, 8 / 255, 16 / 255)

# in-distribution data set -> its protocol.
TABLE = {
  "mnist": {
    "ood_sets": ("omniglot", "fashion_mnist", "kmnist", *SYNTHETIC),
    "corruption_set": "mnist_c",
    "linf_eps": MNIST_LINF,
    "l2_eps": MNIST_L2,
    "fgsm_eps": MNIST_FGSM,
    "ood_resize": None,
  },
  "cifar10": {
    "ood_sets": ("dtd", "svhn", "cifar100", *SYNTHETIC),
    "corruption_set": "cifar10_c",
    "linf_eps": NATURAL_LINF,
    "l2_eps": NATURAL_L2,
    "fgsm_eps": NATURAL_FGSM,
    "ood_resize": None,
  },
  "cifar100": {
    "ood_sets": ("dtd", "svhn", "cifar10", *SYNTHETIC),
    "corruption_set": "cifar100_c",
    "linf_eps": NATURAL_LINF,
    "l2_eps": NATURAL_L2,
    "fgsm_eps": NATURAL_FGSM,
    "ood_resize": None,
  },
  "tiny_imagenet": {
    "ood_sets": ("dtd", "inaturalist2021", "imagenet_o", *SYNTHETIC),
    "corruption_set": "tiny_imagenet_c",
    "linf_eps": NATURAL_LINF,
    "l2_eps": NATURAL_L2,
    "fgsm_eps": NATURAL_FGSM,
    "ood_resize": None,
  },
  "imagenet": {
    "ood_sets": ("dtd", "inaturalist2021", "imagenet_o", *SYNTHETIC),
    "corruption_set": "imagenet_c",
    "linf_eps": NATURAL_LINF,
    "l2_eps": NATURAL_L2,
    "fgsm_eps": NATURAL_FGSM,
    "ood_resize": 256,  # ImageNet's evaluation resize before the 224 crop
  },
}


def get_config(arg=None):
  """The row of data set `arg` (mnist, cifar10, cifar100, tiny_imagenet, imagenet; default cifar10) as evaluation
  options (`el_jax.evaluate.suite.Options` fields)."""
  dataset = arg or "cifar10"
  if dataset not in TABLE:
    raise ValueError(f"No HEM robustness protocol for {dataset!r}; valid: {', '.join(TABLE)}.")
  row = TABLE[dataset]
  return ml_collections.ConfigDict(
    {
      "ood_sets": row["ood_sets"],
      "corruption_set": row["corruption_set"],
      "fgsm_eps": row["fgsm_eps"],
      "pgd_linf_eps": (row["linf_eps"],),
      "pgd_l2_eps": (row["l2_eps"],),
      "ensemble_linf_eps": (row["linf_eps"],),
      "ensemble_l2_eps": (row["l2_eps"],),
    }
  )
