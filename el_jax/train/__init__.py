"""Training: optimisers, jitted steps, checkpoints, metrics and the loop that ties them together."""

from el_jax.train.loop import evaluate, train_and_evaluate

__all__ = ["evaluate", "train_and_evaluate"]
