"""el_jax.train.adversarial and its place in the train step: the perturbed batch the step trains on, checked against
the eps ball, the pixel range and the closed form of FGSM on a linear model."""

import jax
import numpy as np
import optax
import pytest

from el_jax import losses, models
from el_jax.configs import common
from el_jax.train import checkpoint, step
from el_jax.train.adversarial import Adversarial
from tests.losses import reference

SHAPE = (4, 4, 1)
# Standardisation of the batches: x = (p - 0.4) / 0.25 for pixels p in [0, 1].
NORMALIZATION = ((0.4,), (0.25,))
MEAN, STD = 0.4, 0.25


def settings(**section):
  return Adversarial.from_config(section)


def standardised(pixels):
  return ((pixels - MEAN) / STD).astype(np.float32)


def pixels_of(images):
  return np.asarray(images, np.float64) * STD + MEAN


@pytest.fixture(scope="module")
def linear():
  """A two-class linear classifier on 4x4 images, its train state, and a batch of 8 interior pixels (0.3..0.7, so
  that an eps of 0.1 never reaches the clip at 0 or 1)."""
  model = models.create("mlp", num_classes=2, input_shape=SHAPE, depth=0, seed=3)
  model_parts, state = step.init_state(model, optax.sgd(0.0))
  rng = np.random.default_rng(0)
  pixels = rng.uniform(0.3, 0.7, size=(8, *SHAPE))
  labels = rng.integers(0, 2, 8)
  kernel = np.asarray(model.head.kernel[...], np.float64)  # [16, 2]
  bias = np.asarray(model.head.bias[...], np.float64)
  return model_parts, state, pixels, labels, kernel, bias


def perturbed(adversarial, model_parts, state, pixels, labels, *, seed=0):
  """The images the train step trains on, as pixels: `step.adversarial_inputs` on the standardised batch."""
  fn = jax.jit(
    lambda images, labels, rng: step.adversarial_inputs(
      adversarial, model_parts, state, {"image": images}, labels, rng, normalization=NORMALIZATION
    )["image"]
  )
  return fn(standardised(pixels), labels, jax.random.PRNGKey(seed))


def fgsm_closed_form(pixels, labels, kernel, eps):
  """Two classes, logits z = W^T x + b with x = (p - mean) / std: dCE/dp = p_{y'} (w_{y'} - w_y) / std with
  p_{y'} > 0 and std > 0, so FGSM's step is eps * sign(w_{y'} - w_y) for the other class y' = 1 - y."""
  direction = np.sign(kernel[:, 1 - labels] - kernel[:, labels]).T  # [B, 16]
  return pixels + eps * direction.reshape(pixels.shape)


@pytest.mark.parametrize(
  "section",
  [
    {"attack": "pgd", "norm": "linf", "eps": 0.2, "steps": 3, "step_size": 0.15},
    {"attack": "pgd", "norm": "l2", "eps": 1.0, "steps": 3, "step_size": 0.7},
    {"attack": "fgsm", "eps": 0.3},
    {"attack": "pgd", "eps": 0.2, "steps": 2, "step_size": 0.15, "attack_mode": "train"},
  ],
  ids=["pgd_linf", "pgd_l2", "fgsm", "pgd_train_mode"],
)
def test_the_perturbed_batch_stays_in_the_eps_ball_and_the_pixel_range(section):
  model = models.create("mlp", num_classes=3, input_shape=SHAPE, depth=1, width=8, seed=1)
  model_parts, state = step.init_state(model, optax.sgd(0.1))
  rng = np.random.default_rng(1)
  pixels = rng.integers(0, 256, size=(8, *SHAPE)) / 255.0  # uint8 images: many pixels at 0 or 1
  labels = rng.integers(0, 3, 8)
  adversarial = settings(ratio=0.5, **section)

  images = np.asarray(perturbed(adversarial, model_parts, state, pixels, labels))
  out = pixels_of(images)
  assert out.min() >= -1e-6 and out.max() <= 1 + 1e-6
  delta = (out - pixels)[:4].reshape(4, -1)
  if adversarial.norm == "linf":
    assert np.abs(delta).max() <= adversarial.eps + 1e-5
  else:
    assert np.linalg.norm(delta, axis=1).max() <= adversarial.eps * (1 + 1e-5)
  assert np.all(np.abs(delta).max(axis=1) > 1e-3)  # every attacked example moved
  # The clean half is the batch's own bits (not a round trip through pixel space).
  np.testing.assert_array_equal(images[4:], standardised(pixels)[4:])


def test_fgsm_on_a_linear_model_is_eps_times_the_sign_of_the_class_difference(linear):
  model_parts, state, pixels, labels, kernel, _ = linear
  out = pixels_of(perturbed(settings(attack="fgsm", eps=0.1), model_parts, state, pixels, labels))
  np.testing.assert_allclose(out, fgsm_closed_form(pixels, labels, kernel, 0.1), atol=1e-5)


def test_one_pgd_step_of_size_eps_without_random_start_is_fgsm(linear):
  model_parts, state, pixels, labels, kernel, _ = linear
  pgd = settings(attack="pgd", eps=0.1, steps=1, step_size=0.1, random_start=False)
  out = pixels_of(perturbed(pgd, model_parts, state, pixels, labels, seed=5))
  np.testing.assert_allclose(out, fgsm_closed_form(pixels, labels, kernel, 0.1), atol=1e-5)


def test_ratio_replaces_exactly_its_fraction_and_the_objective_is_the_mixed_batch_mean(linear):
  model_parts, state, pixels, labels, kernel, bias = linear
  adversarial = settings(attack="fgsm", eps=0.1, ratio=0.25)
  assert adversarial.count(8) == 2
  train_step = jax.jit(
    step.make_train_step(
      model_parts,
      losses.get_objective("cross_entropy"),
      optax.sgd(0.0),
      total_steps=1,
      adversarial=adversarial,
      normalization=NORMALIZATION,
    )
  )
  _, metrics = train_step(state, {"image": standardised(pixels), "label": labels})

  mixed = pixels.copy()
  mixed[:2] = fgsm_closed_form(pixels[:2], labels[:2], kernel, 0.1)
  logits = ((mixed.reshape(8, -1) - MEAN) / STD) @ kernel + bias
  # (1/B) [sum over the 2 adversarial + sum over the 6 clean]: 0.25 L_adv + 0.75 L_clean.
  np.testing.assert_allclose(metrics["loss"], reference.cross_entropy(logits, labels).mean(), rtol=1e-5)
  np.testing.assert_allclose(metrics["adv_accuracy"], np.mean(logits[:2].argmax(-1) == labels[:2]))
  with pytest.raises(ValueError, match=r"ratio=0.3 of a batch of 8 is 2.4 examples"):
    settings(attack="fgsm", eps=0.1, ratio=0.3).count(8)


def test_off_is_the_step_without_the_option_and_resumes_old_checkpoints(linear):
  model_parts, state, pixels, labels, _, _ = linear
  config = common.base_config()
  assert Adversarial.from_config(config.adversarial) is None and Adversarial.from_config(None) is None
  batch = {"image": standardised(pixels), "label": labels}
  objective, tx = losses.get_objective("cross_entropy"), optax.sgd(0.1)
  plain = step.make_train_step(model_parts, objective, tx, total_steps=4)
  off = step.make_train_step(
    model_parts, objective, tx, total_steps=4, adversarial=Adversarial.from_config(config.adversarial)
  )
  assert str(jax.make_jaxpr(plain)(state, batch)) == str(jax.make_jaxpr(off)(state, batch))
  # A checkpoint written before the section existed matches a config whose section is all None.
  saved = config.to_dict()
  del saved["adversarial"]
  checkpoint.check_resumable(saved, config.to_dict(), where="w")


@pytest.mark.parametrize(
  "section, message",
  [
    ({"attack": "pgd_linf", "eps": 0.1}, r"adversarial.attack='pgd_linf' is invalid: use one of pgd, fgsm"),
    ({"eps": 0.1}, r"adversarial.attack=None is invalid: set one of pgd, fgsm"),
    ({"attack": "fgsm", "eps": 0.1, "nrom": "l2"}, r"unknown entries \['nrom'\]"),
    ({"attack": "fgsm", "eps": 0.0}, r"eps=0.0 is invalid: use a number > 0"),
    ({"attack": "fgsm", "eps": 0.1, "norm": "l1"}, r"norm='l1' is invalid: use one of linf, l2"),
    ({"attack": "fgsm", "eps": 0.1, "norm": "l2"}, r"fgsm is the Linf attack"),
    ({"attack": "fgsm", "eps": 0.1, "steps": 3}, r"steps=3 is invalid: fgsm takes one step"),
    ({"attack": "pgd", "eps": 0.1, "step_size": 0.01}, r"steps=None is invalid: pgd needs"),
    ({"attack": "pgd", "eps": 0.1, "steps": 5}, r"step_size=None is invalid: pgd needs"),
    ({"attack": "fgsm", "eps": 0.1, "ratio": 0.0}, r"ratio=0.0 is invalid: use a fraction of the batch in \(0, 1\]"),
    ({"attack": "fgsm", "eps": 0.1, "ratio": 1.5}, r"ratio=1.5 is invalid"),
    ({"attack": "fgsm", "eps": 0.1, "attack_mode": "test"}, r"attack_mode='test' is invalid: use one of eval, train"),
  ],
)
def test_bad_settings_are_named(section, message):
  with pytest.raises(ValueError, match=message):
    Adversarial.from_config(section)


def test_inputs_that_are_not_images_are_refused():
  with pytest.raises(ValueError, match=r"not images .* unset config.adversarial.attack"):
    Adversarial.from_config({"attack": "fgsm", "eps": 0.1}, has_images=False)
  with pytest.raises(ValueError, match=r"ratio=0.5 of a batch of 7"):
    Adversarial.from_config({"attack": "fgsm", "eps": 0.1, "ratio": 0.5}, batch_size=7)
