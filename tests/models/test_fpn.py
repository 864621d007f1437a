"""el_jax.models.fpn: the FPN segmentation models of HEM section 5.4 (Segmentation Models' FPN over four encoders):
parameter counts against a closed form and torchvision's encoder counts, the upsamplings against scipy, the
encoders' feature maps, input-size errors, an executed training step of fpn_resnet34 and traced ones of the others
at the paper's crop sizes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.ndimage
from flax import nnx

from el_jax import models
from el_jax.data.segmentation import CROP_SIZES, NUM_CLASSES
from el_jax.models import fpn
from tests.models.checks import abstract, check_forward_backward, trace_forward_backward

# Per encoder: torchvision's parameter count with 1,000 classes, the parameters of what the FPN drops (the classifier,
# and for EfficientNet-B4 also the final 1x1 convolution to 1792 channels and its BN), and the channels of the
# stride 4, 8, 16, 32 maps that Segmentation Models takes (its encoders' `out_channels`, last four).
ENCODERS = {
  "resnet34": (21_797_672, 512 * 1000 + 1000, (64, 128, 256, 512)),
  "efficientnet_b4": (19_341_616, 1792 * 1000 + 1000 + 448 * 1792 + 2 * 1792, (32, 56, 160, 448)),
  "densenet201": (20_013_928, 1920 * 1000 + 1000, (256, 512, 1792, 1920)),
  "resnext50_32x4d": (25_028_904, 2048 * 1000 + 1000, (256, 512, 1024, 2048)),
}


def decoder_params(channels, num_classes, pyramid=256, segmentation=128, head_kernel=1):
  """Closed-form parameter count of the FPN decoder and head, from the layer list of the library's FPN."""
  lateral = sum(c * pyramid + pyramid for c in channels)  # 1x1 convolutions with bias
  conv_gn = lambda cin, cout: 9 * cin * cout + 2 * cout  # noqa: E731 (3x3 conv without bias, GroupNorm scale + bias)
  # Blocks of P5, P4, P3, P2: 3, 2, 1, 1 conv-GN-ReLU units, the first of each from the pyramid's channels.
  blocks = 4 * conv_gn(pyramid, segmentation) + (2 + 1) * conv_gn(segmentation, segmentation)
  head = head_kernel**2 * segmentation * num_classes + num_classes
  return lateral + blocks + head


@pytest.fixture(scope="module")
def fpns():
  """Each FPN's structure (K = 11, CamVid), built once for the tests below: DenseNet-201's takes seconds to build.
  In evaluation mode, which traces much faster (see `trace_forward_backward`) and gives the same shapes."""
  built = {encoder: abstract(f"fpn_{encoder}", 11, (64, 96, 3)) for encoder in ENCODERS}
  for model in built.values():
    model.eval()
  return built


@pytest.mark.parametrize("encoder", sorted(ENCODERS))
def test_parameter_counts_are_torchvision_encoders_plus_the_closed_form_decoder(fpns, encoder):
  published, dropped, channels = ENCODERS[encoder]
  model = fpns[encoder]
  assert models.count_params(model.encoder) == published - dropped
  assert models.count_params(model) - models.count_params(model.encoder) == decoder_params(channels, 11)


def test_parameter_counts_for_each_dataset_and_head():
  published, dropped, channels = ENCODERS["resnet34"]
  for dataset in ("cityscapes", "sbd"):  # 19 and 21 classes (11: above)
    k = NUM_CLASSES[dataset]
    assert models.count_params(abstract("fpn_resnet34", k, (64, 64, 3))) == published - dropped + decoder_params(
      channels, k
    )
  model = abstract("fpn_resnet34", 11, (64, 64, 3), head_kernel_size=3)
  assert models.count_params(model) == published - dropped + decoder_params(channels, 11, head_kernel=3)


def test_docstring_table_holds_the_counts():
  # The table of fpn.py's docstring, row by row, against the closed form (no model is built).
  rows = {
    row[0]: row[1:]
    for row in map(str.split, fpn.__doc__.splitlines())
    if row and row[0].startswith("fpn_") and row[1].replace(",", "").isdigit()
  }
  assert len(rows) == 4
  for encoder, (published, dropped, channels) in ENCODERS.items():
    counts = [published - dropped + decoder_params(channels, NUM_CLASSES[d]) for d in ("camvid", "cityscapes", "sbd")]
    assert rows[f"fpn_{encoder}"][-3:] == [f"{c:,}" for c in counts]


@pytest.mark.parametrize("encoder", sorted(ENCODERS))
def test_encoder_features_are_the_strides_4_to_32_maps(fpns, encoder):
  channels = ENCODERS[encoder][2]
  model = fpns[encoder]
  maps = nnx.eval_shape(lambda m: m.encoder.features(jnp.zeros((2, 64, 96, 3))), model)
  assert [m.shape for m in maps] == [(2, 64 // s, 96 // s, c) for s, c in zip((4, 8, 16, 32), channels, strict=True)]
  assert model.encoder.feature_channels == channels
  assert not hasattr(model.encoder, "head")


def test_decoder_layout_follows_the_library(fpns):
  model = fpns["resnet34"]
  assert [len(block) for block in model.seg_blocks] == [3, 2, 1, 1]
  assert [[u.upsample for u in block] for block in model.seg_blocks] == [[True] * 3, [True] * 2, [True], [False]]
  units = [u for block in model.seg_blocks for u in block]
  assert all(u.norm.num_groups == 32 and u.norm.epsilon == 1e-5 and u.conv.bias is None for u in units)
  assert model.lateral5.kernel.shape == (1, 1, 512, 256) and model.lateral2.kernel.shape == (1, 1, 64, 256)
  assert model.head.kernel.shape == (1, 1, 128, 11) and model.head.bias.shape == (11,)
  assert model.dropout.rate == 0.2 and tuple(model.dropout.broadcast_dims) == (1, 2)  # Dropout2d: whole channel maps
  assert models.DENSE_OUTPUT == {"fpn_resnet34", "fpn_efficientnet_b4", "fpn_densenet201", "fpn_resnext50_32x4d"}


def test_bilinear_upsampling_aligns_corners_as_scipy_zoom():
  # scipy's order-1 zoom with grid_mode=False maps the corner pixels onto each other: PyTorch's align_corners=True.
  x = np.random.default_rng(0).normal(size=(2, 3, 5, 4)).astype(np.float32)
  for factor in (2, 4):
    expected = scipy.ndimage.zoom(x, (1, factor, factor, 1), order=1, grid_mode=False)
    np.testing.assert_allclose(fpn.upsample_bilinear(jnp.asarray(x), factor), expected, rtol=1e-5, atol=1e-5)
  # A 1-pixel map is copied.
  np.testing.assert_array_equal(fpn.upsample_bilinear(jnp.ones((1, 1, 1, 2)), 2), np.ones((1, 2, 2, 2)))
  np.testing.assert_array_equal(fpn.upsample_nearest_2x(jnp.asarray(x)), x.repeat(2, axis=1).repeat(2, axis=2))


def _conv(x, kernel, bias):
  """A convolution padded by k // 2, as a sum of shifted matrix products (numpy)."""
  k, pad = kernel.shape[0], kernel.shape[0] // 2
  h, w = x.shape[1:3]
  padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
  out = sum(padded[:, i : i + h, j : j + w] @ kernel[i, j] for i in range(k) for j in range(k))
  return out if bias is None else out + bias


def _group_norm(x, scale, bias, groups=32, eps=1e-5):
  n, h, w, c = x.shape
  g = x.reshape(n, h, w, groups, c // groups)
  g = (g - g.mean(axis=(1, 2, 4), keepdims=True)) / np.sqrt(g.var(axis=(1, 2, 4), keepdims=True) + eps)
  return g.reshape(x.shape) * scale + bias


def test_decoder_computes_the_fpn_of_a_numpy_reference():
  # Narrow pyramid (32) and segmentation (64: 2 channels per GroupNorm group) for a cheap reference; random biases and
  # GroupNorm affines so that each parameter counts.
  model = models.create("fpn_resnet34", num_classes=5, input_shape=(64, 64, 3), pyramid_channels=32,
                        segmentation_channels=64)  # fmt: skip
  model.eval()  # no dropout
  rng = np.random.default_rng(0)
  for path, p in nnx.iter_graph(model):
    if isinstance(p, nnx.Param) and "encoder" not in path and (path[-1] == "bias" or path[-2] == "norm"):
      p[...] = jnp.asarray(rng.normal(size=p.shape), jnp.float32)
  assert np.all(np.asarray(model.head.bias[...]) != 0)
  assert np.all(np.asarray(model.seg_blocks[0][0].norm.bias[...]) != 0)
  maps = [rng.normal(size=(2, 8 // 2**i, 8 // 2**i, c)).astype(np.float32) for i, c in enumerate((64, 128, 256, 512))]
  logits = np.asarray(model.decode([jnp.asarray(m) for m in maps]))

  def param(module, name):
    return None if getattr(module, name) is None else np.asarray(getattr(module, name)[...])

  lateral = [model.lateral2, model.lateral3, model.lateral4, model.lateral5]
  p = [_conv(m, param(c, "kernel"), param(c, "bias")) for m, c in zip(maps, lateral, strict=True)]
  for level in (2, 1, 0):  # top-down: P_l = nearest_up2(P_(l+1)) + lateral(C_l)
    p[level] = p[level] + p[level + 1].repeat(2, axis=1).repeat(2, axis=2)
  merged = 0
  for block, x in zip(model.seg_blocks, p[::-1], strict=True):
    for unit in block:
      x = np.maximum(_group_norm(_conv(x, param(unit.conv, "kernel"), None), param(unit.norm, "scale"),
                                 param(unit.norm, "bias")), 0)  # fmt: skip
      if unit.upsample:
        x = scipy.ndimage.zoom(x, (1, 2, 2, 1), order=1, grid_mode=False)
    merged = merged + x
  expected = _conv(merged, param(model.head, "kernel"), param(model.head, "bias"))
  expected = scipy.ndimage.zoom(expected, (1, 4, 4, 1), order=1, grid_mode=False)
  assert logits.shape == (2, 32, 32, 5)
  np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-4)


def test_sizes_that_are_not_multiples_of_32_are_clear_errors(fpns):
  with pytest.raises(ValueError, match=r"multiples of 32 .*got 360 x 480.*e\.g\. to 384 x 480"):
    models.create("fpn_resnet34", num_classes=11, input_shape=(360, 480, 3))
  with pytest.raises(ValueError, match="multiples of 32"):
    abstract("fpn_densenet201", 11, (16, 64, 3))
  with pytest.raises(ValueError, match=r"got 64 x 80"):
    nnx.eval_shape(lambda m: m(jnp.zeros((1, 64, 80, 3))), fpns["resnet34"])
  with pytest.raises(ValueError, match=r"needs image inputs of shape \(H, W, C\)"):
    models.create("fpn_resnet34", num_classes=11, input_shape=(64,))
  with pytest.raises(ValueError, match="head_kernel_size must be 1"):
    abstract("fpn_resnet34", 11, (64, 64, 3), head_kernel_size=5)


FAST = [("fpn_resnet34", (64, 64, 3))]


@pytest.mark.parametrize("name, input_shape", FAST)
def test_forward_and_backward_under_jit(name, input_shape):
  model, _ = check_forward_backward(name, input_shape, batch=1, num_classes=NUM_CLASSES["camvid"])
  # Other input sizes (multiples of 32) give logits of their size: the evaluation pads to EVAL_SIZES.
  model.eval()
  assert nnx.eval_shape(lambda m: m(jnp.zeros((1, 96, 32, 3))), model).shape == (1, 96, 32, 11)


# Traced, not executed, at the crop sizes of HEM's sets: a training step through each encoder at full size (the
# structures above serve: an FPN's parameters do not depend on the input size).
TRACED = [
  ("fpn_efficientnet_b4", (*CROP_SIZES["camvid"], 3)),
  ("fpn_densenet201", (*CROP_SIZES["sbd"], 3)),
  ("fpn_resnext50_32x4d", (*CROP_SIZES["cityscapes"], 3)),
]


@pytest.mark.parametrize("name, input_shape", TRACED)
def test_forward_and_backward_traced_at_crop_size(fpns, name, input_shape):
  logits, grads = trace_forward_backward(fpns[name.removeprefix("fpn_")], name, input_shape, batch=2)
  assert logits.shape == (2, *input_shape[:2], 11)
  assert len(jax.tree.leaves(grads)) == len(jax.tree.leaves(nnx.state(fpns[name.removeprefix("fpn_")], nnx.Param)))
