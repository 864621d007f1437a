"""Checkpoints: the checksums recorded at save time, and what a damaged checkpoint does to a resume or an evaluation."""

import glob
import os
import warnings

import jax.numpy as jnp
import numpy as np
import pytest

from el_jax import train
from el_jax.configs import quickstart
from el_jax.train import checkpoint
from el_jax.train.workdir import SET_ASIDE_NAME, Workdir


def _reference_checksum(x: np.ndarray) -> list[int]:
  """The two checksums written from their definition: sums of the 32-bit words, plain and position-weighted."""
  words = np.ascontiguousarray(x).view({1: np.uint8, 2: np.uint16, 4: np.uint32}[x.dtype.itemsize])
  words = words.ravel().astype(np.uint64)
  weights = (np.arange(words.size, dtype=np.uint64) * 0x9E3779B1 + 1) % 2**32
  return [int(words.sum() % 2**32), int((words * weights % 2**32).sum() % 2**32)]


def test_checksums_follow_their_definition_and_see_one_flipped_bit_and_a_swap():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(64, 33)).astype(np.float32)
  tokens = rng.integers(0, 50, size=(7,)).astype(np.int32)
  half = rng.normal(size=(5, 3)).astype(jnp.bfloat16)
  state = {"params": {"w": jnp.asarray(x), "b": jnp.asarray(half)}, "step": jnp.asarray(tokens)}
  found = checkpoint.checksums(state)
  assert found["params"] == _reference_checksum(half) + _reference_checksum(x)  # leaves in key order: b, w
  assert found["step"] == _reference_checksum(tokens)
  flipped = x.copy()
  flipped.view(np.uint32)[10, 3] ^= 1 << 7
  swapped = x.copy()
  swapped[[0, 1]] = swapped[[1, 0]]
  for changed in (flipped, swapped):
    assert checkpoint.checksums({"w": jnp.asarray(changed)})["w"] != checkpoint.checksums({"w": jnp.asarray(x)})["w"]
  assert checkpoint.checksums({"w": jnp.asarray(swapped)})["w"][0] == _reference_checksum(x)[0]  # the plain sum
  assert checkpoint.checksums({"m": jnp.asarray([True, False])})["m"] == [1, 1]


def _config(num_epochs=2):
  config = quickstart.get_config("smoke")
  config.dataset.train_subset, config.dataset.eval_subset = 256, 100
  config.batch_size, config.eval_batch_size = 32, 100
  config.num_epochs = num_epochs  # 8 steps an epoch, a checkpoint at each epoch's end
  return config


def _truncate_meta(workdir, step):
  with open(os.path.join(workdir, "checkpoints", str(step), "meta", "metadata"), "r+b") as f:
    f.truncate(5)


def _damage(workdir, step):
  """Overwrites 8 bytes in the middle of the largest data file of checkpoint `step` (the arrays then differ from
  their checksums, or a compressed chunk no longer decodes: either is a damaged checkpoint)."""
  files = [p for p in glob.glob(os.path.join(workdir, "checkpoints", str(step), "state", "**"), recursive=True)]
  path = max((p for p in files if os.path.isfile(p)), key=os.path.getsize)
  with open(path, "r+b") as f:
    f.seek(os.path.getsize(path) // 2)
    f.write(b"\xff" * 8)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, fake_fashion_mnist_dir):
  """A run of 3 epochs (checkpoints at steps 16 and 24 kept) and its final eval metrics."""
  with pytest.MonkeyPatch.context() as patch:
    patch.setenv("EL_JAX_DATA_DIR", str(fake_fashion_mnist_dir))
    workdir = str(tmp_path_factory.mktemp("reference"))
    metrics = train.train_and_evaluate(_config(3), workdir)
  return workdir, metrics


@pytest.mark.slow
def test_a_damaged_latest_checkpoint_is_set_aside_and_the_run_resumes_from_the_intact_one(
  fake_fashion_mnist, tmp_path, trained
):
  reference_dir, reference = trained
  workdir = str(tmp_path / "run")
  train.train_and_evaluate(_config(2), workdir)  # checkpoints 8 and 16
  _damage(workdir, 16)
  with pytest.warns(UserWarning, match=r"checkpoint 16\b.*moved to .*checkpoints_set_aside/16"):
    final = train.train_and_evaluate(_config(3), workdir)  # resumes from 8, trains 9..24
  assert final == reference
  assert os.listdir(os.path.join(workdir, SET_ASIDE_NAME)) == ["16"]  # kept, not deleted
  model, step = Workdir(workdir).load_model()
  reference_model, _ = Workdir(reference_dir).load_model()
  np.testing.assert_array_equal(model.head.kernel[...], reference_model.head.kernel[...])


@pytest.mark.slow
def test_a_stray_empty_step_folder_or_a_truncated_file_is_set_aside(fake_fashion_mnist, tmp_path):
  workdir = str(tmp_path / "run")
  train.train_and_evaluate(_config(1), workdir)  # checkpoint 8
  os.makedirs(os.path.join(workdir, "checkpoints", "100"))
  with pytest.warns(UserWarning, match="checkpoint 100 has no readable meta"):
    train.train_and_evaluate(_config(2), workdir)  # from 8 to 16
  _truncate_meta(workdir, 16)
  with pytest.warns(UserWarning, match="checkpoint 16 has no readable meta"):
    final = train.train_and_evaluate(_config(2), workdir)  # 8 is intact: trains 9..16 again
  assert final["eval/accuracy"] > 0.2
  assert sorted(os.listdir(os.path.join(workdir, SET_ASIDE_NAME))) == ["100", "16"]


@pytest.mark.slow
def test_with_no_intact_checkpoint_the_error_says_so_and_a_rerun_starts_afresh(fake_fashion_mnist, tmp_path, trained):
  workdir = str(tmp_path / "run")
  train.train_and_evaluate(_config(1), workdir)
  _damage(workdir, 8)
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    with pytest.raises(checkpoint.CorruptCheckpoint, match="holds no intact checkpoint: .*Rerun the same command"):
      train.train_and_evaluate(_config(3), workdir)
  assert train.train_and_evaluate(_config(3), workdir) == trained[1]  # from the start, as an uninterrupted run


@pytest.mark.slow
def test_evaluation_loads_the_newest_intact_checkpoint_and_refuses_a_damaged_one_asked_for(tmp_path, trained):
  import shutil

  workdir = str(tmp_path / "copy")
  shutil.copytree(trained[0], workdir)
  _truncate_meta(workdir, 24)
  with pytest.warns(UserWarning, match="checkpoint 24 has no readable meta.*Loading an older checkpoint"):
    _, step = Workdir(workdir).load_model()
  assert step == 16
  with pytest.raises(checkpoint.CorruptCheckpoint, match="checkpoint 24"):
    Workdir(workdir).load_model(24)


def test_restore_refuses_arrays_that_differ_from_their_recorded_checksums(tmp_path):
  import jax

  state = {"params": {"w": jnp.arange(6.0).reshape(2, 3)}, "step": jnp.asarray(3, jnp.int32)}
  with checkpoint.manager(str(tmp_path), max_to_keep=None) as mngr:
    checkpoint.save(mngr, 1, state, {"config": {}})
    mngr.wait_until_finished()
    meta = checkpoint.read_meta(mngr, 1)
    assert meta["checksums"] == checkpoint.checksums(state)
    abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), state)
    restored = checkpoint.restore(mngr, 1, abstract, meta)
    np.testing.assert_array_equal(restored["params"]["w"], state["params"]["w"])
    tampered = dict(meta, checksums=dict(meta["checksums"], params=[0, 0]))  # as if the file's bytes had changed
    with pytest.raises(checkpoint.CorruptCheckpoint, match="checkpoint 1: the arrays of params differ"):
      checkpoint.restore(mngr, 1, abstract, tampered)
