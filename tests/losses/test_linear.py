"""el_jax/losses/_linear.py and _linear_label_probs.py: the fused linear classifier loss against the materialised
`losses.get(loss, **hparams)(hidden @ weight + bias, labels)`, in float64 unless a test says otherwise."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify
from jax.test_util import check_grads

from el_jax import losses

SHAPE, D, V = (2, 7), 5, 11  # [batch, time] tokens; 14 tokens and 11 classes, divided by no block below
BLOCKS = {"token_block": 4, "vocab_block": 3}
_RNG = np.random.default_rng(42)
ALPHA = _RNG.uniform(0.2, 1.0, V)  # focal's class weights
COUNTS = _RNG.integers(1, 100, V)  # the logit-adjusted loss's class counts
MARGINS = _RNG.uniform(0.1, 1.5, V)  # per-class margins, as HEM+'s

# Every loss the fused path computes, with representative hyper-parameters (every EL bonus shape).
FAMILY = {
  "cross_entropy": {},
  "cross_entropy/smoothed": {"label_smoothing": 0.1},
  "encouraging_loss": {},
  "encouraging_loss/conservative": {"log_end": 0.75, "bonus_rho": 0.8},
  "encouraging_loss/aggressive": {"log_end": 0.75, "bonus_start": 0.3},
  "encouraging_loss/unclamped": {"eps": 0.0},
  "encouraging_loss/power": {"bonus": "power", "bonus_gamma": 1.5},
  "encouraging_loss/cos": {"bonus": "cos", "bonus_start": 0.2},
  "encouraging_loss/smoothed": {"label_smoothing": 0.1},
  # the EL paper's ImageNet recipe (label smoothing 0.1 with the conservative bonus)
  "encouraging_loss/smoothed_conservative": {"label_smoothing": 0.1, "log_end": 0.75, "bonus_rho": 0.8},
  "encouraging_loss/smoothed_power": {"label_smoothing": 0.2, "bonus": "power", "bonus_start": 0.1},
  "focal_loss": {"gamma": 2.0, "alpha": ALPHA},
  "focal_loss/scalar_alpha": {"gamma": 1.0, "alpha": 0.25},
  "halted_focal_loss": {"gamma": 2.0, "threshold": 0.3},
  "expectation_loss": {},
  "mixed_ce_expectation": {"alpha": 1.0, "beta": 2.5},
  "logit_adjusted_loss": {"class_counts": COUNTS, "tau": 0.7},
  # the margin losses: the label's logit gathered first, then one pass over the blocks (two for HEM)
  "multiclass_margin_loss": {},
  "multiclass_margin_loss/per_class": {"margin": MARGINS},
  "hem_loss": {"margin": 0.5},
  "hem_loss/plus": {"margin": MARGINS},
  # HEM+ read as the margin of the token's own class: mu_y subtracted from z_y once
  "multiclass_margin_loss/label_margin": {"margin": MARGINS, "margin_of": "label"},
  "hem_loss/plus_label": {"margin": MARGINS, "margin_of": "label"},
  # HEM's two changes to MM one at a time (HEM paper Table 3): its threshold over V, its mean of the positive errors
  "multiclass_margin_loss/mean_threshold": {"margin": 0.5, "mean_threshold": True},
  "multiclass_margin_loss/above_zero_mean": {"margin": MARGINS, "above_zero_mean": True},
  "multiclass_margin_loss/both_label": {
    "margin": MARGINS,
    "margin_of": "label",
    "mean_threshold": True,
    "above_zero_mean": True,
  },
  # LogitNorm: a first pass for the norm, a second for the log-sum-exp of the normalised logits
  "logit_norm_loss": {},
  "logit_norm_loss/tau": {"tau": 0.5},
  # the softmax's prediction errors that read only p_y: 4/K (1 - p_y) - 1 with the mirror bonus, 2/K (1 - p_y)
  "squared_error/mirror": {"mirror_bonus": True},
  "absolute_error": {},
  "absolute_error/mirror": {"mirror_bonus": True},
  # and the squared error without it, (1 - p_y)^2 (1 + rho) / K: one more running sum, of e^2z
  "squared_error": {},
  # the sigmoid's errors: one function of the logit off the label and one on it, summed over the vocabulary
  "squared_error/sigmoid": {"activation": "sigmoid"},
  "squared_error/sigmoid_mirror": {"activation": "sigmoid", "mirror_bonus": True},
  "absolute_error/sigmoid": {"activation": "sigmoid"},
  "absolute_error/sigmoid_mirror": {"activation": "sigmoid", "mirror_bonus": True},
}


@pytest.fixture(autouse=True)
def x64():
  with jax.enable_x64(True):
    yield


def _name(case):
  return case.split("/")[0]


def _problem(shape=SHAPE, d=D, v=V, seed=0, dtype=np.float64):
  """`(hidden, weight, bias, labels, where, cotangent)`: logits of scale about 2, a quarter of the tokens masked."""
  rng = np.random.default_rng(seed)
  hidden = rng.normal(size=(*shape, d)).astype(dtype)
  weight = (rng.normal(size=(d, v)) * 2.0 / np.sqrt(d)).astype(dtype)
  bias = rng.normal(size=v).astype(dtype)
  labels = rng.integers(0, v, shape)
  where = rng.random(shape) > 0.25
  return hidden, weight, bias, labels, where, rng.normal(size=shape)


def _fused(case, labels, where=None, **blocks):
  return lambda h, w, b: losses.linear_loss(
    h, w, labels, loss=_name(case), bias=b, where=where, **(blocks or BLOCKS), **FAMILY[case]
  )


def _materialised(case, labels, where=None):
  return lambda h, w, b: losses.get(_name(case), **FAMILY[case])(h @ w + b, labels, where=where)


def _value_and_vjp(fn, args, cotangent):
  out, pullback = jax.vjp(fn, *args)
  return out, pullback(jnp.asarray(cotangent, out.dtype))


def _assert_same(fused, materialised, args, cotangent, rtol=1e-10, atol=1e-12):
  out, grads = _value_and_vjp(fused, args, cotangent)
  ref, ref_grads = _value_and_vjp(materialised, args, cotangent)
  assert out.shape == ref.shape
  np.testing.assert_allclose(out, ref, rtol=rtol, atol=atol)
  for name, g, ref_g in zip(("hidden", "weight", "bias"), grads, ref_grads, strict=True):
    np.testing.assert_allclose(g, ref_g, rtol=rtol, atol=atol, err_msg=f"gradient of {name}")


@pytest.mark.parametrize("case", list(FAMILY))
def test_values_and_gradients_match_the_materialised_loss(case):
  hidden, weight, bias, labels, where, cotangent = _problem()
  _assert_same(_fused(case, labels, where), _materialised(case, labels, where), (hidden, weight, bias), cotangent)
  # and without a mask
  _assert_same(_fused(case, labels), _materialised(case, labels), (hidden, weight, bias), cotangent)


@pytest.mark.parametrize(
  "token_block,vocab_block",
  [(4, 3), (3, 4), (1, 1), (14, 11), (5, 64), (64, 2)],
  ids=["neither_divides", "neither_divides_2", "ones", "one_block_each", "one_vocab_block", "one_token_block"],
)
@pytest.mark.parametrize(
  "case",
  ["cross_entropy", "cross_entropy/smoothed", "encouraging_loss/conservative", "encouraging_loss/smoothed", "hem_loss"],
)
def test_any_blocks(case, token_block, vocab_block):
  hidden, weight, bias, labels, where, cotangent = _problem(seed=1)
  fused = _fused(case, labels, where, token_block=token_block, vocab_block=vocab_block)
  _assert_same(fused, _materialised(case, labels, where), (hidden, weight, bias), cotangent)


def test_many_vocabulary_blocks():
  hidden, weight, bias, labels, where, cotangent = _problem(shape=(9,), d=4, v=50, seed=2)
  fused = _fused("encouraging_loss", labels, where, token_block=2, vocab_block=4)  # 13 vocabulary blocks
  _assert_same(fused, _materialised("encouraging_loss", labels, where), (hidden, weight, bias), cotangent)


def test_without_bias():
  hidden, weight, _, labels, where, cotangent = _problem(seed=3)
  out, grads = _value_and_vjp(
    lambda h, w: losses.linear_loss(h, w, labels, where=where, **BLOCKS), (hidden, weight), cotangent
  )
  ref, ref_grads = _value_and_vjp(
    lambda h, w: losses.cross_entropy(h @ w, labels, where=where), (hidden, weight), cotangent
  )
  np.testing.assert_allclose(out, ref, rtol=1e-10)
  for g, ref_g in zip(grads, ref_grads, strict=True):
    np.testing.assert_allclose(g, ref_g, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(  # each streamed primitive and each optional output of the p_y one (HEM's kinks aside)
  "case",
  [
    "cross_entropy",
    "cross_entropy/smoothed",
    "encouraging_loss/conservative",
    "encouraging_loss/smoothed",
    "focal_loss",
    "mixed_ce_expectation",
    "logit_norm_loss",
    "squared_error",
    "squared_error/sigmoid",
  ],
)
def test_check_grads(case):
  hidden, weight, bias, labels, where, _ = _problem(shape=(5,), d=3, seed=4)
  check_grads(_fused(case, labels, where, token_block=2, vocab_block=3), (hidden, weight, bias), order=1, modes=["rev"])


def test_jit_and_vmap():
  hidden, weight, bias, labels, where, _ = _problem(seed=5)
  fused = _fused("cross_entropy", labels, where)
  expected = _materialised("cross_entropy", labels, where)(hidden, weight, bias)
  np.testing.assert_allclose(jax.jit(fused)(hidden, weight, bias), expected, rtol=1e-10)

  def per_sequence(h, y, keep):
    return losses.linear_loss(h, weight, y, bias=bias, where=keep, **BLOCKS)

  np.testing.assert_allclose(jax.vmap(per_sequence)(hidden, labels, where), expected, rtol=1e-10)


@pytest.mark.parametrize("case", ["encouraging_loss/conservative", "cross_entropy/smoothed"])
def test_bfloat16_inputs_against_a_float32_reference(case):
  """bf16 `hidden` and `weight`: the logits are float32 sums of exact bf16 products, so the values match a float32
  reference on the same (upcast) numbers to float32 rounding; the backward pass rounds the logit gradient to bf16
  before its matmuls (2^-8 relative), so the gradients match to about 1% of their norm. Gradients come in bf16."""
  with jax.enable_x64(False):
    hidden, weight, bias, labels, where, cotangent = _problem(shape=(4, 8), d=16, v=40, seed=6, dtype=np.float32)
    hidden, weight = jnp.asarray(hidden, jnp.bfloat16), jnp.asarray(weight, jnp.bfloat16)
    fused = _fused(case, labels, where, token_block=8, vocab_block=16)
    out, grads = _value_and_vjp(fused, (hidden, weight, bias), cotangent)
    up = (hidden.astype(jnp.float32), weight.astype(jnp.float32), bias)
    ref, ref_grads = _value_and_vjp(_materialised(case, labels, where), up, cotangent)
    assert out.dtype == jnp.float32
    assert [g.dtype for g in grads] == [jnp.bfloat16, jnp.bfloat16, jnp.float32]
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    for g, ref_g in zip(grads, ref_grads, strict=True):
      error = np.linalg.norm(np.asarray(g, np.float32) - ref_g) / np.linalg.norm(ref_g)
      assert error < 1e-2, error


def _assert_same_outputs(fused, materialised, args, where, seed):
  """`fused` and `materialised`, functions of `args` with several outputs, agree on the tokens `where` keeps, and so
  do their pullbacks of random cotangents that are 0 on the masked tokens."""
  out, pullback = jax.vjp(fused, *args)
  ref, ref_pullback = jax.vjp(materialised, *args)
  rng = np.random.default_rng(seed)
  cotangents = tuple(jnp.asarray(np.where(where, rng.normal(size=where.shape), 0.0)) for _ in out)
  for a, b in zip(out, ref, strict=True):
    np.testing.assert_allclose(np.where(where, a, 0), np.where(where, b, 0), rtol=1e-10, atol=1e-12)
  for a, b in zip(pullback(cotangents), ref_pullback(cotangents), strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_mean_log_p_matches_the_mean_of_the_log_softmax():
  """The third output of `linear_label_log_probs(..., mean_log_p=True)`: the mean over the vocabulary of
  :math:`\\log p_k`, with exact gradients for cotangents of all three outputs, masked tokens included."""
  hidden, weight, bias, labels, where, cotangent = _problem(seed=11)

  def fused(h, w, b):
    return losses.linear_label_log_probs(h, w, b, labels, where, mean_log_p=True, **BLOCKS)

  def materialised(h, w, b):
    log_p_y, log_1m_p_y = losses.label_log_probs(h @ w + b, labels)
    return log_p_y, log_1m_p_y, jnp.mean(jax.nn.log_softmax(h @ w + b), axis=-1)

  _assert_same_outputs(fused, materialised, (hidden, weight, bias), where, seed=12)
  assert len(losses.linear_label_log_probs(hidden, weight, bias, labels, **BLOCKS)) == 2  # two outputs by default


@pytest.mark.parametrize(
  "bonus", [losses.Bonus(), losses.Bonus(log_end=0.75, start=0.2), losses.Bonus("cos", start=0.1)], ids=str
)
def test_others_bonus_matches_the_bonus_summed_over_the_softmax(bonus):
  """The last output of `linear_label_log_probs(..., others_bonus=b)`: :math:`\\sum_{k \\ne y} b(p_k)`, against the
  sum over the materialised softmax (differentiated by JAX), for cotangents of every output, masked tokens too."""
  hidden, weight, bias, labels, where, _ = _problem(seed=13)

  def fused(h, w, b):
    return losses.linear_label_log_probs(h, w, b, labels, where, mean_log_p=True, others_bonus=bonus, **BLOCKS)

  def materialised(h, w, b):
    z = h @ w + b
    log_p_y, log_1m_p_y = losses.label_log_probs(z, labels)
    others = jnp.arange(V) != labels[..., None]
    bonus_sum = jnp.sum(jnp.where(others, bonus.of_p(jax.nn.softmax(z)), 0.0), axis=-1)
    return log_p_y, log_1m_p_y, jnp.mean(jax.nn.log_softmax(z), axis=-1), bonus_sum

  _assert_same_outputs(fused, materialised, (hidden, weight, bias), where, seed=14)


def test_log_probs_match_label_log_probs_at_extreme_logits():
  """p_y within float precision of 1 (and of 0): log(1 - p_y) stays exact, as for the materialised primitive."""
  with jax.enable_x64(False):
    hidden, weight, bias, labels, _, cotangent = _problem(shape=(12,), d=4, v=9, seed=7, dtype=np.float32)
    weight = weight * 300.0  # logits of scale ~ 1e3
    fused, pullback = jax.vjp(
      lambda h, w, b: losses.linear_label_log_probs(h, w, b, labels, token_block=5, vocab_block=4), hidden, weight, bias
    )
    ref, ref_pullback = jax.vjp(lambda h, w, b: losses.label_log_probs(h @ w + b, labels), hidden, weight, bias)
    cotangents = (jnp.asarray(cotangent, jnp.float32), jnp.asarray(cotangent[::-1], jnp.float32))
    for a, b in zip(fused, ref, strict=True):
      assert np.isfinite(a).any() and not np.isnan(a).any()
      np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    for a, b in zip(pullback(cotangents), ref_pullback(cotangents), strict=True):
      assert np.isfinite(a).all()
      np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3 * np.abs(b).max())


def test_one_class_and_all_other_logits_minus_infinity():
  """V = 1, or a bias of -inf on every class but the label's: p_y = 1 exactly, CE's gradient is 0."""
  hidden, weight, bias, _, _, _ = _problem(shape=(6,), d=3, v=4, seed=8)
  for w, b, y in [
    (weight[:, :1], bias[:1], np.zeros(6, int)),
    (weight, np.array([-np.inf, -np.inf, 1.0, -np.inf]), np.full(6, 2)),
  ]:
    log_p, log_1m_p = losses.linear_label_log_probs(hidden, w, b, y, token_block=4, vocab_block=3)
    np.testing.assert_array_equal(log_p, 0.0)
    np.testing.assert_array_equal(log_1m_p, -np.inf)
    grads = jax.grad(lambda h, w, b: losses.linear_loss(h, w, y, bias=b).sum(), argnums=(0, 1, 2))(hidden, w, b)  # noqa: B023
    for g in grads:
      np.testing.assert_array_equal(g, 0.0)


def test_masked_tokens_give_zero_loss_and_gradient_whatever_they_hold():
  hidden, weight, bias, labels, where, cotangent = _problem(seed=9)
  hidden[~where] = np.nan  # padding with garbage hidden states
  labels = np.where(where, labels, -100)  # and an ignore index
  out, grads = _value_and_vjp(_fused("encouraging_loss", labels, where), (hidden, weight, bias), cotangent)
  np.testing.assert_array_equal(out[~where], 0.0)
  np.testing.assert_array_equal(grads[0][~where], 0.0)
  clean = np.where(where[..., None], hidden, 0.0)
  ref, ref_grads = _value_and_vjp(_materialised("encouraging_loss", labels, where), (clean, weight, bias), cotangent)
  np.testing.assert_allclose(out, ref, rtol=1e-10)
  for g, ref_g in zip(grads, ref_grads, strict=True):
    np.testing.assert_allclose(g, ref_g, rtol=1e-10, atol=1e-12)


def test_labels_out_of_range_raise():
  hidden, weight, bias, labels, where, _ = _problem(seed=10)
  bad = labels.copy()
  bad[1, 3] = V
  with pytest.raises(ValueError, match=rf"labels must lie in \[0, {V}\).*1 of 14 do not"):
    losses.linear_loss(hidden, weight, bad, bias=bias)
  bad[0, 0] = -1
  with pytest.raises(ValueError, match=r"min -1, max 11"):
    losses.linear_loss(hidden, weight, bad, bias=bias)
  keep = np.ones(SHAPE, bool)
  keep[1, 3] = keep[0, 0] = False
  losses.linear_loss(hidden, weight, bad, bias=bias, where=keep)  # masked tokens may carry any label

  def fn(h, y):
    return losses.linear_loss(h, weight, y, bias=bias, **BLOCKS)

  err, out = jax.jit(checkify.checkify(fn))(hidden, bad)  # traced labels: checked under checkify
  with pytest.raises(Exception, match=rf"labels must lie in \[0, {V}\).*min is -1 and max 11"):
    err.throw()
  err, _ = jax.jit(checkify.checkify(fn))(hidden, labels)
  assert err.get() is None
  out = jax.jit(fn)(hidden, bad)  # plain jit: no check, and the two bad tokens give NaN rather than a number
  assert np.isnan(out[0, 0]) and np.isnan(out[1, 3])
  assert np.isnan(out).sum() == 2


OUTSIDE = sorted(set(losses.names()) - {_name(case) for case in FAMILY})


def test_the_losses_outside_are_the_batch_level_and_element_wise_ones_and_the_mixing_baselines():
  assert OUTSIDE == [
    "absolute_and_squared_error",
    "complement_entropy_loss",
    "cot_sum_loss",
    "dice_loss",
    "gradient_matched_cross_entropy",
    "sigmoid_encouraging_loss",
    "sigmoid_focal_loss",
    "sigmoid_halted_focal_loss",
  ]


@pytest.mark.parametrize("loss", OUTSIDE)
def test_losses_that_are_not_per_example_raise(loss):
  hidden, weight, bias, labels, _, _ = _problem()
  with pytest.raises(NotImplementedError, match=rf"{loss}.*not a per-example loss"):
    losses.linear_loss(hidden, weight, labels, loss=loss, bias=bias)


def test_an_unknown_activation_raises_a_value_error():
  hidden, weight, bias, labels, _, _ = _problem()
  for loss in ("squared_error", "absolute_error"):
    with pytest.raises(ValueError, match="activation must be one of 'softmax', 'sigmoid', got 'tanh'"):
      losses.linear_loss(hidden, weight, labels, loss=loss, activation="tanh")


def test_unknown_loss_or_hyper_parameter_raises_a_value_error():
  hidden, weight, bias, labels, _, _ = _problem()
  with pytest.raises(ValueError, match="Unknown loss 'nope'. Valid names"):
    losses.linear_loss(hidden, weight, labels, loss="nope")
  with pytest.raises(ValueError, match=r"Unknown hyper-parameter\(s\) \['gama'\]"):
    losses.linear_loss(hidden, weight, labels, loss="focal_loss", gama=1.0)
  with pytest.raises(ValueError, match="K = 11 classes"):
    losses.linear_loss(hidden, weight, labels, loss="focal_loss", alpha=np.ones(3))
  with pytest.raises(ValueError, match=r"weight \[D, V\] with the same D"):
    losses.linear_loss(hidden, weight.T, labels)


def test_the_compiled_fused_loss_holds_no_tokens_by_vocabulary_array():
  """512 tokens x 8192 classes: a [tokens, V] float32 array is 16 MiB; the fused forward and backward pass, in
  64 x 512 blocks, needs a small fraction of it (the materialised loss needs about twice it)."""
  with jax.enable_x64(False):
    n, d, v = 512, 64, 8192
    hidden, weight, bias = jnp.zeros((n, d)), jnp.zeros((d, v)), jnp.zeros(v)
    labels = jnp.zeros(n, jnp.int32)

    def temp_bytes(fn):
      grad = jax.jit(jax.value_and_grad(lambda *args: fn(*args).sum(), argnums=(0, 1, 2)))
      return grad.lower(hidden, weight, bias).compile().memory_analysis().temp_size_in_bytes

    fused = temp_bytes(lambda h, w, b: losses.linear_loss(h, w, labels, bias=b, token_block=64, vocab_block=512))
    materialised = temp_bytes(lambda h, w, b: losses.cross_entropy(h @ w + b, labels))
    logits_bytes = n * v * 4
    assert materialised >= logits_bytes  # the measure sees a [tokens, V] array where there is one
    assert fused < logits_bytes / 8, (fused, logits_bytes)
