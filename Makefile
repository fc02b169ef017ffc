# artifact_fastai: `make demo` and `make test` on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?=
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PYTHONHASHSEED := 0
# A first install takes about 7 GB (the pinned torch wheel brings its CUDA libraries): refuse early with less free.
MIN_FREE_GB ?= 8

.PHONY: install test check-sync nbtest pytest demo export clean-nbs help

help:
	@echo "make demo   # install if needed, then run the main job (DATA=path for your own data)"
	@echo "make test   # install if needed, check notebooks/modules sync, run notebook tests and pytest"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall when the project metadata or the pins change.
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	@if [ ! -d "$$(echo $(VENV)/lib/python3*/site-packages/torch)" ]; then \
	  avail_kb=$$(df -Pk $(VENV) | awk 'NR==2 {print $$4}'); \
	  if [ "$$avail_kb" -lt $$(( $(MIN_FREE_GB) * 1024 * 1024 )) ]; then \
	    echo "ERROR: installing needs about $(MIN_FREE_GB) GB free disk; $$(( avail_kb / 1024 )) MB free where $(VENV) is." \
	         "Free some space, or put the environment on a bigger disk with VENV=/path/to/venv."; exit 1; fi; fi
	$(BIN)/python -m pip install --disable-pip-version-check --no-cache-dir -q -c constraints.txt -e '.[dev]'
	$(BIN)/artifact-fastai get-face-model
	$(BIN)/artifact-fastai get-hand-models
	touch $(STAMP)

install: $(STAMP)

export: install
	$(BIN)/nbdev-export

# Fails when nbdev-export or nbdev-clean would change any file: notebooks are the source.
check-sync: install
	@before="$$(git status --porcelain; git diff | sha1sum)"; \
	$(BIN)/nbdev-export && $(BIN)/nbdev-clean; \
	after="$$(git status --porcelain; git diff | sha1sum)"; \
	if [ "$$before" != "$$after" ]; then \
	  echo "ERROR: nbdev-export / nbdev-clean changed files: edit nbs/*.ipynb, run nbdev-export and nbdev-clean, commit both."; \
	  git status --short; exit 1; fi; \
	echo "notebooks and modules in sync, notebooks clean"
	$(BIN)/python tools/nb2readme.py --check

nbtest: install
	$(BIN)/nbdev-test --n-workers 2 --timing

pytest: install
	$(BIN)/python -m pytest -q -ra tests

test: check-sync nbtest pytest

demo: install
	$(BIN)/artifact-fastai demo $(if $(DATA),--data $(DATA),)
