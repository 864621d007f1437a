"""Placeholder: evaluators run during training (to be replaced by the evaluator registry)."""


def check_evals(evals: dict) -> dict:
  if evals:
    raise ValueError(f"config.evals is not supported yet: {sorted(evals)}.")
  return {}


def due(evals: dict, epoch: int) -> dict:
  return {}


def run_during_training(due: dict, model, inputs, loss: dict, *, seed: int = 0) -> dict:
  return {}
