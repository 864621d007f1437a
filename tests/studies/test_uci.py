"""The UCI protocol: Table 4's statistics on hand-computed cases, the validation choice, and the vmapped sweep
against single (learning rate, seed) runs."""

import numpy as np
import pytest

from el_jax import data
from el_jax.studies import uci


def _record(dataset, loss, test, network="linear"):
  return {"dataset": dataset, "network": network, "loss": loss, "test": test}


def test_table4_wins_delta_and_ranks_by_hand():
  records = [
    _record("a", "ce", [0.80, 0.80]),
    _record("a", "mix", [0.90, 0.90]),
    _record("a", "el", [0.70, 0.70]),
    _record("b", "ce", [0.50, 0.70]),  # mean 0.60, ties with mix
    _record("b", "mix", [0.60, 0.60]),
    _record("b", "el", [0.40, 0.40]),
  ]
  stats = uci.table4(records)["linear"]
  # set a: mix 1st, ce 2nd, el 3rd; set b: ce and mix tie for 1st (rank 1.5 each), el 3rd.
  assert stats["mix"] == {"wins": 2, "delta_accuracy": pytest.approx(5.0), "mean_rank": 1.25}
  assert stats["ce"] == {"wins": 1, "delta_accuracy": 0.0, "mean_rank": 1.75}
  assert stats["el"] == {"wins": 0, "delta_accuracy": pytest.approx(-15.0), "mean_rank": 3.0}


def test_select_takes_best_validation_epoch_and_learning_rate_per_seed():
  validation = np.zeros((3, 2, 2))  # [epochs, lrs, seeds]
  test = np.arange(12, dtype=float).reshape(3, 2, 2)
  validation[1, 1, 0] = 0.9  # seed 0: epoch 2, lr index 1
  validation[2, 0, 1] = 0.8  # seed 1: epoch 3, lr index 0
  validation[0, 1, 1] = 0.8  # a tie for seed 1: the smaller learning-rate index wins, then the earlier epoch
  chosen = uci.select({"validation": validation, "test": test})
  assert chosen["learning_rate_index"] == [1, 0]
  assert chosen["epoch"] == [2, 3]
  assert chosen["test"] == [test[1, 1, 0], test[2, 0, 1]]


@pytest.fixture(scope="module")
def iris():
  return [data.load("uci_iris", split) for split in ("train", "validation", "test")]


def test_sweep_pairs_are_independent_runs(iris):
  loss = {"name": "mixed_ce_expectation", "focus_schedule": "F=0-0.5"}
  sweep = uci.Sweep(learning_rates=(0.01, 0.001), seeds=(0, 3), epochs=4)
  both = uci.train_sweep(*iris, hidden_layers=1, loss=loss, sweep=sweep)
  alone = uci.train_sweep(
    *iris, hidden_layers=1, loss=loss, sweep=uci.Sweep(learning_rates=(0.001,), seeds=(3,), epochs=4)
  )
  for split in ("train", "validation", "test"):
    assert both[split].shape == (4, 2, 2)
    np.testing.assert_allclose(both[split][:, 1, 1], alone[split][:, 0, 0], atol=1e-6)


def test_zero_learning_rate_keeps_the_initial_network(iris):
  sweep = uci.Sweep(learning_rates=(0.0,), seeds=(0,), epochs=3)
  accuracies = uci.train_sweep(*iris, hidden_layers=0, loss={"name": "cross_entropy"}, sweep=sweep)
  assert np.ptp(accuracies["test"]) == 0.0


def test_linear_softmax_regression_learns_iris(iris):
  sweep = uci.Sweep(learning_rates=(0.01,), seeds=(0,), epochs=50)
  accuracies = uci.train_sweep(*iris, hidden_layers=0, loss={"name": "cross_entropy"}, sweep=sweep)
  assert accuracies["train"][-1].item() >= 0.9


def test_too_small_training_set_is_an_error(iris):
  tiny = iris[0].take(5)
  with pytest.raises(ValueError, match="fewer than one batch"):
    uci.train_sweep(tiny, *iris[1:], hidden_layers=0, loss={"name": "cross_entropy"}, sweep=uci.Sweep())
