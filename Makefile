# The course's commands. `make lab` and `make test` both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Keep Jupyter's per-user state (kernelspecs, settings, workspaces, runtime files) inside .venv,
# so nothing is registered globally and a user-level "python3" kernelspec cannot shadow ours.
JUPYTER_ENV := JUPYTER_CONFIG_DIR=$(CURDIR)/$(VENV)/jupyter/config \
	JUPYTER_DATA_DIR=$(CURDIR)/$(VENV)/jupyter/data \
	JUPYTER_PREFER_ENV_PATH=1 \
	TF_CPP_MIN_LOG_LEVEL=2 TF_ENABLE_ONEDNN_OPTS=0

LAB_FLAGS := --LabApp.default_url=/lab/tree/notebooks/01_fixed_learning_rate.ipynb
ifeq ($(shell uname -s),Linux)
ifeq ($(strip $(DISPLAY)$(WAYLAND_DISPLAY)),)
LAB_FLAGS += --no-browser
endif
endif
ifeq ($(shell id -u),0)
LAB_FLAGS += --allow-root
endif

.PHONY: setup lab test test-fast lint strip exercises clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-warn-script-location -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)  ## create or update .venv only

lab: $(STAMP)  ## start JupyterLab on the course
	$(JUPYTER_ENV) $(BIN)/jupyter lab $(LAB_FLAGS)

# pyproject.toml adds nbval (every notebook, cell by cell) and `--dist loadgroup`, which keeps
# a notebook's cells on one worker; `--dist loadscope` works too.
test: $(STAMP)  ## the whole test suite, fast mode: unit tests, doctests, notebooks, browser
	LRCOURSE_FAST=1 $(BIN)/python -m pytest -n 2 --dist loadgroup

test-fast: $(STAMP)  ## unit tests and doctests only, for the edit-test loop (no notebooks, kernels or worker processes)
	LRCOURSE_FAST=1 $(BIN)/python -m pytest -n 2 --dist loadgroup -m "not notebook" tests lrcourse

lint: $(STAMP)
	$(BIN)/ruff check .

strip: $(STAMP)  ## remove outputs from every notebook before committing
	$(BIN)/nbstripout --keep-id notebooks/*.ipynb solutions/*.ipynb exercises/*.ipynb

exercises: $(STAMP)  ## regenerate exercises/ from solutions/
	$(BIN)/lrcourse exercises build

clean:
	rm -rf build
