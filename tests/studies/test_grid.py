"""The study configs build their grids from `el_jax.studies.grid`: every loss on every model for every seed, run labels
that say what each run trains (checked against the papers' settings), and tiny versions drawn from the full grids."""

import collections

import numpy as np
import pytest

from el_jax import data, losses
from el_jax.configs.studies import el_analyses, fashion_mnist, long_tail, mnist_digits, uci
from el_jax.studies import grid
from el_jax.studies import uci as uci_sweep

SEEDS = 5  # every arm a claim uses has at least 5 seeds
# Run counts worked out from the studies' descriptions: models (or ratios) x losses x 5 seeds.
FULL_RUNS = [
  (fashion_mnist, "model", 2 * 10 * SEEDS),  # LeNet, MLP; the three papers' 10 losses of image claims (no focal)
  # ratios 100 and 10; CE, logit-adjusted, HEM, HEM+ (margins on the competing class, and on the label's), EL aggressive
  (long_tail, "imbalance", 2 * 6 * SEEDS),
  (el_analyses, "model", 1 * 5 * SEEDS),  # LeNet, SGD; EL (LE = 1) at 1x, 0.5x; CE at 1x, 0.5x, 2x the base rate
]
# EL Table 2's arms with SGD: the rate of each label (base 0.05: EL's MNIST 0.1 at batch 256, scaled to batch 128).
TABLE2_RATES = {
  "ce_sgd_1x": ("ce", 0.05),
  "ce_sgd_2x": ("ce", 0.1),  # Table 2's "CE (2xLR)"
  "ce_sgd_0.5x": ("ce", 0.025),  # the matched-rate control
  "el_le1_sgd_1x": ("el_le1", 0.05),  # Table 2's "EL"
  "el_le1_sgd_0.5x": ("el_le1", 0.025),  # Table 2's "EL (0.5xLR)"
}
# Loss configs the runs must train, from the papers (EL: LE and bonus start; mixing: F schedule; HEM: margins).
PAPER_LOSSES = {
  "ce": {"name": "cross_entropy"},
  "el_le0.5": {"name": "encouraging_loss", "log_end": 0.5},
  "el_le0.75": {"name": "encouraging_loss", "log_end": 0.75},
  "el_le1": {"name": "encouraging_loss", "log_end": 1.0},
  "el_aggressive": {"name": "encouraging_loss", "log_end": 1.0, "bonus_start": 0.5},
  "mix_f0": {"name": "mixed_ce_expectation", "focus_schedule": "F=0"},
  "mix_f0_05": {"name": "mixed_ce_expectation", "focus_schedule": "F=0,0.5"},
  "mix_f0_to_05": {"name": "mixed_ce_expectation", "focus_schedule": "F=0-0.5"},
  "hem": {"name": "hem_loss", "margin": "hem"},
  "hem_plus": {"name": "hem_loss", "margin": "hem_plus"},
  "hem_plus_label": {"name": "hem_loss", "margin": "hem_plus", "margin_of": "label"},
  "mm": {"name": "multiclass_margin_loss", "margin": 1.0},
  "logit_norm": {"name": "logit_norm_loss", "tau": 0.04},
  "logit_adjusted": {"name": "logit_adjusted_loss", "class_counts": "train", "tau": 1.0},
}


def _loss(config) -> dict:
  """The `loss` section's entries that are set (a margin loss's unset `M` and `margin_of` are None: the defaults)."""
  return {k: v for k, v in config.loss.to_dict().items() if v is not None}


def _cells(study, group_key) -> collections.Counter:
  return collections.Counter((run.labels[group_key], run.labels["loss"]) for run in study.runs)


def test_study_rejects_a_run_named_twice():
  run = grid.Run("lenet/ce", {"model": "lenet", "loss": "ce"}, 0, None, {})
  with pytest.raises(ValueError, match="names a run twice"):
    grid.Study("s", "title", "description", runs=(run, run))


@pytest.mark.parametrize("module, group_key, count", FULL_RUNS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_full_study_trains_every_loss_on_every_group_for_every_seed(module, group_key, count):
  study = module.get_study()
  assert len(study.runs) == count
  groups, losses = grid.STUDY_GROUPS[study.name], grid.STUDY_LOSSES[study.name]
  assert _cells(study, group_key) == {(group, loss): SEEDS for group in groups for loss in losses}
  for run in study.runs:
    assert run.group == f"{run.labels[group_key]}/{run.labels['loss']}"


@pytest.mark.parametrize("module, group_key, count", FULL_RUNS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_tiny_study_is_drawn_from_the_full_grid(module, group_key, count):
  tiny = module.get_study("tiny")
  assert 0 < len(tiny.runs) < count
  assert set(_cells(tiny, group_key)) <= set(_cells(module.get_study(), group_key))


def test_fashion_mnist_runs_train_their_model_and_loss_with_hem_mnist_recipe():
  for run in fashion_mnist.get_study().runs:
    assert run.config.model.name == run.labels["model"]
    if run.labels["loss"] in PAPER_LOSSES:
      assert _loss(run.config) == PAPER_LOSSES[run.labels["loss"]]
    # HEM's MNIST recipe: Adam 1e-3, batch 128, 20 epochs
    assert (run.config.optimizer.name, run.config.optimizer.learning_rate) == ("adam", 1e-3)
    assert (run.config.batch_size, run.config.num_epochs) == (128, 20)
    assert run.config.dataset.train_subset == 10_000
    assert run.evaluation["probe"] == (run.labels["model"] == "lenet" and run.labels["loss"] in grid.PROBED_LOSSES)


def test_long_tail_trains_hem_plus_with_its_margins_on_the_competing_and_on_the_labels_class():
  counts = np.array([942, 566, 340, 204, 123, 74, 44, 27, 16, 10])  # a long tail, 942 down to 10
  mu = np.sqrt(2000 / (10 * counts))  # HEM+'s per-class margins (§4.3)
  labels, zeros = np.array([0, 9]), np.zeros((2, 10), np.float32)  # all logits equal: e_i = the margin read

  def objective(label):
    loss = {k: v for k, v in long_tail.get_config(f"ratio=100,loss={label}").loss.to_dict().items() if k != "name"}
    return losses.get_objective("hem_loss", **losses.resolve_data_hparams(loss, counts))(zeros, labels)

  # the label's margin: the 9 errors all mu_y, all kept: each example's loss is mu_y
  np.testing.assert_allclose(objective("hem_plus_label"), (mu[0] + mu[9]) / 2, rtol=1e-6)
  # the competitors' margins: errors mu_i (i != y), kept at or above their mean over the 10 logits
  expected = []
  for y in labels:
    errors = np.delete(mu, y)
    expected.append(errors[errors >= errors.sum() / 10].mean())
  np.testing.assert_allclose(objective("hem_plus"), np.mean(expected), rtol=1e-6)
  assert not np.isclose(np.mean(expected), (mu[0] + mu[9]) / 2)


def test_long_tail_runs_train_their_imbalance_ratio_and_loss():
  for run in long_tail.get_study().runs:
    assert run.labels["imbalance"] == f"ratio{run.config.dataset.long_tail_ratio:g}"
    assert run.config.model.name == "lenet"
    assert _loss(run.config) == PAPER_LOSSES[run.labels["loss"]]


def test_el_analyses_runs_train_table_2_arms_with_sgd():
  study = el_analyses.get_study()
  assert {run.labels["loss"] for run in study.runs} == set(TABLE2_RATES)
  for run in study.runs:
    loss, rate = TABLE2_RATES[run.labels["loss"]]
    assert run.config.model.name == run.labels["model"] == "lenet"
    assert _loss(run.config) == PAPER_LOSSES[loss]
    optimizer = run.config.optimizer
    assert (optimizer.name, optimizer.momentum) == ("sgd", 0.9)
    assert optimizer.learning_rate == pytest.approx(rate, rel=1e-12)
    # Table 2's CIFAR schedule (x0.1 at epochs 30, 60, 80 of 90) scaled to 20 epochs; its weight decay 1e-4
    assert (optimizer.schedule, tuple(optimizer.boundaries), optimizer.decay_factor) == ("multistep", (7, 14, 18), 0.1)
    assert optimizer.weight_decay == 1e-4
    assert (run.config.batch_size, run.config.num_epochs, run.config.dataset.train_subset) == (128, 20, 10_000)
    # its claims compare accuracy: the costly sections no claim reads are off
    assert not (run.evaluation["probe"] or run.evaluation["corruptions"] or run.evaluation["fgsm_eps"])
    assert not run.evaluation["pgd_linf_eps"]


def test_uci_sweep_trains_table_4_networks_and_losses():
  sweep = uci.get_study().uci
  assert sweep.networks == {"linear": 0, "hidden": 1}  # hidden layers: a linear classifier and one hidden layer
  assert tuple(sweep.losses) == grid.UCI_LOSSES
  assert sweep.seeds == (0, 1, 2, 3, 4)
  assert sweep.losses["focal_a0.25"] == {"name": "focal_loss", "gamma": 2.0, "alpha": 0.25}  # Table 4's baseline
  assert sweep.losses["focal_a1"] == {"name": "focal_loss", "gamma": 2.0}  # the paper's focal equation, no alpha
  assert sweep.losses["expectation"] == {"name": "expectation_loss"}
  for label in set(sweep.losses) & set(PAPER_LOSSES):
    assert sweep.losses[label] == PAPER_LOSSES[label]
  tiny = uci.get_study("tiny").uci
  assert tiny.networks == sweep.networks and set(tiny.losses) <= set(sweep.losses)


def test_uci_focal_alpha_quarter_at_four_times_the_rate_is_the_alpha_1_sweep():
  # Why the UCI study has no "focal_a0.25_lr4x" arm: with SGD + momentum and no weight decay the update is linear in
  # the gradient, so alpha = 0.25 at 4x every rate retraces alpha = 1 at 1x (powers of two: exact in floating point).
  splits = [data.load("uci_iris", split) for split in ("train", "validation", "test")]
  base = uci_sweep.Sweep(learning_rates=(0.01, 0.001), seeds=(0, 1), epochs=3)
  a1 = uci_sweep.train_sweep(*splits, hidden_layers=1, loss={"name": "focal_loss", "gamma": 2.0}, sweep=base)
  quarter = {"name": "focal_loss", "gamma": 2.0, "alpha": 0.25}
  lr4x = uci_sweep.Sweep(learning_rates=(0.04, 0.004), seeds=(0, 1), epochs=3)
  a025_lr4x = uci_sweep.train_sweep(*splits, hidden_layers=1, loss=quarter, sweep=lr4x)
  a025 = uci_sweep.train_sweep(*splits, hidden_layers=1, loss=quarter, sweep=base)
  np.testing.assert_allclose(a025_lr4x["train"], a1["train"], atol=1e-6)
  np.testing.assert_allclose(a025_lr4x["validation"], a1["validation"], atol=1e-6)
  assert not np.array_equal(a025["train"], a1["train"])  # alpha = 0.25 at 1x is a different (slower) sweep


def test_mnist_digits_trains_el_table_1_and_hem_mnist_arms_one_fold_per_seed():
  study = mnist_digits.get_study()
  # L-Softmax CNN x {CE, EL LE = 1} and {LeNet, ConvNet, MLP} x {CE, HEM, MM, LogitNorm}, 5 seeds each.
  assert len(study.runs) == (1 * 2 + 3 * 4) * SEEDS == 70
  cells = _cells(study, "model")
  assert cells == {
    **{("lsoftmax_cnn", loss): SEEDS for loss in ("ce", "el_le1")},
    **{(model, loss): SEEDS for model in ("lenet", "convnet", "mlp") for loss in ("ce", "hem", "mm", "logit_norm")},
  }
  assert set(cells) == set(grid.STUDY_CELLS["mnist_digits"])
  folds = collections.defaultdict(set)
  for run in study.runs:
    config = run.config
    assert config.dataset.name == "mnist_digits" and config.model.name == run.labels["model"]
    assert _loss(run.config) == PAPER_LOSSES[run.labels["loss"]]
    # seed k trains on the other folds and tests fold k: over the 5 seeds every digit is tested once
    assert (config.dataset.train_split, config.dataset.eval_split) == (
      f"train_fold{run.seed}of5",
      f"test_fold{run.seed}of5",
    )
    assert config.dataset.train_subset is None and config.seed == run.seed
    folds[run.group].add(run.seed)
    if run.labels["model"] == "lsoftmax_cnn":  # EL Table 1's MNIST recipe
      # SGD with momentum 0.9 as the paper, at half its rate of 0.1 (at 0.1 EL diverges in the first epochs)
      assert (config.optimizer.name, config.optimizer.learning_rate, config.optimizer.momentum) == ("sgd", 0.05, 0.9)
      assert config.batch_size == 256 and config.optimizer.schedule == "constant"
      assert config.optimizer.warmup_epochs == 2 and config.num_epochs == 10
    else:  # HEM A.1's MNIST recipe
      assert (config.optimizer.name, config.optimizer.learning_rate) == ("adam", 1e-3)
      assert (config.batch_size, config.num_epochs) == (128, 20)
    # a test fold has 1,000 digits: no evaluation section asks for more
    sizes = ("corruption_subset", "ood_count", "attack_subset")
    assert all(0 < run.evaluation[k] <= 1000 for k in sizes) and run.evaluation.get("test_subset") is None
    # the L-Softmax CNN's claims read clean, OOD and FGSM accuracy only; HEM's networks get every section
    el_model = run.labels["model"] == "lsoftmax_cnn"
    assert run.evaluation.get("corruptions", True) != el_model and bool(run.evaluation["pgd_linf_eps"]) != el_model
    assert run.evaluation["fgsm_eps"] == (0.05, 0.1)
  assert all(seeds == {0, 1, 2, 3, 4} for seeds in folds.values())
  tiny = mnist_digits.get_study("tiny")
  assert 0 < len(tiny.runs) < len(study.runs) and set(_cells(tiny, "model")) <= set(cells)
