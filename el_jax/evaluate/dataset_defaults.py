"""The robustness defaults of a run's in-distribution data set: OOD sets, corruption set and attack budgets.

The data sets of the HEM paper take their row of `el_jax.configs.hem.ood_sets.TABLE` (MNIST-scale: L_inf 0.3, L_2 2;
CIFAR- and ImageNet-scale: 8/255, 0.5; OOD and corruption sets of appendix A.1.2). A run's dataset name is matched
after removing `synthetic:` and `tfds:` prefixes and a TFDS version (`imagenet2012` is ImageNet, `mnist_digits`
MNIST, `svhn_cropped` SVHN). Other data sets keep the earlier defaults: Fashion-MNIST (and any set named outside the
table) tests the four synthetic OOD sets and the other domain's real set (`el_jax.evaluate.ood_sets`), the MNIST-C
families computed on the fly and budgets L_inf 0.1, L_2 1 (MNIST-C-scale images of 28 x 28 x 1) — except that an
unknown set of colour images of 32 pixels or more gets the CIFAR/ImageNet budgets, 8/255 and 0.5.

A stand-in run (`synthetic:<name>`) gets the stand-ins of its sets (`synthetic:<set>`), so smoke tests run the
whole protocol without downloads.
"""

from el_jax.configs.hem import ood_sets as hem_table
from el_jax.evaluate import ood_sets

ALIASES = {"imagenet2012": "imagenet", "mnist_digits": "mnist", "svhn_cropped": "svhn"}
# The earlier defaults (Fashion-MNIST and unknown sets): EL Figure 7's FGSM sweep on MNIST, PGD at 0.1 and 1.
OTHER_FGSM, OTHER_LINF, OTHER_L2 = (0.01, 0.02, 0.05, 0.1, 0.2), 0.1, 1.0
MNIST_C = "mnist_c"  # the MNIST-C families computed on the fly (`el_jax.evaluate.corruptions`)


def dataset_key(name: str) -> str:
  """`name` without `synthetic:`/`tfds:` prefixes and a TFDS version, aliases resolved: `tfds:imagenet2012:5.1.0` ->
  `imagenet`."""
  key = name.removeprefix("synthetic:").removeprefix("tfds:").split(":")[0]
  return ALIASES.get(key, key)


def row(name: str) -> dict | None:
  """The HEM table row of dataset `name`, or None for a data set the paper does not use."""
  return hem_table.TABLE.get(dataset_key(name))


def _stand_in(name: str, set_name: str) -> str:
  real = set_name in ood_sets.SYNTHETIC or set_name == MNIST_C
  return f"synthetic:{set_name}" if name.startswith("synthetic:") and not real else set_name


def ood_set_names(name: str) -> tuple[str, ...]:
  """The OOD sets a model of dataset `name` is tested on: HEM's seven, or the four synthetic sets and the real
  other-domain set (`ood_sets.real_set_name`) of a data set outside the table."""
  entry = row(name)
  if entry is None:
    real = ood_sets.real_set_name(dataset_key(name))
    sets = (*ood_sets.SYNTHETIC, *([real] if real else []))
  else:
    sets = entry["ood_sets"]
  return tuple(_stand_in(name, s) for s in sets)


def ood_resize(name: str) -> int | None:
  """The shorter side an OOD image is resized to before the centre crop (None: the input side)."""
  entry = row(name)
  return None if entry is None else entry["ood_resize"]


def corruption_set(name: str) -> str:
  """The corruption set of dataset `name`: its HEM row's (`synthetic:` for a stand-in run), else `mnist_c`."""
  entry = row(name)
  return MNIST_C if entry is None else _stand_in(name, entry["corruption_set"])


def attack_budgets(name: str, image_shape=None) -> dict:
  """`{"fgsm_eps", "pgd_linf_eps", "pgd_l2_eps", "linf_eps", "l2_eps"}` of dataset `name` (module docstring); the
  image shape `[H, W, C]` places an unknown data set."""
  entry = row(name)
  if entry is None:
    natural = image_shape is not None and image_shape[-1] == 3 and min(image_shape[:2]) >= 32
    if natural:
      entry = hem_table.TABLE["cifar10"]
    else:
      return {
        "fgsm_eps": OTHER_FGSM,
        "pgd_linf_eps": (OTHER_LINF,),
        "pgd_l2_eps": (OTHER_L2,),
        "linf_eps": OTHER_LINF,
        "l2_eps": OTHER_L2,
      }
  return {
    "fgsm_eps": entry["fgsm_eps"],
    "pgd_linf_eps": (entry["linf_eps"],),
    "pgd_l2_eps": (entry["l2_eps"],),
    "linf_eps": entry["linf_eps"],
    "l2_eps": entry["l2_eps"],
  }
