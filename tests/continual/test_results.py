import pytest

from el_jax.continual import summarise


def test_mean_accuracy_and_forgetting_of_a_hand_computed_matrix():
  rows = [[0.9], [0.6, 0.8], [0.5, 0.7, 0.9]]
  result = summarise(rows, 3)
  assert result["accuracy_matrix"] == [[0.9, None, None], [0.6, 0.8, None], [0.5, 0.7, 0.9]]
  assert result["episodes_done"] == 3 and result["task_accuracies"] == [0.5, 0.7, 0.9]
  assert result["mean_accuracy"] == pytest.approx(0.7)
  # Task 0 peaked at 0.9 and ends at 0.5, task 1 peaked at 0.8 and ends at 0.7: (0.4 + 0.1) / 2.
  assert result["forgetting"] == pytest.approx(0.25)


def test_forgetting_takes_the_best_accuracy_before_the_last_episode_not_the_first():
  rows = [[0.2], [0.6, 0.5], [0.4, 0.1, 0.3]]
  assert summarise(rows, 3)["forgetting"] == pytest.approx(((0.6 - 0.4) + (0.5 - 0.1)) / 2)


def test_an_unfinished_run_has_no_forgetting_yet():
  result = summarise([[0.9], [0.6, 0.8]], 5)
  assert "forgetting" not in result and result["episodes_done"] == 2
  assert result["accuracy_matrix"][1] == [0.6, 0.8, None, None, None]
  assert result["mean_accuracy"] == pytest.approx(0.7)
