"""The driver's checks of a config, which fail before anything is trained or written (the runs themselves are in
tests/e2e/test_continual.py)."""

import os

import pytest

from el_jax import continual


@pytest.mark.parametrize(
  ("change", "message"),
  [
    (lambda c: setattr(c.continual, "strategy", "gem"), "Unknown continual.strategy 'gem'. Valid: replay, ewc"),
    (lambda c: c.continual.lfl.unlock().__setitem__("lambda_e", 1.0), r"config.continual.lfl: unknown 'lambda_e'"),
    (lambda c: setattr(c, "compute_dtype", "bfloat16"), "trains in float32 only"),
    (lambda c: setattr(c.continual, "num_tasks", 1), "num_tasks must be at least 2, got 1"),
    (
      lambda c: c.adversarial.update({"attack": "fgsm", "eps": 0.1}),
      "config.adversarial is not supported by the continual-learning trainer",
    ),
    (
      lambda c: c.loss.unlock().__setitem__("alternate", {"name": "complement_entropy_loss"}),
      r"config.loss.alternate \(a second update per batch\) is not supported by the continual-learning trainer",
    ),
  ],
)
def test_a_bad_config_is_refused_before_the_workdir_is_touched(tiny_config, tmp_path, change, message):
  config = tiny_config("lfl")
  change(config)
  workdir = tmp_path / "never"
  with pytest.raises(ValueError, match=message):
    continual.train_episodes(config, str(workdir))
  assert not os.path.exists(workdir)
