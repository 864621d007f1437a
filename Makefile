# el_jax: `make quickstart` trains the default config offline; `make test` runs the tests.
# Both first create .venv (if absent) and install the pinned dependencies and the package, editable.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
FMNIST_FILE := train-images-idx3-ubyte.gz
FMNIST_SYSTEM_DIR := /usr/share/datasets/fashion-mnist
PYTEST_ARGS ?=
# Test processes side by side (pytest-xdist), one test file each at a time, XLA single-threaded in each (see
# tests/conftest.py): on 2 cores that beats one process with two XLA threads, as for the studies' runs.
TEST_WORKERS ?= 2

.PHONY: install data quickstart reproduce test test-fast lint clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "el_jax needs Python >= 3.11; set PYTHON=/path/to/python3.11 (e.g. make PYTHON=python3.12 test)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# Fashion-MNIST from Debian's package, when neither $EL_JAX_DATA_DIR nor the system folder has it.
data:
	@if [ -f "$${EL_JAX_DATA_DIR:-/nonexistent}/$(FMNIST_FILE)" ] || [ -f "$(FMNIST_SYSTEM_DIR)/$(FMNIST_FILE)" ]; then \
	  exit 0; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  echo "Installing Fashion-MNIST (Debian package dataset-fashion-mnist)..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; \
	elif command -v apt-get >/dev/null && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then \
	  echo "Installing Fashion-MNIST (Debian package dataset-fashion-mnist)..."; \
	  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; \
	else \
	  echo "Fashion-MNIST not found. Install it with 'sudo apt-get install dataset-fashion-mnist', or put the"; \
	  echo "four idx .gz files of github.com/zalandoresearch/fashion-mnist in a folder and set EL_JAX_DATA_DIR."; \
	fi

quickstart: install data
	$(PY) train.py --config configs/quickstart.py --workdir runs/quickstart

# The CPU-scale studies of the papers' claims, one single-threaded run per core side by side (on 2 cores that beats one
# two-threaded run by about 1.3x); resumes if interrupted.
reproduce: install data
	$(PY) reproduce.py --jobs $$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)

# The tests make their own data; `data` is installed for the tests that read the real files.
test: install data
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache .hypothesis *.egg-info
