# Every target sets itself up from a clean clone: a virtual environment in .venv, torch pinned to the
# CPU build first (an unpinned torch pulls gigabytes of CUDA packages), then the package with its dev extras.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: setup demo test lint bench bench-train clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: setup
	$(PY) -m train --config configs/demo.yaml

test: setup
	$(PY) -m pytest -q -n 2 tests

lint: setup
	$(PY) -m ruff check envs baselines train eval tests benchmarks
	$(PY) -m ruff format --check envs baselines train eval tests benchmarks

bench: setup
	$(PY) benchmarks/env_speed.py
	$(PY) benchmarks/policy_speed.py
	$(PY) benchmarks/optimal_accuracy.py
	$(PY) benchmarks/eval_speed.py

# Trains every shipped config once (about half an hour on 2 cores); run it alone for honest timings.
bench-train: setup
	$(PY) benchmarks/train_quality.py

clean:
	rm -rf $(VENV) runs build *.egg-info
