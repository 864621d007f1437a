import jax
import numpy as np
import pytest

from el_jax import losses
from tests.losses import reference
from tests.losses.cases import inputs


def test_hem_margin_defaults():
  np.testing.assert_allclose(losses.hem_margin(50_000), 0.2)  # CIFAR-10 (HEM §4.2)
  np.testing.assert_allclose(losses.hem_margin(60_000, M=2000), np.sqrt(2000 / 60_000))
  counts = np.array([5000, 500, 50])
  np.testing.assert_allclose(losses.hem_plus_margins(counts), np.sqrt(2000 / (3 * counts)), rtol=1e-6)
  with pytest.raises(ValueError, match="positive"):
    losses.hem_plus_margins([10, 0])


def test_per_logit_margins_match_reference():
  z, y = inputs("softmax", scale=1.0)
  mu = losses.hem_plus_margins([400, 100, 50, 20, 10])
  np.testing.assert_allclose(losses.hem_loss(z, y, margin=mu), reference.hem_loss(z, y, mu), rtol=1e-5)
  np.testing.assert_allclose(
    losses.multiclass_margin_loss(z, y, margin=mu), reference.multiclass_margin_loss(z, y, mu), rtol=1e-5
  )


def test_hem_hand_example():
  # errors (label 0, margin 1): [0, max(0, 2-3+1)=0, 4-3+1=2, 3-3+1=1]; mean 0.75; kept {2, 1}: loss 1.5.
  z = np.array([[3.0, 2.0, 4.0, 3.0]], np.float32)
  np.testing.assert_allclose(losses.hem_loss(z, np.array([0]), margin=1.0), [1.5])
  np.testing.assert_allclose(losses.multiclass_margin_loss(z, np.array([0]), margin=1.0), [0.75])
  grad = jax.grad(lambda z: losses.hem_loss(z, np.array([0]), margin=1.0).sum())(z)
  np.testing.assert_allclose(grad, [[-1.0, 0.0, 0.5, 0.5]])  # the threshold is not differentiated
  grad = jax.grad(lambda z: losses.multiclass_margin_loss(z, np.array([0]), margin=1.0).sum())(z)
  np.testing.assert_allclose(grad, [[-0.5, 0.0, 0.25, 0.25]])


def test_well_separated_examples_have_zero_loss():
  z = np.array([[10.0, 0.0, 0.0]], np.float32)
  assert losses.hem_loss(z, np.array([0]), margin=0.2)[0] == 0.0


def test_hem_reduce_averages_above_zero_values():
  values = np.array([0.0, 2.0, 0.0, 4.0, 3.0])
  np.testing.assert_allclose(losses.hem_reduce(values), reference.hem_reduce(values))
  np.testing.assert_allclose(losses.hem_reduce(values, where=np.array([1, 1, 1, 0, 1], bool)), 2.5)
  assert losses.hem_reduce(np.zeros(4)) == 0.0
  grad = jax.grad(losses.hem_reduce)(values)
  np.testing.assert_allclose(grad, [0, 1 / 3, 0, 1 / 3, 1 / 3])  # the count is not differentiated


def test_bad_margin_shape():
  with pytest.raises(ValueError, match="margin"):
    losses.hem_loss(*inputs("softmax"), margin=np.ones(3))


@pytest.mark.parametrize("loss", [losses.hem_loss, losses.multiclass_margin_loss])
def test_negative_margins_raise(loss):
  z, y = inputs("softmax")
  with pytest.raises(ValueError, match=r"margin must be >= 0, got \[-0\.1\]"):
    loss(z, y, margin=-0.1)
  with pytest.raises(ValueError, match=r"margin must be >= 0, got \[-0\.5\] at index \[3\]"):
    loss(z, y, margin=np.array([0.2, 0.2, 0.2, -0.5, 0.2]))  # HEM+'s per-class margins
  with pytest.raises(ValueError, match=r"margin must be >= 0, got \[nan\]"):
    loss(z, y, margin=float("nan"))
  np.testing.assert_allclose(loss(z, y, margin=0.0), getattr(reference, loss.__name__)(z, y, 0.0), rtol=1e-5)


def test_hem_reduce_keeps_nan_unless_masked():
  values = np.array([0.0, 2.0, np.nan, 4.0])
  assert np.isnan(losses.hem_reduce(values))
  np.testing.assert_allclose(losses.hem_reduce(values, where=np.array([1, 1, 0, 1], bool)), 3.0)


# ---- HEM+'s two readings of per-class margins -----------------------------------------------------------------------

# Label 3 (z_y = 3), per-class margins mu = [1, 0.5, 0.2, 2]:
#   competitor (mu_i): e = [3-3+1, max(0, 2-3+0.5), 4-3+0.2, 0] = [1, 0, 1.2, 0]; MM 2.2/4 = 0.55; mean 0.55, HEM keeps
#     {1, 1.2}: 1.1
#   label (mu_y = 2):  e = [3-3+2, 2-3+2, 4-3+2, 0] = [2, 1, 3, 0];      MM 6/4 = 1.5;   mean 1.5,  HEM keeps
#     {2, 3}: 2.5
HAND_Z, HAND_Y, HAND_MU = np.array([[3.0, 2.0, 4.0, 3.0]], np.float32), np.array([3]), np.array([1.0, 0.5, 0.2, 2.0])


@pytest.mark.parametrize("margin_of, mm, hem", [("competitor", 0.55, 1.1), ("label", 1.5, 2.5)])
def test_per_class_margins_hand_example(margin_of, mm, hem):
  kwargs = {"margin": HAND_MU, "margin_of": margin_of}
  np.testing.assert_allclose(losses.multiclass_margin_loss(HAND_Z, HAND_Y, **kwargs), [mm], rtol=1e-6)
  np.testing.assert_allclose(losses.hem_loss(HAND_Z, HAND_Y, **kwargs), [hem], rtol=1e-6)
  # HEM keeps logits 0 and 2 under both readings: 1/2 at each, -1 at the label
  grad = jax.grad(lambda z: losses.hem_loss(z, HAND_Y, **kwargs).sum())(HAND_Z)
  np.testing.assert_allclose(grad, [[0.5, 0.0, 0.5, -1.0]])
  # the margins' gradient: 1/2 for each kept competitor's own margin, or 1 for the label's margin
  grad_mu = jax.grad(lambda mu: losses.hem_loss(HAND_Z, HAND_Y, margin=mu, margin_of=margin_of).sum())(HAND_MU)
  np.testing.assert_allclose(grad_mu, [0.5, 0.0, 0.5, 0.0] if margin_of == "competitor" else [0.0, 0.0, 0.0, 1.0])


@pytest.mark.parametrize("margin_of", ["competitor", "label"])
def test_per_class_margins_match_reference(margin_of):
  z, y = inputs("softmax", shape=(16, 5), scale=1.0, seed=3)
  mu = losses.hem_plus_margins([400, 100, 50, 20, 10])
  got = losses.hem_loss(z, y, margin=mu, margin_of=margin_of)
  np.testing.assert_allclose(got, reference.hem_loss(z, y, mu, margin_of), rtol=1e-5)
  got = losses.multiclass_margin_loss(z, y, margin=mu, margin_of=margin_of)
  np.testing.assert_allclose(got, reference.multiclass_margin_loss(z, y, mu, margin_of), rtol=1e-5)


def test_the_label_reading_is_the_competitor_reading_with_the_labels_margin_everywhere():
  # a [K] vector equal to mu_y everywhere, read on the competitors, gives the label reading of mu for class y
  z, y = inputs("softmax", shape=(6, 5), scale=1.0, seed=4)
  mu = losses.hem_plus_margins([400, 100, 50, 20, 10])
  for n in range(len(y)):
    expected = losses.hem_loss(z[n : n + 1], y[n : n + 1], margin=float(mu[y[n]]))
    np.testing.assert_allclose(losses.hem_loss(z[n : n + 1], y[n : n + 1], margin=mu, margin_of="label"), expected)


def test_scalar_margins_read_alike_and_a_bad_reading_is_named():
  z, y = inputs("softmax")
  np.testing.assert_allclose(
    losses.hem_loss(z, y, margin=0.3, margin_of="label"), losses.hem_loss(z, y, margin=0.3), rtol=1e-6
  )
  with pytest.raises(ValueError, match=r"margin_of must be one of 'competitor', 'label'.*got 'own'"):
    losses.hem_loss(z, y, margin=0.3, margin_of="own")
  with pytest.raises(ValueError, match="margin_of"):
    losses.get_objective("multiclass_margin_loss", margin_of="own")(z, y)


# ---- HEM appendix B.2: MM with each of HEM's changes ---------------------------------------------------------------

# Label 0, margin 1, z = [3, 2.5, 4, 3]: e = [0, 0.5, 2, 1], mean 0.875.
#   MM: 3.5/4 = 0.875.  +thres (keep e >= 0.875: {2, 1}): 3/4 = 0.75.  +maz (mean of {0.5, 2, 1}): 3.5/3.
#   +maz+thres = HEM: 3/2 = 1.5.
ABLATION_Z = np.array([[3.0, 2.5, 4.0, 3.0]], np.float32)
ABLATION = [
  ({}, 0.875, [-3 / 4, 1 / 4, 1 / 4, 1 / 4]),
  ({"mean_threshold": True}, 0.75, [-2 / 4, 0.0, 1 / 4, 1 / 4]),
  ({"above_zero_mean": True}, 3.5 / 3, [-1.0, 1 / 3, 1 / 3, 1 / 3]),
  ({"mean_threshold": True, "above_zero_mean": True}, 1.5, [-1.0, 0.0, 1 / 2, 1 / 2]),
]


@pytest.mark.parametrize("flags, value, grad", ABLATION, ids=["mm", "thres", "maz", "maz_thres"])
def test_ablation_hand_example(flags, value, grad):
  loss = lambda z: losses.multiclass_margin_loss(z, np.array([0]), margin=1.0, **flags)  # noqa: E731
  np.testing.assert_allclose(loss(ABLATION_Z), [value], rtol=1e-6)
  np.testing.assert_allclose(jax.grad(lambda z: loss(z).sum())(ABLATION_Z), [grad], rtol=1e-6)


@pytest.mark.parametrize("flags", [f for f, _, _ in ABLATION], ids=["mm", "thres", "maz", "maz_thres"])
def test_ablations_match_reference(flags):
  z, y = inputs("softmax", shape=(16, 5), scale=1.0, seed=5)
  mu = losses.hem_plus_margins([400, 100, 50, 20, 10])
  for margin, margin_of in [(0.3, "competitor"), (mu, "label")]:
    got = losses.multiclass_margin_loss(z, y, margin=margin, margin_of=margin_of, **flags)
    np.testing.assert_allclose(got, reference.multiclass_margin_loss(z, y, margin, margin_of, **flags), rtol=1e-5)


def test_ablation_objectives_reduce_the_batch_as_the_paper_says():
  # the hand example beside a well-classified example (loss 0): "maz" averages the above-zero losses only
  z = np.concatenate([ABLATION_Z, [[9.0, 0.0, 0.0, 0.0]]]).astype(np.float32)
  y = np.array([0, 0])
  objective = lambda **flags: losses.get_objective("multiclass_margin_loss", margin=1.0, **flags)(z, y)  # noqa: E731
  np.testing.assert_allclose(objective(), 0.875 / 2, rtol=1e-6)
  np.testing.assert_allclose(objective(mean_threshold=True), 0.75 / 2, rtol=1e-6)
  np.testing.assert_allclose(objective(above_zero_mean=True), 3.5 / 3, rtol=1e-6)
  np.testing.assert_allclose(objective(above_zero_mean=True, mean_threshold=True), 1.5, rtol=1e-6)
  np.testing.assert_allclose(losses.get_objective("hem_loss", margin=1.0)(z, y), 1.5, rtol=1e-6)
