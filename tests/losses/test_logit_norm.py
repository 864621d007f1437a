"""el_jax/losses/_logit_norm.py: LogitNorm's scale invariance and its reference values."""

import numpy as np

from el_jax import losses
from tests.losses import reference
from tests.losses.cases import inputs


def test_logit_norm_is_scale_invariant():
  z, y = inputs("softmax")
  np.testing.assert_allclose(losses.logit_norm_loss(z, y), losses.logit_norm_loss(10 * z, y), rtol=1e-5)
  np.testing.assert_allclose(losses.logit_norm_loss(z, y, tau=0.1), reference.logit_norm_loss(z, y, 0.1), rtol=1e-5)
