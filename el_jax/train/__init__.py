"""Training: the run setup every entry point shares, the mesh, jitted steps, checkpoints, metrics and the loop.

  setup       `Inputs` (sources, normalisation, transforms, input shape) from `config.dataset`, `ModelSpec` from
              `config.model`, the objective from `config.loss`
  workdir     `Workdir`: every file of a run folder (config, model record, checkpoints, metrics log, results)
  mesh        the `(data, fsdp)` device mesh and the train state's shardings
  step        the train state and the jitted train and eval steps
  adversarial `config.adversarial`: PGD / FGSM examples crafted in the train step (adversarial training)
  optimizer   optax optimisers and learning-rate schedules by name
  checkpoint  Orbax save and restore, and the check that a checkpoint belongs to the run resuming it
  loop        `train_and_evaluate(config, workdir)`; its pieces (evaluation, metrics window, SIGTERM) are shared with
              the continual driver (`el_jax.continual`)
The input pipeline hands the loop global batches already laid out on the mesh (`el_jax.data.global_batches`).
"""

from el_jax import _extras

_extras.require("el_jax.train", "train")

from el_jax.train.loop import NonFiniteError, Preempted, evaluate, train_and_evaluate  # noqa: E402

__all__ = ["NonFiniteError", "Preempted", "evaluate", "train_and_evaluate"]
