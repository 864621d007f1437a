"""A continual run's results from its accuracy matrix: average accuracy and the forgetting measure of Chaudhry et al.
(2018, "Riemannian walk for incremental learning", ECCV).

`R[t][j]` is the test accuracy on task `j` after training episode `t` (`j <= t`). After the last episode `T - 1`:

    mean_accuracy = (1 / T) sum_j R[T-1][j]
    forgetting    = (1 / (T - 1)) sum_{j < T-1} ( max_{j <= t < T-1} R[t][j] - R[T-1][j] )
"""

import numpy as np


def summarise(rows: list[list[float]], num_tasks: int) -> dict:
  """Final metrics from the rows `R[t][0..t]` of the accuracy matrix (see the module docstring).

  `accuracy_matrix` is `T x T` with None above the diagonal (tasks not yet trained); `forgetting` is there once all
  `num_tasks > 1` episodes are done.
  """
  matrix = [list(row) + [None] * (num_tasks - len(row)) for row in rows]
  final = rows[-1]
  result = {
    "episodes_done": len(rows),
    "mean_accuracy": float(np.mean(final)),
    "task_accuracies": [float(a) for a in final],
    "accuracy_matrix": matrix,
  }
  if len(rows) == num_tasks and num_tasks > 1:
    drops = [max(rows[t][j] for t in range(j, num_tasks - 1)) - final[j] for j in range(num_tasks - 1)]
    result["forgetting"] = float(np.mean(drops))
  return result
