"""The study configs build their grids from `el_jax.studies.grid`: every loss on every model for every seed, run labels
that say what each run trains (checked against the papers' settings), and tiny versions drawn from the full grids."""

import collections

import pytest

from configs.studies import el_analyses, fashion_mnist, long_tail, uci
from el_jax.studies import grid

# Run counts worked out from the studies' descriptions: models (or ratios) x losses x 3 seeds.
FULL_RUNS = [
  (fashion_mnist, "model", 3 * 11 * 3),  # LeNet, MLP, ConvNet; the three papers' 11 losses
  (long_tail, "imbalance", 2 * 5 * 3),  # ratios 100 and 10; CE, logit-adjusted, HEM, HEM+, EL aggressive
  (el_analyses, "model", 1 * 2 * 3),  # LeNet; CE and EL (LE = 1) at half the learning rate
]
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
  "mm": {"name": "multiclass_margin_loss", "margin": 1.0},
  "logit_norm": {"name": "logit_norm_loss", "tau": 0.04},
  "logit_adjusted": {"name": "logit_adjusted_loss", "class_counts": "train", "tau": 1.0},
}


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
  assert _cells(study, group_key) == {(group, loss): 3 for group in groups for loss in losses}
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
      assert run.config.loss.to_dict() == PAPER_LOSSES[run.labels["loss"]]
    # HEM's MNIST recipe: Adam 1e-3, batch 128, 20 epochs
    assert (run.config.optimizer.name, run.config.optimizer.learning_rate) == ("adam", 1e-3)
    assert (run.config.batch_size, run.config.num_epochs) == (128, 20)
    expected = 3_000 if run.labels["model"] == "convnet" else 10_000
    assert run.config.dataset.train_subset == expected
    assert run.evaluation["probe"] == (run.labels["model"] == "lenet" and run.labels["loss"] in grid.PROBED_LOSSES)


def test_long_tail_runs_train_their_imbalance_ratio_and_loss():
  for run in long_tail.get_study().runs:
    assert run.labels["imbalance"] == f"ratio{run.config.dataset.long_tail_ratio:g}"
    assert run.config.model.name == "lenet"
    assert run.config.loss.to_dict() == PAPER_LOSSES[run.labels["loss"]]


def test_el_analyses_runs_train_lenet_at_half_the_learning_rate():
  for run in el_analyses.get_study().runs:
    assert run.labels["loss"].endswith("_half_lr")
    loss = run.labels["loss"].removesuffix("_half_lr")
    assert run.config.model.name == run.labels["model"] == "lenet"
    assert run.config.optimizer.learning_rate == 5e-4
    assert run.config.loss.to_dict() == PAPER_LOSSES[loss]
    assert run.evaluation["probe"]


def test_uci_sweep_trains_table_4_networks_and_losses():
  sweep = uci.get_study().uci
  assert sweep.networks == {"linear": 0, "hidden": 1}  # hidden layers: a linear classifier and one hidden layer
  assert tuple(sweep.losses) == grid.UCI_LOSSES
  assert sweep.losses["focal"] == {"name": "focal_loss", "gamma": 2.0, "alpha": 0.25}  # Table 4's focal baseline
  assert sweep.losses["expectation"] == {"name": "expectation_loss"}
  for label in set(sweep.losses) & set(PAPER_LOSSES):
    assert sweep.losses[label] == PAPER_LOSSES[label]
  tiny = uci.get_study("tiny").uci
  assert tiny.networks == sweep.networks and set(tiny.losses) <= set(sweep.losses)
