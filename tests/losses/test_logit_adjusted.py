"""el_jax/losses/_logit_adjusted.py: the logit-adjusted loss and its class counts."""

import numpy as np
import pytest

from el_jax import losses
from tests.losses.cases import inputs


def test_logit_adjusted_with_uniform_counts_is_cross_entropy():
  z, y = inputs("softmax")
  np.testing.assert_allclose(losses.logit_adjusted_loss(z, y, class_counts=np.full(5, 7)), losses.cross_entropy(z, y))
  with pytest.raises(ValueError, match="class_counts"):
    losses.logit_adjusted_loss(z, y, class_counts=[1, 2, 3])
