"""el-jax-evaluate's flags as `suite.Options`: the robustness sets and budgets default to the data set's (None), and
the flags name sets, folders, families and budgets."""

from absl import flags
from absl.testing import flagsaver

from el_jax.cli import evaluate as cli
from el_jax.evaluate import suite


def _parse(*argv):
  flags.FLAGS.unparse_flags()
  flags.FLAGS(["el-jax-evaluate", *argv])
  return cli._options()


@flagsaver.flagsaver
def test_without_flags_the_data_sets_defaults_are_used():
  options = _parse()
  default = suite.Options()
  assert options == default
  assert (options.ood_sets, options.corruption_set, options.fgsm_eps, options.pgd_linf_eps) == (None, None, None, None)
  assert options.ensemble_linf_eps == ()  # AutoAttack stays off unless asked for
  assert options.crt is False and options.crt_train_subset is None  # CRT re-trains only when asked for


@flagsaver.flagsaver
def test_flags_name_the_sets_folders_families_and_budgets():
  options = _parse(
    "--ood_sets=dtd,svhn,uniform_noise",
    "--ood_data_dir=/data/ood",
    "--corruption_set=cifar10_c",
    "--corruption_data_dir=/data",
    "--corruption_families=fog,snow",
    "--pgd_linf_eps=0.03",
    "--pgd_l2_eps=",
    "--ensemble_linf_eps=dataset",
  )
  assert options.ood_sets == ("dtd", "svhn", "uniform_noise") and options.ood_data_dir == "/data/ood"
  assert (options.corruption_set, options.corruption_data_dir) == ("cifar10_c", "/data")
  assert options.corruption_families == ("fog", "snow")
  assert options.pgd_linf_eps == (0.03,) and options.pgd_l2_eps == () and options.fgsm_eps is None
  assert options.ensemble_linf_eps is None and options.ensemble_l2_eps == ()  # None: the data set's budget


@flagsaver.flagsaver
def test_crt_flags_reach_the_options():
  options = _parse("--crt", "--crt_train_subset=500")
  assert (options.crt, options.crt_train_subset) == (True, 500)
