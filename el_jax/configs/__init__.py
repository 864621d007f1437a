"""The experiment configs shipped with el_jax: one file per experiment of the three papers, the quickstart and the
reproduction studies (see README.md in this folder). Each file defines `get_config(arg=None) -> ConfigDict`.

A `--config` value names a config file with an optional `:arg` (`resolve`): a path that exists is taken as it is;
otherwise it names a config shipped here, relative to this folder, with or without `.py` and with or without a
leading `configs/` (`quickstart`, `hem/mnist:model=lenet`, `configs/studies/uci.py`), so the command lines work from
any folder once el_jax is installed. The repository's `configs/` is this folder.
"""

import os

FOLDER = os.path.dirname(os.path.abspath(__file__))


def names() -> list[str]:
  """The shipped configs, as `--config` accepts them: "quickstart", "hem/mnist", ... (sorted)."""
  found = []
  for folder, _, files in os.walk(FOLDER):
    for file in files:
      if file.endswith(".py") and not file.startswith("_"):
        path = os.path.join(folder, file)
        with open(path) as f:
          if "def get_config(" in f.read():
            found.append(os.path.relpath(path, FOLDER)[: -len(".py")].replace(os.sep, "/"))
  return sorted(found)


def resolve(spec: str) -> str:
  """The `file[:arg]` that `spec` names: itself if `file` exists, else the shipped config it names; a ValueError
  lists the shipped configs when it names neither."""
  file, colon, arg = spec.partition(":")
  if os.path.isfile(file):
    return spec
  name = file.removeprefix("configs/").removesuffix(".py")
  path = os.path.join(FOLDER, *name.split("/")) + ".py"
  if name and os.path.isfile(path):
    return path + colon + arg
  raise ValueError(
    f"--config {file!r} is neither a file nor a config shipped with el_jax. Give a path to a config file, or one of: "
    f"{', '.join(names())}."
  )


def resolve_argv(argv: list[str]) -> list[str]:
  """`argv` with the value of `--config` (as `--config=V` or `--config V`) resolved by `resolve`; the rest as is."""
  out = list(argv)
  for i, item in enumerate(out):
    if item.startswith("--config="):
      out[i] = "--config=" + resolve(item.removeprefix("--config="))
    elif item == "--config" and i + 1 < len(out):
      out[i + 1] = resolve(out[i + 1])
  return out
