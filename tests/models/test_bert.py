"""BERT: BERT-base's parameter count, the tiny model against a numpy forward pass written from the paper's
equations, padding masked out of attention, dropout only in training, and checkpoint loading (.npz and Hugging Face
model.safetensors, checked against the numpy forward pass run on the file's own arrays)."""

import math
import sys
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from el_jax.models import bert

SHAPE = {"tokens": (8,), "segments": (8,)}


def _count(model):
  return sum(int(np.prod(p.shape)) for p in jax.tree.leaves(nnx.state(model, nnx.Param)))


def _tiny(num_classes=3, **kwargs):
  model = bert.MODELS["bert_tiny"](num_classes=num_classes, input_shape=SHAPE, rngs=nnx.Rngs(0), **kwargs)
  model.eval()
  return model


def test_bert_base_with_a_two_class_head_has_the_reference_parameter_count():
  model = nnx.eval_shape(
    lambda: bert.MODELS["bert_base"](num_classes=2, input_shape={"tokens": (64,), "segments": (64,)}, rngs=nnx.Rngs(0))
  )
  assert _count(model) == 109_483_778


def _np(x):
  return np.asarray(x[...], np.float64)


def _layer_norm(x, norm):
  mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
  return (x - mean) / np.sqrt(var + 1e-12) * _np(norm.scale) + _np(norm.bias)


def _linear(x, layer):
  return x @ _np(layer.kernel) + _np(layer.bias)


def _gelu(x):
  return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def numpy_bert_logits(model, tokens, segments, heads=2):
  """One unpadded sequence through BERT's equations (no padding, so no mask), in float64."""
  x = _np(model.token_embedding.embedding)[tokens] + _np(model.position_embedding.embedding)[: len(tokens)]
  x = _layer_norm(x + _np(model.segment_embedding.embedding)[segments], model.embedding_norm)
  for layer in model.layers:
    att = layer.attention
    d = x.shape[1] // heads
    q, k, v = (_linear(x, lin).reshape(len(x), heads, d) for lin in (att.query, att.key, att.value))
    scores = np.einsum("qhd,khd->hqk", q, k) / math.sqrt(d)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    context = np.einsum("hqk,khd->qhd", weights, v).reshape(len(x), -1)
    x = _layer_norm(x + _linear(context, att.output), layer.attention_norm)
    x = _layer_norm(x + _linear(_gelu(_linear(x, layer.intermediate)), layer.output), layer.output_norm)
  pooled = np.tanh(_linear(x[0], model.pooler))
  return _linear(pooled, model.head)


def _randomise(model, scale=0.3, seed=2):
  """Every parameter redrawn from N(0, scale^2), so that activations are O(1) (BERT's 0.02 init keeps them so small
  that, e.g., GELU's tanh approximation would pass for the exact one)."""
  rng = np.random.default_rng(seed)
  params = nnx.state(model, nnx.Param)
  nnx.update(model, jax.tree.map(lambda p: jnp.asarray(rng.normal(0, scale, p.shape), p.dtype), params))
  return model


def test_tiny_bert_matches_a_numpy_forward_pass():
  model = _randomise(_tiny())
  tokens, segments = np.array([101, 2054, 2003, 102, 7592, 2088, 102]), np.array([0, 0, 0, 0, 1, 1, 1])
  logits = model(jnp.asarray(tokens[None], jnp.int32), jnp.asarray(segments[None], jnp.int32))
  np.testing.assert_allclose(logits[0], numpy_bert_logits(model, tokens, segments), rtol=2e-5, atol=2e-6)


def test_padding_tokens_do_not_change_the_cls_output():
  model = _tiny()
  tokens, segments = [101, 2054, 2003, 102, 7592, 102], [0, 0, 0, 0, 1, 1]
  unpadded = model(jnp.asarray([tokens]), jnp.asarray([segments]))
  padded = model(jnp.asarray([tokens + [0, 0]]), jnp.asarray([segments + [1, 0]]))
  np.testing.assert_allclose(padded, unpadded, rtol=2e-5, atol=2e-6)
  np.testing.assert_allclose(unpadded[0], numpy_bert_logits(model, np.array(tokens), np.array(segments)), rtol=2e-4)


def test_dropout_acts_in_training_only():
  model = _tiny()
  tokens = jnp.asarray([[101, 5, 6, 102, 0, 0, 0, 0]])
  segments = jnp.zeros_like(tokens)
  np.testing.assert_array_equal(model(tokens, segments), model(tokens, segments))
  model.train()
  assert not np.allclose(model(tokens, segments), model(tokens, segments))


def _state_dict(model, rng):
  """Random arrays under the PyTorch BERT names, linear weights stored [out, in]."""
  arrays = {}
  embeddings = {
    "word": model.token_embedding,
    "position": model.position_embedding,
    "token_type": model.segment_embedding,
  }
  for name, embed in embeddings.items():
    arrays[f"bert.embeddings.{name}_embeddings.weight"] = rng.normal(size=embed.embedding.shape)
  for i, layer in enumerate(model.layers):
    for name, lin in (
      ("attention.self.query", layer.attention.query),
      ("attention.self.key", layer.attention.key),
      ("attention.self.value", layer.attention.value),
      ("attention.output.dense", layer.attention.output),
      ("intermediate.dense", layer.intermediate),
      ("output.dense", layer.output),
    ):
      n_in, n_out = lin.kernel.shape
      arrays[f"bert.encoder.layer.{i}.{name}.weight"] = rng.normal(size=(n_out, n_in))
      arrays[f"bert.encoder.layer.{i}.{name}.bias"] = rng.normal(size=n_out)
    for name in ("attention.output.LayerNorm", "output.LayerNorm"):
      arrays[f"bert.encoder.layer.{i}.{name}.weight"] = rng.normal(size=128)
      arrays[f"bert.encoder.layer.{i}.{name}.bias"] = rng.normal(size=128)
  arrays["bert.embeddings.LayerNorm.weight"] = rng.normal(size=128)
  arrays["bert.embeddings.LayerNorm.bias"] = rng.normal(size=128)
  arrays["bert.pooler.dense.weight"] = rng.normal(size=(128, 128))
  arrays["bert.pooler.dense.bias"] = rng.normal(size=128)
  arrays["cls.predictions.bias"] = rng.normal(size=30_522)  # pre-training heads are ignored
  return {k: v.astype(np.float32) for k, v in arrays.items()}


def test_a_checkpoint_replaces_the_encoder_weights(tmp_path):
  arrays = _state_dict(_tiny(), np.random.default_rng(1))
  path = tmp_path / "bert.npz"
  np.savez(path, **arrays)
  model = _tiny(checkpoint=str(path))
  np.testing.assert_array_equal(model.token_embedding.embedding[...], arrays["bert.embeddings.word_embeddings.weight"])
  np.testing.assert_array_equal(
    model.layers[1].intermediate.kernel[...], arrays["bert.encoder.layer.1.intermediate.dense.weight"].T
  )
  np.testing.assert_array_equal(
    model.layers[0].output_norm.bias[...], arrays["bert.encoder.layer.0.output.LayerNorm.bias"]
  )
  np.testing.assert_array_equal(model.pooler.kernel[...], arrays["bert.pooler.dense.weight"].T)


def test_a_missing_or_incomplete_checkpoint_is_a_clear_error(tmp_path):
  with pytest.raises(FileNotFoundError, match="config.model.checkpoint"):
    _tiny(checkpoint=str(tmp_path / "absent.npz"))
  arrays = _state_dict(_tiny(), np.random.default_rng(1))
  del arrays["bert.pooler.dense.bias"]
  np.savez(tmp_path / "partial.npz", **arrays)
  with pytest.raises(ValueError, match="pooler.dense.bias"):
    _tiny(checkpoint=str(tmp_path / "partial.npz"))


def test_bad_input_shapes_are_named():
  with pytest.raises(ValueError, match="segments"):
    bert.MODELS["bert_tiny"](num_classes=2, input_shape={"tokens": (8,)}, rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match="512"):
    bert.MODELS["bert_tiny"](num_classes=2, input_shape={"tokens": (600,), "segments": (600,)}, rngs=nnx.Rngs(0))


# ---- Hugging Face checkpoints: the reference names and layouts, read from .safetensors (no torch) or .npz -----------

MICRO = bert.BertSize(layers=2, width=32, heads=4, mlp_width=64, vocab_size=120, max_positions=16)
HF_LINEARS = (
  "attention.self.query",
  "attention.self.key",
  "attention.self.value",
  "attention.output.dense",
  "intermediate.dense",
  "output.dense",
)


def _hf_state_dict(size, rng, *, prefix="bert.", legacy_norms=False, num_classes=3):
  """Random float32 arrays named and laid out as Hugging Face `BertForSequenceClassification.state_dict()` (torch
  Linear weights [out, in]); `prefix=""` gives `BertModel`'s names, `legacy_norms` the `LayerNorm.gamma`/`.beta` of
  the TF-converted releases (bert-base-uncased). Scale 0.3, so that activations are O(1) (see `_randomise`)."""
  arrays = {}
  scale, bias = ("gamma", "beta") if legacy_norms else ("weight", "bias")

  def linear(name, n_in, n_out):
    arrays[f"{prefix}{name}.weight"] = rng.normal(0, 0.3, (n_out, n_in))
    arrays[f"{prefix}{name}.bias"] = rng.normal(0, 0.3, n_out)

  def norm(name):
    arrays[f"{prefix}{name}.LayerNorm.{scale}"] = 1 + rng.normal(0, 0.3, size.width)
    arrays[f"{prefix}{name}.LayerNorm.{bias}"] = rng.normal(0, 0.3, size.width)

  for name, rows in (("word", size.vocab_size), ("position", size.max_positions), ("token_type", size.segments)):
    arrays[f"{prefix}embeddings.{name}_embeddings.weight"] = rng.normal(size=(rows, size.width))
  norm("embeddings")
  for i in range(size.layers):
    widths = [(size.width, size.width)] * 4 + [(size.width, size.mlp_width), (size.mlp_width, size.width)]
    for name, (n_in, n_out) in zip(HF_LINEARS, widths, strict=True):
      linear(f"encoder.layer.{i}.{name}", n_in, n_out)
    norm(f"encoder.layer.{i}.attention.output")
    norm(f"encoder.layer.{i}.output")
  linear("pooler.dense", size.width, size.width)
  arrays = {k: v.astype(np.float32) for k, v in arrays.items()}
  arrays[f"{prefix}embeddings.position_ids"] = np.arange(size.max_positions, dtype=np.int64)[None]  # older buffers
  arrays["classifier.weight"] = np.ones((num_classes, size.width), np.float32)  # the head stays the model's own
  arrays["classifier.bias"] = np.ones(num_classes, np.float32)
  return arrays


def _hf_modules(arrays, head, *, prefix="bert.", legacy_norms=False):
  """The Hugging Face arrays seen with the attributes `numpy_bert_logits` reads (kernels [in, out]), mapped here from
  the reference names independently of `bert._checkpoint_names`; `head` supplies the classification layer."""
  ns = types.SimpleNamespace
  scale, bias = ("gamma", "beta") if legacy_norms else ("weight", "bias")

  def linear(name):
    return ns(kernel=arrays[f"{prefix}{name}.weight"].T, bias=arrays[f"{prefix}{name}.bias"])

  def norm(name):
    return ns(scale=arrays[f"{prefix}{name}.LayerNorm.{scale}"], bias=arrays[f"{prefix}{name}.LayerNorm.{bias}"])

  def layer(i):
    query, key, value, output, intermediate, ff_output = (linear(f"encoder.layer.{i}.{n}") for n in HF_LINEARS)
    return ns(
      attention=ns(query=query, key=key, value=value, output=output),
      attention_norm=norm(f"encoder.layer.{i}.attention.output"),
      intermediate=intermediate,
      output=ff_output,
      output_norm=norm(f"encoder.layer.{i}.output"),
    )

  return ns(
    token_embedding=ns(embedding=arrays[f"{prefix}embeddings.word_embeddings.weight"]),
    position_embedding=ns(embedding=arrays[f"{prefix}embeddings.position_embeddings.weight"]),
    segment_embedding=ns(embedding=arrays[f"{prefix}embeddings.token_type_embeddings.weight"]),
    embedding_norm=norm("embeddings"),
    layers=[layer(i) for i in range(MICRO.layers)],
    pooler=linear("pooler.dense"),
    head=head,
  )


def _save(arrays, path, file_format):
  if file_format == "safetensors":
    from safetensors.numpy import save_file

    save_file(arrays, str(path))
  else:
    np.savez(path, **arrays)


@pytest.mark.parametrize("file_format", ["safetensors", "npz"])
@pytest.mark.parametrize(
  "prefix, legacy_norms",
  [("bert.", False), ("", False), ("bert.", True)],
  ids=["BertForSequenceClassification", "BertModel", "bert-base-uncased-gamma-beta"],
)
def test_a_hugging_face_checkpoint_gives_the_reference_logits(tmp_path, monkeypatch, file_format, prefix, legacy_norms):
  if file_format == "safetensors":
    pytest.importorskip("safetensors", reason="reading model.safetensors needs the 'text' extra (safetensors)")
  monkeypatch.setitem(bert.SIZES, "micro", MICRO)
  rng = np.random.default_rng(3)
  arrays = _hf_state_dict(MICRO, rng, prefix=prefix, legacy_norms=legacy_norms)
  path = tmp_path / f"model.{file_format}"
  _save(arrays, path, file_format)
  model = bert.BertClassifier(num_classes=3, input_shape=SHAPE, rngs=nnx.Rngs(0), size="micro", checkpoint=str(path))
  model.eval()
  model.head.kernel[...] = jnp.asarray(rng.normal(0, 0.3, model.head.kernel.shape), jnp.float32)
  tokens, segments = np.array([2, 57, 11, 3, 98, 119, 3]), np.array([0, 0, 0, 0, 1, 1, 1])
  logits = model(jnp.asarray(tokens[None], jnp.int32), jnp.asarray(segments[None], jnp.int32))
  reference = _hf_modules(arrays, model.head, prefix=prefix, legacy_norms=legacy_norms)
  np.testing.assert_allclose(logits[0], numpy_bert_logits(reference, tokens, segments, heads=MICRO.heads), rtol=2e-5)
  assert not np.allclose(model.head.bias[...], 1.0)  # the checkpoint's classifier.* is not loaded


def test_a_safetensors_checkpoint_without_the_package_names_the_extra(tmp_path, monkeypatch):
  path = tmp_path / "model.safetensors"
  path.write_bytes(b"never read")
  monkeypatch.setitem(sys.modules, "safetensors", None)  # makes `import safetensors...` raise ImportError
  monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
  with pytest.raises(ImportError, match=r"\.safetensors.*'text' extra.*pip install 'el_jax\[text\]'"):
    _tiny(checkpoint=str(path))


def test_a_checkpoint_of_unknown_format_is_named(tmp_path):
  path = tmp_path / "pytorch_model.bin"
  path.write_bytes(b"torch pickle")
  with pytest.raises(ValueError, match=r"\.safetensors or \.npz"):
    _tiny(checkpoint=str(path))
