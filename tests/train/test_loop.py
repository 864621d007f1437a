"""End-to-end training on a tiny synthetic Fashion-MNIST: metrics log, resume, and the command line."""

import glob
import json
import os
import re
import subprocess
import sys

import numpy as np
import orbax.checkpoint as ocp
import pytest

from el_jax import train
from el_jax.configs import quickstart

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _tiny_config(num_epochs):
  config = quickstart.get_config("smoke")
  config.dataset.train_subset = 256
  config.dataset.eval_subset = 250  # not a multiple of the eval batch: the last batch is padded
  config.batch_size = 32
  config.eval_batch_size = 100
  config.num_epochs = num_epochs
  return config


def _read_metrics(workdir):
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [json.loads(line) for line in f]


def _params(workdir, step):
  restored = ocp.StandardCheckpointer().restore(os.path.join(workdir, "checkpoints", str(step), "state"))
  return restored["params"]


@pytest.mark.slow
def test_resume_gives_the_same_parameters_as_an_uninterrupted_run(fake_fashion_mnist, tmp_path):
  straight, resumed = str(tmp_path / "straight"), str(tmp_path / "resumed")
  final = train.train_and_evaluate(_tiny_config(2), straight)
  train.train_and_evaluate(_tiny_config(1), resumed)
  final_resumed = train.train_and_evaluate(_tiny_config(2), resumed)

  a, b = _params(straight, 16), _params(resumed, 16)
  flat_a, flat_b = _flatten(a), _flatten(b)
  assert flat_a.keys() == flat_b.keys() and len(flat_a) == 8
  for key in flat_a:
    np.testing.assert_array_equal(flat_a[key], flat_b[key], err_msg=key)
  assert final == final_resumed
  # The same log line for line, but for the timing measurements.
  assert _strip_speed(_read_metrics(straight)) == _strip_speed(_read_metrics(resumed))


def _flatten(tree, prefix=""):
  out = {}
  for k, v in tree.items():
    if isinstance(v, dict):
      out |= _flatten(v, f"{prefix}{k}/")
    else:
      out[prefix + k] = np.asarray(v)
  return out


_TIMINGS = ("train/examples_per_second", "train/data_wait_fraction")


def _strip_speed(records):
  """The records without their timing measurements, which differ from run to run."""
  return [{k: v for k, v in m.items() if k not in _TIMINGS} for m in records]


@pytest.mark.slow
def test_metrics_log_has_eval_after_every_epoch(fake_fashion_mnist, tmp_path):
  workdir = str(tmp_path / "run")
  final = train.train_and_evaluate(_tiny_config(2), workdir)
  evals = [m for m in _read_metrics(workdir) if "eval/accuracy" in m]
  assert [(m["step"], m["epoch"]) for m in evals] == [(8, 1.0), (16, 2.0)]
  for m in evals:
    assert isinstance(m["eval/loss"], float) and 0.0 <= m["eval/accuracy"] <= 1.0
  assert evals[-1]["eval/accuracy"] == final["eval/accuracy"]
  # The synthetic classes differ by a bright band: two epochs learn them (train and eval see the same pixels).
  assert final["eval/accuracy"] >= 0.95
  # 250 examples: every accuracy is a multiple of 1/250, which it would not be if padding were counted.
  assert abs(final["eval/accuracy"] * 250 - round(final["eval/accuracy"] * 250)) < 1e-9
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == ["16", "8"]


def _run_cli(*args, data_dir):
  env = dict(os.environ, EL_JAX_DATA_DIR=str(data_dir))
  return subprocess.run([sys.executable, "train.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)


def test_mistyped_override_fails_before_training(fake_fashion_mnist_dir, tmp_path):
  workdir = tmp_path / "never"
  out = _run_cli(
    "--config",
    "configs/quickstart.py:smoke",
    "--config.optimizer.lerning_rate=0.1",
    f"--workdir={workdir}",
    data_dir=fake_fashion_mnist_dir,
  )
  assert out.returncode != 0
  assert "lerning_rate" in out.stderr
  assert not workdir.exists()


def test_unknown_config_argument_is_named(fake_fashion_mnist_dir, tmp_path):
  out = _run_cli(
    "--config",
    "configs/quickstart.py:smoek",
    f"--workdir={tmp_path}",
    data_dir=fake_fashion_mnist_dir,
  )
  assert out.returncode != 0 and "smoek" in out.stderr


@pytest.mark.slow
def test_cli_smoke_run_then_rerun_resumes(fake_fashion_mnist_dir, tmp_path):
  workdir = tmp_path / "cli"
  args = (
    "--config",
    "configs/quickstart.py:smoke",
    "--config.dataset.train_subset=256",
    "--config.dataset.eval_subset=250",
    "--config.num_epochs=1",
    f"--workdir={workdir}",
  )
  first = _run_cli(*args, data_dir=fake_fashion_mnist_dir)
  assert first.returncode == 0, first.stderr
  assert any("eval/accuracy" in m for m in _read_metrics(workdir))
  second = _run_cli(*args, data_dir=fake_fashion_mnist_dir)
  assert second.returncode == 0, second.stderr
  assert "training already complete (4 steps)" in second.stdout


@pytest.mark.slow
def test_load_model_restores_the_trained_model(fake_fashion_mnist, tmp_path):
  from el_jax import data
  from el_jax.data import pipeline
  from el_jax.train.workdir import Workdir

  workdir = str(tmp_path / "run")
  final = train.train_and_evaluate(_tiny_config(1), workdir)
  model, step = Workdir(workdir).load_model()
  assert step == 8
  eval_data = data.load("fashion_mnist", "test").take(250)
  batch = next(pipeline.eval_batches(eval_data, batch_size=250, normalization=data.normalization("fashion_mnist")))
  correct = int(np.sum(np.argmax(model(batch["image"]), -1) == batch["label"]))
  assert correct == round(final["eval/accuracy"] * 250)
  with pytest.raises(FileNotFoundError, match="not a workdir"):
    Workdir(str(tmp_path)).load_model()


@pytest.mark.slow
def test_non_finite_loss_stops_with_the_step_and_keeps_good_checkpoints(fake_fashion_mnist, tmp_path):
  config = _tiny_config(2)
  config.optimizer.name = "sgd"
  # The first update leaves weights ~1e18 (finite); through four layers the next logits overflow float32.
  config.optimizer.learning_rate = 1e18
  config.checkpoint_every_steps = 1
  config.log_every_steps = 1
  workdir = str(tmp_path / "nan")
  with pytest.raises(train.NonFiniteError, match=r"at step (\d+)") as info:
    train.train_and_evaluate(config, workdir)
  bad_step = int(re.search(r"at step (\d+)", str(info.value)).group(1))
  assert bad_step > 1 and f"last good checkpoint is step {bad_step - 1}" in str(info.value)
  saved = sorted(int(s) for s in os.listdir(os.path.join(workdir, "checkpoints")) if s.isdigit())
  assert all(s < bad_step for s in saved)
  for s in saved:
    assert all(np.isfinite(v).all() for v in _flatten(_params(workdir, s)).values())
  logged = [m["step"] for m in _read_metrics(workdir)]
  assert all(s < bad_step for s in logged)


@pytest.mark.slow
def test_resuming_another_experiment_is_refused(fake_fashion_mnist, tmp_path):
  workdir = str(tmp_path / "run")
  train.train_and_evaluate(_tiny_config(1), workdir)
  other = _tiny_config(2)
  other.model.name = "mlp"
  other.optimizer.learning_rate = 0.01
  with pytest.raises(
    ValueError,
    match=r"different experiment.*model\.name: checkpoint 'lenet', now 'mlp'.*"
    r"optimizer\.learning_rate",
  ):
    train.train_and_evaluate(other, workdir)


@pytest.mark.slow
def test_bfloat16_compute_trains_with_float32_state(fake_fashion_mnist, tmp_path):
  config = _tiny_config(2)
  config.compute_dtype = "bfloat16"
  workdir = str(tmp_path / "bf16")
  final = train.train_and_evaluate(config, workdir)
  assert final["eval/accuracy"] >= 0.95
  assert all(v.dtype == np.float32 for v in _flatten(_params(workdir, 16)).values())


@pytest.mark.slow
def test_tensorboard_events_hold_the_logged_scalars(fake_fashion_mnist, tmp_path):
  import glob
  import struct

  from tensorboardX.proto import event_pb2

  workdir = str(tmp_path / "tb")
  train.train_and_evaluate(_tiny_config(1), workdir)
  (path,) = glob.glob(os.path.join(workdir, "tensorboard", "events.out.tfevents.*"))
  scalars = {}
  with open(path, "rb") as f:  # TFRecord framing: length, length crc, payload, payload crc
    while header := f.read(12):
      (length,) = struct.unpack("<Q", header[:8])
      event = event_pb2.Event.FromString(f.read(length))
      f.read(4)
      for value in event.summary.value:
        scalars[(value.tag, event.step)] = value.simple_value
  final = [m for m in _read_metrics(workdir) if "eval/accuracy" in m][-1]
  assert scalars[("eval/accuracy", 8)] == pytest.approx(final["eval/accuracy"])
  assert ("train/grad_norm", 8) in scalars


@pytest.mark.slow
def test_batchnorm_model_trains_and_resumes_exactly(fake_fashion_mnist, tmp_path):
  """A model with BatchNorm statistics (non-parameter state) through training, eval and resume."""

  def config(num_epochs):
    c = _tiny_config(num_epochs)
    c.model = {"name": "resnet20"}
    c.dataset.train_subset = 128
    return c

  straight, resumed = str(tmp_path / "straight"), str(tmp_path / "resumed")
  final = train.train_and_evaluate(config(2), straight)
  train.train_and_evaluate(config(1), resumed)
  assert train.train_and_evaluate(config(2), resumed) == final
  restored = ocp.StandardCheckpointer().restore(os.path.join(straight, "checkpoints", "8", "state"))
  stats = _flatten(restored["model_state"])
  means = [v for k, v in stats.items() if "/mean" in k]
  assert means and all(np.any(v != 0) for v in means)  # running means start at 0: updated from the data


@pytest.mark.slow
def test_loss_schedule_follows_the_training_step(fake_fashion_mnist, tmp_path):
  """EL with its bonus deferred to mid-training trains exactly as cross-entropy until then, and differently after."""

  def curve(loss, workdir):
    config = _tiny_config(2)
    config.loss = loss
    config.log_every_steps = 1
    train.train_and_evaluate(config, str(tmp_path / workdir))
    return [m["train/loss"] for m in _read_metrics(str(tmp_path / workdir)) if "train/loss" in m]

  ce = curve({"name": "cross_entropy"}, "ce")
  deferred = curve({"name": "encouraging_loss", "bonus_defer": 0.5}, "el")
  assert len(ce) == len(deferred) == 16
  assert deferred[:8] == ce[:8]  # progress < 0.5: the bonus weight is 0
  assert all(d < c for d, c in zip(deferred[8:], ce[8:], strict=True))  # the bonus is <= 0 and now on


@pytest.mark.slow
def test_synthetic_cifar_with_augmentation_trains(tmp_path):
  config = quickstart.get_config("smoke")
  config.dataset.name = "synthetic:cifar10"
  config.dataset.normalize = False
  config.dataset.augmentation = "cifar"
  config.dataset.train_subset = 128
  config.dataset.eval_subset = 100
  config.model = {"name": "resnet20"}
  config.batch_size = 32
  config.eval_batch_size = 50
  config.num_epochs = 1
  final = train.train_and_evaluate(config, str(tmp_path / "cifar"))
  assert 0.0 <= final["eval/accuracy"] <= 1.0 and np.isfinite(final["eval/loss"])
  with open(tmp_path / "cifar" / "model.json") as f:
    assert json.load(f)["input_shape"] == [32, 32, 3]


def _wandb_records(run_folder):
  """The records of an offline W&B run, as `wandb leet inspect --json` prints them (one JSON object per line)."""
  out = subprocess.run(
    [sys.executable, "-m", "wandb", "leet", "inspect", "--json", run_folder],
    capture_output=True,
    text=True,
    timeout=120,
  )
  assert out.returncode == 0, out.stderr
  return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


@pytest.mark.slow
def test_wandb_logs_what_metrics_jsonl_holds(fake_fashion_mnist, offline_wandb, tmp_path):
  config = _tiny_config(2)
  config.writers = ("jsonl", "tensorboard", "wandb")
  config.wandb.tags = ("test",)
  workdir = str(tmp_path / "wandb_run")
  final = train.train_and_evaluate(config, workdir)

  (run_folder,) = glob.glob(os.path.join(workdir, "wandb", "offline-run-*"))
  records = _wandb_records(run_folder)
  (run,) = [r["run"] for r in records if r["type"] == "run"]
  assert run["display_name"] == "wandb_run" and run["project"] == "el_jax" and run["tags"] == ["test"]
  assert run["run_id"] == open(os.path.join(workdir, "wandb_run_id.txt")).read().strip()
  assert run["config"]["update"]["writers"] == ["jsonl", "tensorboard", "wandb"]
  # W&B holds one row per step; metrics.jsonl's records of a step (train, then eval) are merged into it.
  expected = {}
  for record in _read_metrics(workdir):
    expected.setdefault(record.pop("step"), {}).update(record)
  history = {
    r["history"]["step"]["num"]: {k: v for k, v in r["history"]["item"].items() if not k.startswith("_")}
    for r in records
    if r["type"] == "history"
  }
  assert history == expected
  assert history[16]["eval/accuracy"] == final["eval/accuracy"]


@pytest.mark.slow
def test_profile_steps_write_a_trace_viewable_in_tensorboard(fake_fashion_mnist, tmp_path):
  workdir = str(tmp_path / "profiled")
  train.train_and_evaluate(_tiny_config(1), workdir, profile_steps="2:4")
  traces = glob.glob(os.path.join(workdir, "tensorboard", "plugins", "profile", "*", "*.xplane.pb"))
  assert len(traces) == 1 and os.path.getsize(traces[0]) > 0


@pytest.mark.parametrize("steps", ["0:3", "4:4", "5:2", "3", "a:b", "1:2:3", (2, 1), 3])
def test_invalid_profile_steps_fail_before_anything_runs(steps, tmp_path):
  with pytest.raises(ValueError, match=r"profile_steps=.* is invalid: use A:B, .* with 1 <= A < B"):
    train.train_and_evaluate(_tiny_config(1), str(tmp_path / "never"), profile_steps=steps)
  assert not (tmp_path / "never").exists()


def test_invalid_profile_steps_flag_is_a_usage_error(fake_fashion_mnist_dir, tmp_path):
  workdir = tmp_path / "never"
  out = _run_cli(
    "--config",
    "configs/quickstart.py:smoke",
    "--profile_steps=3:2",
    f"--workdir={workdir}",
    data_dir=fake_fashion_mnist_dir,
  )
  assert out.returncode != 0 and "--profile_steps='3:2' is invalid" in out.stderr
  assert not workdir.exists()
