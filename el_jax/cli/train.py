"""`el-jax-train` (also `python -m el_jax.train` and the repository's `train.py`): trains a classifier as a config
describes, resuming from the workdir's latest checkpoint.

  el-jax-train --config quickstart --workdir runs/quickstart
  el-jax-train --config quickstart:smoke --config.num_epochs=1 --workdir /tmp/run
  python train.py --config configs/hem/mnist.py:model=lenet,loss=hem --workdir runs/hem_lenet

`--config FILE[:arg]` names a file defining `get_config(arg)`, or a config shipped with el_jax by its name
(`el_jax.configs.resolve`); `--config.key=value` overrides one entry of the (locked) config, so a mistyped key fails
before anything runs.

`--profile_steps=A:B` writes a `jax.profiler` trace of steps A..B-1 (1 <= A < B; e.g. 10:15, after compilation) to
`<workdir>/tensorboard/plugins/profile/`: `tensorboard --logdir <workdir>/tensorboard` shows it in its profile plugin
(pip install tensorboard-plugin-profile). Metrics go to the writers of `config.writers` (see README, "Logs").

Several processes (one per host) join with `--coordinator_address=HOST:PORT --num_processes=N --process_id=I`, or
with `--distributed` alone where JAX detects them (TPU pods, SLURM). `--cpu_devices=N` splits the CPU into N devices.

Exit status: 0 when training completes; 143 (128 + SIGTERM) after a SIGTERM and 130 (128 + SIGINT) after Ctrl-C,
once the checkpoint of the current step is committed (rerun the same command to resume); 1 on an error, e.g. a
non-finite loss.
"""

import functools
import sys

from absl import app, flags, logging
from ml_collections import config_flags

_CONFIG = config_flags.DEFINE_config_file("config", None, "Path to a config file, with an optional :arg.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Folder for checkpoints and metrics; a rerun resumes from it.")
_COORDINATOR = flags.DEFINE_string("coordinator_address", None, "HOST:PORT of process 0, for multi-process runs.")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Number of processes in a multi-process run.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "This process's index in a multi-process run.")
_DISTRIBUTED = flags.DEFINE_bool(
  "distributed", False, "Join a multi-process run, detecting the coordinator and process ids (TPU pods, SLURM)."
)
_PROFILE_STEPS = flags.DEFINE_string(
  "profile_steps", None, "A:B: write a jax.profiler trace of steps A..B-1 to <workdir>/tensorboard (1 <= A < B)."
)
_CPU_DEVICES = flags.DEFINE_integer("cpu_devices", None, "Split the CPU into this many devices (jax_num_cpu_devices).")
flags.mark_flags_as_required(["config", "workdir"])


def _init_jax():
  import jax

  if _CPU_DEVICES.value:
    jax.config.update("jax_num_cpu_devices", _CPU_DEVICES.value)
  if _DISTRIBUTED.value or _COORDINATOR.value or _NUM_PROCESSES.value or _PROCESS_ID.value is not None:
    # CPU processes exchange collectives over gloo; TPUs and GPUs use their own interconnect.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
      coordinator_address=_COORDINATOR.value, num_processes=_NUM_PROCESSES.value, process_id=_PROCESS_ID.value
    )


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  if not flags.FLAGS["verbosity"].present:
    # Library INFO logs (Orbax reports every save) drown the progress bar; `--verbosity=0` shows them.
    logging.set_verbosity(logging.WARNING)
  _init_jax()
  from el_jax import continual, train  # imported after flag parsing so `--help` and flag errors are fast

  # Continual-learning configs (a `continual` section) train a sequence of episodes; the others train once.
  if "continual" in _CONFIG.value:
    if _PROFILE_STEPS.value:
      raise app.UsageError("--profile_steps traces single runs; a continual config trains episodes.")
    run = continual.train_episodes
  else:
    try:
      train.loop.profile_range(_PROFILE_STEPS.value)  # a flag error, before anything runs
    except ValueError as e:
      raise app.UsageError(f"--{e}") from None
    run = functools.partial(train.train_and_evaluate, profile_steps=_PROFILE_STEPS.value)
  try:
    run(_CONFIG.value, _WORKDIR.value)
  except train.Preempted as e:
    print(e, file=sys.stderr)
    sys.exit(128 + e.signal_number)  # 143 after SIGTERM, 130 after SIGINT, as a shell reports a signal's end


def run():
  """The console script: resolves a shipped config's name, then parses the flags and trains."""
  from el_jax import configs

  sys.argv = configs.resolve_argv(sys.argv)
  app.run(main)


if __name__ == "__main__":
  run()
