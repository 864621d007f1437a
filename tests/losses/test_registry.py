import subprocess
import sys

import numpy as np
import pytest

from el_jax import losses


def test_get_binds_hyper_parameters():
  z = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
  y = np.array([0, 1, 2, 0])
  fn = losses.get("encouraging_loss", log_end=0.5)
  np.testing.assert_array_equal(fn(z, y), losses.encouraging_loss(z, y, log_end=0.5))


def test_unknown_name_lists_valid_names():
  with pytest.raises(
    ValueError,
    match="Valid names: absolute_and_squared_error, absolute_error, complement_entropy_loss, cot_sum_loss, "
    "cross_entropy, dice_loss",
  ):
    losses.get("encouraging")


def test_unknown_hparam_lists_valid_ones():
  with pytest.raises(ValueError, match=r"\['log_edn'\].*log_end=1\.0"):
    losses.get("encouraging_loss", log_edn=0.5)


def test_required_hparams_are_listed_and_enforced():
  assert losses.hparams("hem_loss") == {"margin": "<required>", "margin_of": "competitor"}
  with pytest.raises(ValueError, match=r"needs hyper-parameter\(s\) \['class_counts'\]"):
    losses.get("logit_adjusted_loss", tau=1.0)


def test_check_labels():
  losses.check_labels(np.array([0, 1, 2]), 3)
  with pytest.raises(ValueError, match=r"\[0, 3\).*max 3"):
    losses.check_labels(np.array([0, 3]), 3)
  with pytest.raises(ValueError, match="min -1"):
    losses.check_labels(np.array([-1, 0]), 3)
  with pytest.raises(ValueError, match="integer"):
    losses.check_labels(np.array([0.5]), 3)


def test_import_needs_only_jax_and_numpy():
  code = (
    "import sys, el_jax.losses\n"
    "heavy = {'flax', 'optax', 'orbax', 'grain', 'tensorflow_datasets', 'tensorflow', 'torch'}\n"
    "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
  )
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
  assert out.stdout.strip() == "[]"
