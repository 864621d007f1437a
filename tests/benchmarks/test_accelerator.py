"""benchmarks/accelerator.py: its peak-FLOPs table and MFU, and a `--tiny` CPU run that prints all three sections."""

import importlib.util
import math
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "benchmarks", "accelerator.py")


def _load_script():
  spec = importlib.util.spec_from_file_location("accelerator_benchmark", SCRIPT)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def resnet50_forward_macs(size: int) -> int:
  """Multiply-accumulates of torchvision's ResNet-50 (ImageNet stem, 1,000 classes) on one `size`x`size`x3 image."""
  h = (size - 1) // 2 + 1  # 7x7 stride-2 convolution, padding 3
  macs = h * h * 64 * 7 * 7 * 3
  h = (h - 1) // 2 + 1  # 3x3 stride-2 max-pool, padding 1
  channels = 64
  for stage, blocks in enumerate((3, 4, 6, 3)):
    width = 64 * 2**stage
    out = 4 * width
    for i in range(blocks):
      stride = 2 if stage > 0 and i == 0 else 1
      macs += h * h * channels * width  # 1x1
      h_out = (h - 1) // stride + 1
      macs += h_out * h_out * width * width * 9 + h_out * h_out * width * out  # strided 3x3, then 1x1
      if stride != 1 or channels != out:
        macs += h_out * h_out * channels * out  # projection shortcut
      h, channels = h_out, out
  return macs + 2048 * 1000


def test_analytic_count_is_torchvisions():
  assert resnet50_forward_macs(224) == pytest.approx(4.09e9, rel=1e-3)  # torchvision's "4.09 GFLOPS" (MACs)


def test_peak_table_and_mfu():
  script = _load_script()
  assert script.peak_tflops("NVIDIA H200", None)[0] == 989.0
  assert script.peak_tflops("NVIDIA H100 80GB HBM3", None)[0] == 989.0
  assert script.peak_tflops("NVIDIA H100 PCIe", None)[0] == 756.0
  assert script.peak_tflops("NVIDIA A100-SXM4-80GB", None)[0] == 312.0
  assert script.peak_tflops("TPU v4", None)[0] == 275.0
  assert script.peak_tflops("TPU v5 lite", None)[0] == 197.0
  assert script.peak_tflops("TPU v5", None)[0] == 459.0
  assert script.peak_tflops("cpu", None)[0] is None
  assert script.peak_tflops("cpu", 2.5) == (2.5, "--peak_tflops")
  assert script.peak_tflops("NVIDIA H200", 700.0)[0] == 700.0
  assert script.mfu_text(4e14, 2.0, 400.0) == "50.0%"  # 2e14 FLOP/s of 4e14
  assert script.mfu_text(4e14, 2.0, None) == "n/a"
  assert script.mfu_text(None, 2.0, 400.0) == "n/a"
  assert script.cost_flops({"flops": 3.0}) == 3.0
  assert script.cost_flops([{"flops": 3.0}]) == 3.0  # older JAX: a list of one dict
  assert script.cost_flops({}) is None


def _table_value(output: str, row: str) -> str:
  match = re.search(rf"^\| {re.escape(row)} \| ([^|]+) \|", output, re.MULTILINE)
  assert match, f"no row {row!r} in:\n{output}"
  return match.group(1).strip()


def _positive(text: str) -> float:
  value = float(text.split()[0])
  assert math.isfinite(value) and value > 0, text
  return value


@pytest.mark.slow
def test_tiny_run_prints_three_sections():
  env = dict(os.environ, PYTHONPATH=ROOT)
  result = subprocess.run(
    [sys.executable, SCRIPT, "--tiny"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
  )
  assert result.returncode == 0, result.stderr[-5000:]
  out = result.stdout
  sections = [out.index(title) for title in ("# 1. ResNet-50", "# 2. Losses", "# 3. Output layer")]
  assert sections == sorted(sections)
  assert out.count("device: cpu x") >= 4  # the banner and each section

  resnet = out[sections[0] : sections[1]]
  assert "32x32x3" in resnet and "bfloat16" in resnet and "global batch 4" in resnet
  _positive(_table_value(resnet, "images/s"))
  _positive(_table_value(resnet, "step time"))
  assert _table_value(resnet, "MFU") == "n/a"  # no peak known for the CPU
  assert "(finite)" in _table_value(resnet, "loss after 3 steps")
  # The step's FLOPs from XLA's cost analysis: about 3 forward passes of 2 FLOPs per multiply-accumulate, plus the
  # elementwise work (batch norm, activations, optimiser).
  per_image = _positive(_table_value(resnet, "XLA FLOPs per image")) * 1e9
  assert 0.9 <= per_image / (6 * resnet50_forward_macs(32)) <= 1.3

  loss_part = out[sections[1] : sections[2]]
  for row in ("optax CE", "cross_entropy", "encouraging_loss LE=0.75"):
    _positive(_table_value(loss_part, row).rstrip("x"))

  output_part = out[sections[2] :]
  assert "hidden [64, 32] bfloat16" in output_part and "kernel [32, 512]" in output_part
  for row in ("optax CE", "cross_entropy", "encouraging_loss LE=0.75"):
    _positive(_table_value(output_part, row))  # milliseconds
    match = re.search(rf"^\| {re.escape(row)} \|([^\n]+)$", output_part, re.MULTILINE)
    cells = [c.strip() for c in match.group(1).strip(" |").split("|")]
    _positive(cells[2])  # TFLOP/s
    assert cells[3] == "n/a"  # MFU without a peak
