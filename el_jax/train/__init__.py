"""Training: optimisers, jitted steps over a device mesh, checkpoints, metrics and the loop that ties them together."""

from el_jax.train.loop import NonFiniteError, Preempted, evaluate, train_and_evaluate

__all__ = ["NonFiniteError", "Preempted", "evaluate", "train_and_evaluate"]
