# Every target creates .venv on demand, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: demo test bench lint clean-venv

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(TSTAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP)

DEMO_DIR := outputs/demo

demo: $(STAMP)
	$(VENV)/bin/takeoff -m +experiment=demo hydra.sweep.dir=$(DEMO_DIR)
	$(VENV)/bin/takeoff-report $(DEMO_DIR)/results.zarr --out $(DEMO_DIR)/report

test: $(TSTAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(TSTAMP)
	$(PY) benchmarks/run.py

lint: $(TSTAMP)
	$(VENV)/bin/ruff check harness loops results analysis hydra_plugins tests benchmarks

clean-venv:
	rm -rf $(VENV)
