"""The run setup every entry point shares: what a config's `dataset`, `model` and `loss` sections build.

  inputs = setup.Inputs.from_config(config.dataset)        # sources, normalisation, transforms, input shape
  spec = setup.ModelSpec.from_config(config.model, inputs)  # how to build (and later rebuild) the model
  objective = setup.objective(config.loss, inputs)          # what the train step minimises

The training loop, the continual driver, the evaluators and the study runner all start here, so a run's inputs are
assembled in one place; `el_jax.train.workdir.Workdir` owns the files a run writes.
"""

import dataclasses
import functools
from collections.abc import Mapping

import numpy as np
from absl import logging
from flax import nnx

from el_jax import _extras, data, losses, models
from el_jax.data import long_tail, segmentation, segmentation_transforms, transforms
from el_jax.data.source import Source
from el_jax.train import metrics_log
from el_jax.train.adversarial import Adversarial


def section_kwargs(section) -> dict:
  """A config section's entries other than `name`, as plain Python values (a `ConfigDict` or a dict)."""
  entries = section.to_dict() if hasattr(section, "to_dict") else dict(section)
  return {k: v for k, v in entries.items() if k != "name"}


def _as_dict(section) -> dict:
  return section.to_dict() if hasattr(section, "to_dict") else dict(section)


@dataclasses.dataclass(frozen=True)
class Inputs:
  """What a run reads, as its config's `dataset` section describes it.

  Attributes:
    name: the dataset name (`el_jax.data.load`).
    options: the options passed to `load` (those set in `dataset.options`).
    train: the training source, after `train_subset`, `train_per_class` and `long_tail_ratio`.
    eval: the evaluation source (`eval_split`, after `eval_subset`).
    normalization: `(mean, std)` per channel of the training pixels, or None (`dataset.normalize` off, or inputs
      that are not images or already standardised).
    train_transforms, eval_transforms: grain transforms applied to each record (`dataset.augmentation`).
    input_shape: the model's input shape after the transforms: a list for one array of inputs (images `[H, W, C]`,
      features `[D]`), a dict of lists for named inputs (e.g. `tokens`).
    num_classes: the number of classes.
  """

  name: str
  options: dict
  train: Source
  eval: Source
  normalization: tuple | None
  train_transforms: tuple
  eval_transforms: tuple
  input_shape: list | dict
  num_classes: int

  @classmethod
  def from_config(cls, dataset) -> "Inputs":
    """Keys used: `name`, `train_split` ("train"), `eval_split` ("test"), `options` (those not None go to `load`),
    `train_subset` and `eval_subset` (first N examples; None: all), `train_per_class` (None: all; else the first N
    training examples of each class, after `train_subset`), `long_tail_ratio` (None: balanced; else the
    training set is cut to a long tail whose largest-to-smallest class ratio is this, after the subsets),
    `normalize`, `augmentation` ("none") and `image_size` (None: the source's own). Segmentation sets
    (`segmentation:<name>`) take `augmentation="segmentation"` with `crop_size` and `eval_size` ([h, w]; None: the
    set's default, `segmentation.CROP_SIZES` / `EVAL_SIZES`) instead of `image_size`; their input shape is the
    training crop's."""
    dataset = _as_dict(dataset)
    name = dataset["name"]
    options = {k: v for k, v in (dataset.get("options") or {}).items() if v is not None}  # None: not set
    augmentation, image_size = dataset.get("augmentation", "none"), dataset.get("image_size")
    segmentation_dataset = segmentation.dataset_of(name)
    if segmentation_dataset and (
      image_size or augmentation != "segmentation" or dataset.get("train_per_class") or dataset.get("long_tail_ratio")
    ):
      raise ValueError(
        f"{name} is a segmentation set: set dataset.augmentation='segmentation' (its crop and padded sizes are "
        "dataset.crop_size and dataset.eval_size), dataset.image_size=None, and leave dataset.train_per_class and "
        "dataset.long_tail_ratio unset."
      )
    train = data.load(name, dataset.get("train_split", "train"), **options).take(dataset.get("train_subset"))
    if per_class := dataset.get("train_per_class"):
      train = long_tail.first_per_class(train, per_class)
    if ratio := dataset.get("long_tail_ratio"):
      train = long_tail.long_tailed(train, long_tail.factor_for_ratio(ratio, train.num_classes))
    evaluation = data.load(name, dataset.get("eval_split", "test"), **options).take(dataset.get("eval_subset"))
    normalization = data.normalization(name) if dataset.get("normalize", False) else None
    if isinstance(train.input_shape, dict):  # named inputs (tokens, graphs) take no image options
      if image_size or augmentation != "none":
        raise ValueError(
          f"{train.name} has no images (its inputs are {sorted(train.input_shape)}): set "
          "dataset.image_size=None and dataset.augmentation='none'."
        )
      input_shape = {k: list(v) for k, v in train.input_shape.items()}
      train_transforms = eval_transforms = ()
    elif segmentation_dataset:
      train_transforms, eval_transforms, crop = segmentation_transforms.augmentation(
        segmentation_dataset, dataset.get("crop_size"), dataset.get("eval_size")
      )
      input_shape = [*crop, train.input_shape[2]]
    else:
      if augmentation == "segmentation":
        raise ValueError(f"dataset.augmentation='segmentation' is for segmentation sets, not {name}.")
      input_shape = list(train.input_shape)
      if image_size:  # images cropped or resized to a fixed size (e.g. ImageNet's 224)
        input_shape[:2] = [image_size] * 2
      train_transforms, eval_transforms = transforms.augmentation(augmentation, size=input_shape[0])
    return cls(
      name=name,
      options=options,
      train=train,
      eval=evaluation,
      normalization=normalization,
      train_transforms=tuple(train_transforms),
      eval_transforms=tuple(eval_transforms),
      input_shape=input_shape,
      num_classes=train.num_classes,
    )

  @property
  def has_images(self) -> bool:
    """True when the model takes one array of images `[H, W, C]` (not features `[D]` or named inputs)."""
    return not isinstance(self.input_shape, dict) and len(self.input_shape) == 3

  @functools.cached_property
  def class_counts(self) -> np.ndarray:
    """`[K]` training examples per class (read once, on first use: a large source's labels take a while)."""
    return data.class_counts(self.train)

  def load(self, split: str) -> Source:
    """Another split of the dataset, with the run's options (e.g. the training split for a probe)."""
    return data.load(self.name, split, **self.options)


@dataclasses.dataclass(frozen=True)
class ModelSpec:
  """How to build a run's model; recorded in its workdir (`model.json`) so evaluation can rebuild it."""

  name: str
  num_classes: int
  input_shape: list | dict
  kwargs: dict

  @classmethod
  def from_config(cls, model, inputs: Inputs) -> "ModelSpec":
    """The model of a config's `model` section (`name` and the constructor's arguments) for `inputs`."""
    return cls(_as_dict(model)["name"], inputs.num_classes, inputs.input_shape, section_kwargs(model))

  def create(self, seed: int = 0) -> nnx.Module:
    shape = self.input_shape  # a list, or a dict of lists for named inputs
    shape = shape if isinstance(shape, Mapping) else tuple(shape)
    return models.create(self.name, num_classes=self.num_classes, input_shape=shape, seed=seed, **self.kwargs)

  def to_json(self) -> dict:
    return dataclasses.asdict(self)

  @classmethod
  def from_json(cls, record: dict) -> "ModelSpec":
    return cls(record["name"], record["num_classes"], record["input_shape"], record.get("kwargs", {}))


COMPUTE_DTYPES = ("float32", "bfloat16")
WANDB_MODES = ("offline", "online")


def check_settings(config, *, num_devices: int = 1) -> None:
  """Raises a ValueError naming the first setting of a run's config outside its valid range, before anything runs.

    Checked: `batch_size`, `eval_batch_size` (both multiples of the mesh's `num_devices`), `num_epochs` and
    `log_every_steps` >= 1; `checkpoint_every_steps` >= 0
    (0: at the end of every epoch only); `checkpoint_keep` >= 1 or None (keep all: a run must keep its trained model);
    `compute_dtype` one of `COMPUTE_DTYPES`; `optimizer.learning_rate` >= 0 (a negative rate would ascend the loss; 0
  keeps the initial or pretrained weights, which tests and evaluation-only runs use); `writers` names of
  `metrics_log.WRITERS` including "jsonl" (metrics.jsonl is the run's own record: resume, reports and tests read it),
  and with "wandb", `wandb.mode` one of `WANDB_MODES` and the `wandb` package installed; the `adversarial` section
  (`Adversarial.from_config`, its ratio against `batch_size`; whether the inputs are images is checked once they are
  loaded).
  """

  def require(ok: bool, key: str, value, valid: str) -> None:
    if not ok:
      raise ValueError(f"config.{key}={value!r} is invalid: {valid}.")

  for key in ("batch_size", "eval_batch_size", "num_epochs", "log_every_steps"):
    value = config.get(key)
    require(isinstance(value, int) and not isinstance(value, bool) and value >= 1, key, value, "use an integer >= 1")
  for key in ("batch_size", "eval_batch_size"):
    if config[key] % num_devices:
      raise ValueError(
        f"config.{key}={config[key]} is not divisible by the {num_devices} devices of the mesh: "
        f"use a multiple of {num_devices}."
      )
  every = config.get("checkpoint_every_steps") or 0
  require(isinstance(every, int) and every >= 0, "checkpoint_every_steps", every, "use 0 (every epoch) or more")
  keep = config.get("checkpoint_keep")
  require(keep is None or (isinstance(keep, int) and keep >= 1), "checkpoint_keep", keep, "use None (all) or >= 1")
  dtype = config.get("compute_dtype", "float32")
  require(dtype in COMPUTE_DTYPES, "compute_dtype", dtype, f"use one of {', '.join(COMPUTE_DTYPES)}")
  rate = config.optimizer.get("learning_rate")
  require(isinstance(rate, int | float) and rate >= 0, "optimizer.learning_rate", rate, "use a number >= 0")
  writers = config.get("writers") or metrics_log.DEFAULT_WRITERS
  valid = f"use a tuple of names among {', '.join(metrics_log.WRITERS)}"
  require(isinstance(writers, tuple | list), "writers", writers, valid)
  unknown = [w for w in writers if w not in metrics_log.WRITERS]
  require(not unknown, "writers", writers, f"{', '.join(map(repr, unknown))} unknown: {valid}")
  require("jsonl" in writers, "writers", writers, "include 'jsonl' (metrics.jsonl is the run's own record)")
  Adversarial.from_config(config.get("adversarial"), batch_size=config["batch_size"])
  if "wandb" in writers:
    mode = (config.get("wandb") or {}).get("mode") or "offline"
    require(mode in WANDB_MODES, "wandb.mode", mode, f"use one of {', '.join(WANDB_MODES)}")
    _extras.require("config.writers 'wandb'", "wandb")


# Entries of a `loss` section that the trainer applies around `losses.get_objective`: how it computes the loss
# (fused with the output layer), large-margin softmax's transformation of the output layer's logits, and a second
# objective each batch is also updated on (`alternate_objective`).
TRAINER_LOSS_KEYS = ("fused_output", "fused_blocks", "large_margin", "alternate")


def loss_hparams(loss, inputs: Inputs) -> dict:
  """The `loss` section's hyper-parameters (without `name` and `TRAINER_LOSS_KEYS`), with training-set markers such
  as `margin="hem"` resolved (`losses.resolve_data_hparams`); the class counts are only read when a marker needs
  them."""
  hparams = {k: v for k, v in section_kwargs(loss).items() if k not in TRAINER_LOSS_KEYS}
  resolved = losses.resolve_data_hparams(hparams, lambda: inputs.class_counts)
  missing = int(np.sum(inputs.class_counts == 0)) if hparams.get("class_weights") == "effective_number" else 0
  if missing:
    logging.warning(
      "%d of the %d classes have no training example: class_weights='effective_number' gives them weight 0, so "
      "their examples do not count in the re-weighted loss (the evaluation's loss too). Train on a set with every "
      "class, or give config.loss.class_weights as a list.",
      missing,
      len(inputs.class_counts),
    )
  return resolved


def alternate_objective(loss, inputs: Inputs):
  """The objective of `loss.alternate` (default None: no second update), or None.

  `loss.alternate` is a loss section of its own (`name` and that loss's hyper-parameters); with it, each batch gets a
  second update, on this objective, after the one on the loss (`step.make_train_step`'s `alternate`): complement
  objective training's alternation of cross-entropy and the complement entropy (Chen et al. 2019).

  Raises:
    ValueError: if the section has no `name` or holds trainer entries, or if the loss is fused with the output layer
      (`fused_output`, `large_margin`): the second update needs the logits.
  """
  section = _as_dict(loss)
  alternate = section.get("alternate")
  if alternate is None:
    return None
  alternate = _as_dict(alternate)
  if "name" not in alternate or set(alternate) & set(TRAINER_LOSS_KEYS):
    raise ValueError(
      f"config.loss.alternate={alternate!r} must be a loss section of its own: a name and that loss's "
      f"hyper-parameters, without {', '.join(TRAINER_LOSS_KEYS)}."
    )
  if section.get("fused_output") or section.get("large_margin") is not None:
    raise ValueError(
      "config.loss.alternate updates on the model's logits, which config.loss.fused_output and "
      "config.loss.large_margin do not materialise: unset them, or unset config.loss.alternate."
    )
  return losses.get_objective(alternate["name"], **loss_hparams(alternate, inputs))


def fused_output(loss, model) -> bool:
  """`loss.fused_output` (default False): whether the train step computes the loss fused with the model's output
  layer (`losses.linear_loss` on the model's `linear_outputs`), never materialising the logits. True as well with
  `loss.large_margin`, whose objective takes the same `linear_outputs` (and materialises the logits itself).

  Raises:
    ValueError: when it is set for a loss outside `losses.LINEAR_LOSSES`, or for a model (`model`, possibly
      abstract) without a `linear_outputs` method.
  """
  fused, name = _as_dict(loss).get("fused_output", False), _as_dict(loss)["name"]
  if fused not in (True, False):
    raise ValueError(f"config.loss.fused_output={fused!r} is invalid: use True or False.")
  if _as_dict(loss).get("large_margin") is not None:
    if fused:
      raise ValueError(
        "config.loss.large_margin materialises the model's [B, K] logits with the margin on the label's, so it "
        "cannot be fused with the output layer: leave config.loss.fused_output unset."
      )
    if not callable(getattr(model, "linear_outputs", None)):
      raise ValueError(
        f"config.loss.large_margin needs the model's last hidden states and output weight, but the model "
        f"{type(model).__name__} has no linear_outputs method: use one that has (lsoftmax_cnn), or unset "
        "config.loss.large_margin."
      )
    return True
  if fused and name not in losses.LINEAR_LOSSES:
    raise ValueError(
      f"config.loss.fused_output=True, but loss {name!r} is not a per-example loss the fused path (linear_loss) "
      f"computes. Supported: {', '.join(losses.LINEAR_LOSSES)}. Set config.loss.fused_output=False."
    )
  if fused and not callable(getattr(model, "linear_outputs", None)):
    raise ValueError(
      f"config.loss.fused_output=True, but the model {type(model).__name__} has no linear_outputs method (its last "
      "hidden states and output projection). Set config.loss.fused_output=False, or use a model that has one "
      "(transformer_iwslt, transformer_tiny, transformer_lm)."
    )
  return bool(fused)


def objective(loss, inputs: Inputs, total_steps: int | None = None):
  """What a train step minimises: `losses.get_objective` of the `loss` section, its markers resolved on `inputs`.

  `loss.fused_blocks` (default None: `linear_loss`'s) sets the `[token_block, vocab_block]` of the fused output
  layer; it needs `loss.fused_output=True`, the only path that reads it. `loss.large_margin` (default None), a dict
  of `losses.with_large_margin`'s `margin`, `base`, `gamma`, `power` and `minimum`, trains through large-margin
  softmax, its lambda annealed over the iterations of `total_steps`.
  """
  section = _as_dict(loss)
  blocks = section.get("fused_blocks")
  if blocks is not None and section.get("fused_output") is not True:
    raise ValueError(
      f"config.loss.fused_blocks={blocks!r} sets the blocks of the fused output layer, but config.loss.fused_output "
      "is not True: set it to True, or leave fused_blocks unset."
    )
  linear_blocks = None if blocks is None else tuple(blocks)
  objective_fn = losses.get_objective(section["name"], linear_blocks=linear_blocks, **loss_hparams(loss, inputs))
  large_margin = section.get("large_margin")
  if large_margin is None:
    return objective_fn
  large_margin = _as_dict(large_margin)
  valid = ("margin", "base", "gamma", "power", "minimum")
  unknown = sorted(set(large_margin) - set(valid))
  missing = [k for k in valid if k not in large_margin]
  if unknown or missing:
    raise ValueError(
      f"config.loss.large_margin={large_margin!r} needs exactly the keys {', '.join(valid)} "
      f"(e.g. losses.MNIST_LARGE_MARGIN, Liu et al.'s MNIST schedule); unknown: {unknown}, missing: {missing}."
    )
  return losses.with_large_margin(objective_fn, total_steps=total_steps, **large_margin)
