"""configs/common.py and what every paper config shares: the variant table of paper_configs.py covers every config
file, and an unknown config argument is named."""

import pytest

from tests.configs.paper_configs import ROOT, VARIANTS, get_config

# The config files not in VARIANTS: those of other modalities (graphs, text, translation), whose variants have tests
# of their own in this folder's test_<paper>.py and whose smoke runs are in the tests/e2e file named here, and that of
# continual learning, tested in tests/continual; semantic segmentation, whose stand-ins and models take shapes of
# their own; and the mixing paper's COT comparison, whose rows pair each data set with its own networks, built and
# smoke-trained in the file named here.
TESTED_ELSEWHERE = {
  "expectation_mixing.cot": "tests/configs/test_expectation_mixing_baselines.py",
  "encouraging_loss.graphs": "tests/e2e/test_graph_classification.py",
  "encouraging_loss.iwslt": "tests/e2e/test_translation.py",
  "expectation_mixing.reviews": "tests/e2e/test_text_classification.py",
  "expectation_mixing.glue": "tests/e2e/test_text_classification.py",
  "hem.continual": "tests/continual",
  "hem.ood_sets": "tests/configs/test_hem_ood_sets.py",  # a table of evaluation options, not a training config
  "hem.segmentation": "tests/configs/test_hem_segmentation.py",  # per-pixel labels and shapes of its own
}


def test_variant_table_covers_every_config_file():
  on_disk = {
    f"{path.parent.name}.{path.stem}"
    for folder in ("encouraging_loss", "expectation_mixing", "hem")
    for path in (ROOT / "configs" / folder).glob("*.py")
    if path.stem not in ("__init__", "recipes")
  }
  assert set(VARIANTS) | set(TESTED_ELSEWHERE) == on_disk
  for module, tests in TESTED_ELSEWHERE.items():
    assert (ROOT / tests).exists(), f"{module}'s tests are missing: {tests}"


def test_an_unknown_argument_is_named():
  with pytest.raises(ValueError, match="modle"):
    get_config("hem.cifar10", "modle=resnet32")
