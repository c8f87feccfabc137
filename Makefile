# `make demo` and `make test` do all the set-up on a fresh machine with Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# PyTorch/XLA needs torch 2.9.0, which clashes with the main venv's torch: it gets a venv of its own.
XLA_VENV := .venv-xla
# AI Edge Torch (litert-torch) and the LiteRT interpreter pull in JAX and transformers: the
# generated projects' LiteRT conversion is tested in a venv of its own.
LITERT_VENV := .venv-litert

.PHONY: help install install-test demo test test-fast test-fuzz lint format typecheck bench clean xla-venv litert-venv shells browser

help:
	@echo "make demo    install, then run the main job on the bundled example answers"
	@echo "make test    install what the tests need, then run them all"
	@echo "make test-fast  skip the slow tests (generated projects that train)"
	@echo "make test-fuzz  the property tests with new random examples"
	@echo "make lint / format / typecheck / bench"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml requirements-pipeline.txt | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/pip install -q --no-deps -r requirements-pipeline.txt
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# The main job end to end: recommend, generate the project, then train it on its bundled sample
# data, run its own tests and print the Vertex AI request it would submit (no credentials needed).
DEMO := out/churn-sklearn
demo: $(VENV)/.installed
	$(BIN)/advisor recommend --answers examples/sql-team-bigquery.yml
	$(BIN)/advisor recommend --answers examples/tabular-sklearn.yml
	$(BIN)/advisor new --answers examples/tabular-sklearn.yml --output $(DEMO) --force
	test -x $(DEMO)/.venv/bin/python || $(PYTHON) -m venv $(DEMO)/.venv
	$(DEMO)/.venv/bin/pip install -q -r $(DEMO)/requirements.txt
	$(MAKE) -C $(DEMO) train test PYTHON=.venv/bin/python
	$(MAKE) -s -C $(DEMO) dry-run PYTHON=.venv/bin/python

test: install-test xla-venv litert-venv shells browser
	$(BIN)/python -m pytest --durations=30
	@echo "reliability suite (docs/reliability.md): $$($(BIN)/python -m pytest -q --co -p no:cacheprovider tests/reliability | tail -1)"

test-fast: install-test
	$(BIN)/python -m pytest -m "not slow"

# The property tests with fresh random examples (CI runs a fixed, derandomized set).
test-fuzz: install-test
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -m "not slow" -p no:cacheprovider \
	  tests/project/test_render_filters.py tests/project/test_update_merge.py tests/ruleset \
	  tests/reliability

lint: install-test
	$(BIN)/lint-imports
	$(BIN)/ruff check advisor tests bench scripts
	$(BIN)/black --check advisor tests bench scripts

format: install-test
	$(BIN)/black advisor tests bench scripts
	$(BIN)/ruff check --fix advisor tests bench scripts

typecheck: install-test
	$(BIN)/mypy

bench: install-test
	$(BIN)/python bench/run.py

# Made only when missing (a stamp named by the package list, so a changed list installs again):
# torch 2.9.0 from PyPI is a CUDA build of several GB. The list is what the generated PyTorch/XLA
# project's tests import (its trainer, and submit.py's offline dry run).
XLA_PKGS := torch==2.9.0 torch-xla==2.9.0 numpy==2.4.6 pandas==3.1.1 pyarrow==26.0.1 \
	fsspec==2026.9.0 gcsfs==2026.10.1 pillow==13.0.0 tensorboard==2.21.0 \
	cloudml-hypertune==0.1.0.dev6 google-cloud-aiplatform==2.7.0 pytest==9.2.0
XLA_STAMP := $(XLA_VENV)/.installed-$(shell echo '$(XLA_PKGS)' | cksum | cut -d' ' -f1)

$(XLA_STAMP):
	test -x $(XLA_VENV)/bin/python || $(PYTHON) -m venv $(XLA_VENV)
	$(XLA_VENV)/bin/pip install -q $(XLA_PKGS)
	@touch $@

xla-venv: $(XLA_STAMP)

# The packages of a generated project's on_device/requirements.txt (the LiteRT conversion of the
# PyTorch stacks for phones and edge devices; tests/project/stacks/test_litert.py checks that the
# two lists agree): about 2.4 GB, under two minutes to install, torch 2.13.0 the CPU build on disk.
LITERT_PKGS := torch==2.13.0 numpy==2.4.6 pandas==3.1.1 pyarrow==26.0.1 fsspec==2026.9.0 \
	litert-torch==0.10.0 ai-edge-litert==2.3.0 ai-edge-quantizer==0.10.0 litert-converter==0.5.0 \
	torchao==0.18.0 jax==0.10.2 jaxlib==0.10.2 transformers==5.25.0 pytest==9.2.0
LITERT_STAMP := $(LITERT_VENV)/.installed-$(shell echo '$(LITERT_PKGS)' | cksum | cut -d' ' -f1)

$(LITERT_STAMP):
	test -x $(LITERT_VENV)/bin/python || $(PYTHON) -m venv $(LITERT_VENV)
	$(LITERT_VENV)/bin/pip install -q $(LITERT_PKGS)
	@touch $@

litert-venv: $(LITERT_STAMP)

# The completion tests run the generated scripts in real zsh and fish (Debian packages; apt-get
# needs root, or sudo where it is available).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# A fresh machine may still be running its own apt job: wait for the lock rather than fail.
APT  := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600
shells:
	@command -v zsh >/dev/null && command -v fish >/dev/null || \
	  ($(APT) update -qq && $(APT) install -y -qq zsh fish)

# The quiz page's test drives a real headless Chromium through selenium (Debian's chromium and
# its driver, which ship matching versions).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  ($(APT) update -qq && $(APT) install -y -qq chromium chromium-driver)

clean:
	rm -rf $(VENV) $(XLA_VENV) $(LITERT_VENV) build dist .pytest_cache .mypy_cache .ruff_cache
