"""configs/hem/ood_sets.py: every set it names has a reader, its rows as evaluation options, and README.md shows the
same table."""

import pytest

from el_jax.configs.hem import ood_sets
from el_jax.data import corrupted, ood_sources
from el_jax.evaluate import suite
from el_jax.evaluate.ood_sets import SYNTHETIC
from tests.configs.paper_configs import ROOT


def test_every_named_set_has_a_reader_and_a_stand_in():
  for row in ood_sets.TABLE.values():
    assert len(row["ood_sets"]) == 7  # "AUROC was calculated using seven data-sets containing unknown classes"
    for name in row["ood_sets"]:
      assert name in SYNTHETIC or ood_sources.load(f"synthetic:{name}") is not None
    assert row["corruption_set"] == "mnist_c" or row["corruption_set"] in corrupted.names()


def test_rows_are_evaluation_options():
  config = ood_sets.get_config("cifar100")
  assert config.ood_sets[:3] == ("dtd", "svhn", "cifar10") and config.corruption_set == "cifar100_c"
  assert config.ensemble_linf_eps == (pytest.approx(8 / 255),) and config.ensemble_l2_eps == (0.5,)
  assert ood_sets.get_config("mnist").pgd_l2_eps == (2.0,)
  suite.Options(**config.to_dict())  # every key is an option
  with pytest.raises(ValueError, match="valid: mnist, cifar10"):
    ood_sets.get_config("svhn")


def test_the_readme_table_lists_the_same_sets():
  readme = (ROOT / "README.md").read_text()
  section = readme[readme.index("## Robustness protocol per dataset") :]
  for dataset, row in ood_sets.TABLE.items():
    line = next(line for line in section.splitlines() if line.startswith(f"| `{dataset}`"))
    for name in (*row["ood_sets"][:3], row["corruption_set"]):
      assert f"`{name}`" in line, (dataset, name)
