# Every target creates .venv on demand, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: demo sensitivity test bench power lint clean-venv

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

# Which parameters matter in the story? A Morris screening of 8 parameters (36 runs of 4 worlds),
# then Morris indices and PRIM boxes for an escape (README, "Which parameters matter?").
SENS_DIR := outputs/sensitivity
SENS_PARAMS := 'model.q_growth=interval(0,0.004)' 'model.t_net=interval(40,120)' \
	'loop.propose.returns=interval(0.8,1.2)' 'loop.propose.rate=interval(0.01,0.04)' \
	'loop.troubleshoot.fix_max=interval(0.1,0.9)' 'loop.replicate.rho=interval(0.05,0.5)' \
	'loop.replicate.p_share=interval(0,1)' 'capacity.home=interval(8,128)'

sensitivity: $(STAMP)
	$(VENV)/bin/takeoff -m +experiment=story seeds=4 hydra/sweeper=design hydra.sweeper.method=morris \
		hydra.sweeper.n=4 $(SENS_PARAMS) hydra.sweep.dir=$(SENS_DIR)
	$(VENV)/bin/takeoff-report $(SENS_DIR)/results.zarr --out $(SENS_DIR)/report --scenario 'escaped_instances > 0'

# CI prints the 25 slowest tests, so a test that grows shows in its log (make test PYTEST_ARGS=... to change).
PYTEST_ARGS ?= --durations=25

test: $(TSTAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(TSTAMP)
	$(PY) benchmarks/run.py

# The power of the kernel-vs-reference tests (tests/loops/test_reference.py's table): about 2-5 min.
power: $(TSTAMP)
	$(PY) -m tests.loops.power

lint: $(TSTAMP)
	$(VENV)/bin/ruff check harness loops results analysis hydra_plugins tests benchmarks

clean-venv:
	rm -rf $(VENV)
