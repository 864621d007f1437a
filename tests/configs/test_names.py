"""`el_jax.configs.resolve`: a `--config` value is a file if it exists, else the name of a shipped config."""

import os

import pytest

from el_jax import configs


def test_names_are_the_shipped_config_files():
  names = configs.names()
  assert {"quickstart", "common", "hem/mnist", "studies/fashion_mnist", "encouraging_loss/cifar"} - {"common"} <= set(
    names
  )
  assert "common" not in names and "losses" not in names  # no get_config: shared pieces, not experiments
  for name in names:
    assert os.path.isfile(os.path.join(configs.FOLDER, *name.split("/")) + ".py")


@pytest.mark.parametrize(
  "spec, relative",
  [
    ("quickstart", "quickstart.py"),
    ("quickstart:smoke", "quickstart.py:smoke"),
    ("hem/mnist.py:model=lenet,loss=hem", "hem/mnist.py:model=lenet,loss=hem"),
    ("configs/studies/uci.py:tiny", "studies/uci.py:tiny"),  # the repository's form, from any folder
  ],
)
def test_a_name_resolves_to_the_shipped_file_keeping_its_argument(spec, relative, tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)  # no file of that name here
  assert configs.resolve(spec) == os.path.join(configs.FOLDER, relative)


def test_an_existing_file_is_taken_as_it_is(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  (tmp_path / "quickstart.py").write_text("def get_config(arg=None):\n  return None\n")
  assert configs.resolve("quickstart.py:smoke") == "quickstart.py:smoke"  # the user's file, not the shipped one


def test_an_unknown_name_is_refused_with_the_list(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  with pytest.raises(ValueError, match=r"'hem/mnsit' is neither a file nor a config shipped with el_jax.*hem/mnist"):
    configs.resolve("hem/mnsit:model=lenet")


def test_resolve_argv_rewrites_only_the_config_value(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  path = os.path.join(configs.FOLDER, "quickstart.py")
  argv = ["prog", "--config", "quickstart:smoke", "--config.num_epochs=1", "--workdir=quickstart"]
  assert configs.resolve_argv(argv) == [
    "prog",
    "--config",
    path + ":smoke",
    "--config.num_epochs=1",
    "--workdir=quickstart",
  ]
  assert configs.resolve_argv(["prog", "--config=quickstart"]) == ["prog", "--config=" + path]
