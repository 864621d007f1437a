"""The robustness defaults per data set: the HEM paper's numbers (appendix A.1.2) typed in here, not read from the
table under test."""

import pytest

from el_jax.evaluate import dataset_defaults
from el_jax.evaluate.ood_sets import SYNTHETIC

SYNTH = ("uniform_noise", "random_blobs", "permuted_pixels", "phase_randomised")


@pytest.mark.parametrize(
  "name, real_sets, corruption_set",
  [
    ("mnist", ("omniglot", "fashion_mnist", "kmnist"), "mnist_c"),
    ("mnist_digits", ("omniglot", "fashion_mnist", "kmnist"), "mnist_c"),
    ("tfds:mnist:3.0.1", ("omniglot", "fashion_mnist", "kmnist"), "mnist_c"),
    ("cifar10", ("dtd", "svhn", "cifar100"), "cifar10_c"),
    ("cifar100", ("dtd", "svhn", "cifar10"), "cifar100_c"),
    ("tfds:tiny_imagenet", ("dtd", "inaturalist2021", "imagenet_o"), "tiny_imagenet_c"),
    ("imagenet", ("dtd", "inaturalist2021", "imagenet_o"), "imagenet_c"),
    ("tfds:imagenet2012", ("dtd", "inaturalist2021", "imagenet_o"), "imagenet_c"),
  ],
)
def test_the_papers_seven_ood_sets_and_corruption_set_per_data_set(name, real_sets, corruption_set):
  assert SYNTHETIC == SYNTH
  assert dataset_defaults.ood_set_names(name) == (*real_sets, *SYNTH)
  assert dataset_defaults.corruption_set(name) == corruption_set


@pytest.mark.parametrize(
  "name, linf, l2",
  [("mnist", 0.3, 2.0), ("cifar10", 8 / 255, 0.5), ("cifar100", 8 / 255, 0.5), ("tfds:tiny_imagenet", 8 / 255, 0.5),
   ("imagenet", 8 / 255, 0.5), ("fashion_mnist", 0.1, 1.0)],
)  # fmt: skip
def test_attack_budgets_follow_the_data_set(name, linf, l2):
  budgets = dataset_defaults.attack_budgets(name)
  assert budgets["pgd_linf_eps"] == (pytest.approx(linf),) and budgets["pgd_l2_eps"] == (l2,)
  assert (budgets["linf_eps"], budgets["l2_eps"]) == (pytest.approx(linf), l2)
  assert max(budgets["fgsm_eps"]) >= linf  # the FGSM sweep reaches the L_inf budget


def test_stand_in_runs_get_stand_in_sets_and_other_sets_the_earlier_defaults():
  assert dataset_defaults.ood_set_names("synthetic:cifar10") == (
    "synthetic:dtd",
    "synthetic:svhn",
    "synthetic:cifar100",
    *SYNTH,
  )
  assert dataset_defaults.corruption_set("synthetic:imagenet") == "synthetic:imagenet_c"
  assert dataset_defaults.corruption_set("synthetic:mnist") == "mnist_c"  # computed on the fly: no stand-in needed
  assert dataset_defaults.ood_set_names("fashion_mnist") == (*SYNTH, "mnist_digits")
  assert dataset_defaults.ood_set_names("uci_digits") == SYNTH and dataset_defaults.corruption_set("x") == "mnist_c"
  assert dataset_defaults.attack_budgets("tfds:svhn_cropped", (32, 32, 3))["pgd_linf_eps"] == (pytest.approx(8 / 255),)
  assert dataset_defaults.attack_budgets("tfds:emnist", (28, 28, 1))["pgd_linf_eps"] == (0.1,)
  assert dataset_defaults.ood_resize("imagenet") == 256 and dataset_defaults.ood_resize("cifar10") is None
