"""The OOD, corruption and attack evaluators with real sets read from releases written here, their skips when files
are missing, and their defaults per data set; figures against scikit-learn and PIL computed here from the model's own
outputs. The report's rows for them."""

import dataclasses

import numpy as np
import pytest
from PIL import Image
from sklearn import metrics as sk_metrics

from el_jax.data import corrupted
from el_jax.evaluate import corruptions, evaluators, report
from el_jax.evaluate.ood_sets import SYNTHETIC
from el_jax.evaluate.subject import Skip, Subject
from tests.evaluate.test_evaluators import _pixels_logits, problem  # noqa: F401 (a fixture)

MSP = "msp"


def _subject(problem, name=None, **kwargs):  # noqa: F811
  model, _, _, _, inputs = problem
  if name is not None:
    inputs = dataclasses.replace(inputs, name=name)
  return Subject(model, inputs, {"name": "cross_entropy"}, batch_size=16, **kwargs)


def _to_6x6_grey(image):
  """What the model's input shape asks of a release image, computed with PIL: grey (601 luma), bilinear to 6 x 6."""
  pil = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
  return np.asarray(pil.convert("L").resize((6, 6), Image.BILINEAR))[..., None]


def _msp(logits):
  e = np.exp(logits - logits.max(1, keepdims=True))
  return (e / e.sum(1, keepdims=True)).max(1)


def test_a_real_ood_set_from_its_release_and_a_missing_one_listed_with_the_flag(problem, tmp_path):  # noqa: F811
  model, images, _, logits, _ = problem
  kmnist = np.random.default_rng(7).integers(0, 256, (5, 28, 28), dtype=np.uint8)
  np.savez_compressed(tmp_path / "kmnist-test-imgs.npz", arr_0=kmnist)
  np.savez_compressed(tmp_path / "kmnist-test-labels.npz", arr_0=np.zeros(5, np.uint8))
  options = {"ood_sets": ("uniform_noise", "kmnist", "omniglot"), "ood_data_dir": str(tmp_path)}
  section = evaluators.run("ood", _subject(problem), options)[0]["ood"]
  assert list(section["sets"]) == ["uniform_noise", "kmnist"] and section["real_sets"] == ["kmnist"]
  assert section["num_images"] == {"uniform_noise": 40, "kmnist": 5}
  reason = section["skipped_sets"]["omniglot"]
  assert "images_evaluation.zip" in reason and "--ood_data_dir" in reason and str(tmp_path) in reason
  out = _pixels_logits(model, np.stack([_to_6x6_grey(im[..., None]) for im in kmnist]))
  expected = sk_metrics.roc_auc_score(np.r_[np.ones(40), np.zeros(5)], np.r_[_msp(logits), _msp(out)])
  assert section["sets"]["kmnist"][MSP]["auroc"] == pytest.approx(expected, abs=1e-6)
  mean = np.mean([section["sets"][s][MSP]["auroc"] for s in ("uniform_noise", "kmnist")])
  assert section["mean"][MSP]["auroc"] == pytest.approx(mean)
  markdown = report.to_markdown({**_minimal_report(), "ood": section})
  assert "## Sets left out (files missing)\n\n- ood/omniglot: omniglot: neither" in markdown


def test_a_stand_in_run_tests_the_stand_ins_of_its_data_sets_sets(problem):  # noqa: F811
  section = evaluators.run("ood", _subject(problem, name="synthetic:cifar10"), {"ood_count": 3})[0]["ood"]
  assert list(section["sets"]) == ["synthetic:dtd", "synthetic:svhn", "synthetic:cifar100", *SYNTHETIC]
  assert set(section["num_images"].values()) == {3} and "skipped_sets" not in section
  with pytest.raises(ValueError, match="Unknown OOD set 'textures'"):
    evaluators.run("ood", _subject(problem), {"ood_sets": ("textures",)})


def _cifar_c(root, families, per=4):
  root.mkdir()
  rng = np.random.default_rng(11)
  releases = {}
  for family in families:
    releases[family] = rng.integers(0, 256, (5 * per, 32, 32, 3), dtype=np.uint8)
    np.save(root / f"{family}.npy", releases[family])
  labels = rng.integers(0, 3, 5 * per)
  np.save(root / "labels.npy", labels)
  return releases, labels


def test_a_released_corruption_set_per_family_and_severity_and_the_means(problem, tmp_path):  # noqa: F811
  model = problem[0]
  releases, labels = _cifar_c(tmp_path / "CIFAR-10-C", ("fog", "saturate"))
  options = {"corruption_set": "cifar10_c", "corruption_data_dir": str(tmp_path), "corruption_subset": 4}
  section = evaluators.run("corruptions", _subject(problem), options)[0]["corruptions"]
  assert section["set"] == "cifar10_c" and section["severities"] == [1, 2, 3, 4, 5] and section["num_corrupted"] == 4
  for family, images in releases.items():
    expected = [
      np.mean(_pixels_logits(model, np.stack([_to_6x6_grey(im) for im in images[4 * s : 4 * s + 4]])).argmax(1)
              == labels[4 * s : 4 * s + 4])
      for s in range(5)
    ]  # fmt: skip
    assert section["accuracy_by_severity"][family] == pytest.approx(expected)
    assert section["accuracy"][family] == pytest.approx(np.mean(expected))
  assert section["mean_accuracy"] == pytest.approx(np.mean(list(section["accuracy"].values())))
  assert set(section["skipped_families"]) == set(corrupted.ALL_FAMILIES) - {"fog", "saturate"}
  assert "mean_accuracy_15" not in section  # only 1 of the benchmark's 15 families
  one = {**options, "corruption_families": ("saturate",), "corruption_severity": 2}
  section = evaluators.run("corruptions", _subject(problem), one)[0]["corruptions"]
  assert list(section["accuracy_by_severity"]) == ["saturate"] and section["severities"] == [2]
  markdown = report.to_markdown({**_minimal_report(), "corruptions": section})
  assert "## Corruptions (cifar10_c, 4 images per severity)" in markdown and "| saturate |" in markdown


def test_a_missing_corruption_release_skips_the_section_naming_the_flag_and_download(problem, tmp_path):  # noqa: F811
  with pytest.raises(Skip, match=r"CIFAR-10-C\.tar from zenodo.*--corruption_data_dir.*corruption_set='mnist_c'"):
    evaluators.run("corruptions", _subject(problem, name="cifar10"), {"corruption_data_dir": str(tmp_path)})
  with pytest.raises(ValueError, match="Unknown corruption families \\['smoke'\\]"):
    _cifar_c(tmp_path / "CIFAR-10-C", ("fog",))
    evaluators.run("corruptions", _subject(problem, name="cifar10"), {"corruption_data_dir": str(tmp_path),
                                                                       "corruption_families": ("smoke",)})  # fmt: skip


def test_mnist_c_families_keep_their_seeds_when_chosen_alone(problem):  # noqa: F811
  model, images, labels, _, _ = problem
  options = {"corruption_subset": 10, "corruption_families": ("stripe", "shot_noise")}
  section = evaluators.run("corruptions", _subject(problem, seed=2), options)[0]["corruptions"]
  assert section["set"] == "mnist_c" and list(section["accuracy"]) == ["shot_noise", "stripe"]
  index = corruptions.names().index("shot_noise")
  noisy = corruptions.corrupt("shot_noise", images[:10], seed=2 + index)
  assert section["accuracy"]["shot_noise"] == pytest.approx(
    np.mean(_pixels_logits(model, noisy).argmax(1) == labels[:10])
  )


def test_attack_budgets_default_to_the_data_sets(problem):  # noqa: F811
  options = {"attack_subset": 4, "fgsm_eps": (), "pgd_l2_eps": (), "pgd_steps": 1}
  section = evaluators.run("adversarial", _subject(problem, name="mnist_digits"), options)[0]["adversarial"]
  assert list(section) == ["pgd_linf"] and section["pgd_linf"]["eps"] == [0.0, 0.3]  # HEM A.1.2's MNIST budget


def _minimal_report():
  return {
    "dataset": "fake",
    "split": "test",
    "num_test": 40,
    "loss": {},
    "model": {},
    "accuracy": {"top1": 0.5, "nll": 1.0, "per_class": [0.5] * 3},
    "calibration": {"num_bins": 15, "ece": 0.1},
    "margins": {"mean": 0.0, "q50": 0.0},
    "energy": {"on_data": 0.0, "lowest_off_data": 0.0},
    "timing_seconds": {},
  }
