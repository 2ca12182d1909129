# Every target sets itself up from a clean clone: a virtual environment in .venv, torch pinned to the
# CPU build first (an unpinned torch pulls gigabytes of CUDA packages), then the package with its dev extras.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: setup demo test lint bench bench-train bench-robustness sweep-demo clean

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
	$(PY) -m ruff check envs baselines train eval tests benchmarks examples docs/hooks.py
	$(PY) -m ruff format --check envs baselines train eval tests benchmarks examples docs/hooks.py

bench: setup
	$(PY) benchmarks/env_speed.py
	$(PY) benchmarks/policy_speed.py
	$(PY) benchmarks/optimal_accuracy.py
	$(PY) benchmarks/eval_speed.py
	$(PY) benchmarks/hedged.py
	$(PY) benchmarks/dealer.py

# Trains every shipped config on 3 seeds through Ray (about 45 minutes on 2 cores); run it alone for honest timings.
bench-train: setup
	$(PY) benchmarks/train_quality.py

# A small random search (2 configurations × 2 seeds) on a private Ray; a few minutes on 2 cores.
sweep-demo: setup
	rm -rf sweeps/demo
	$(PY) -m train.sweep run --spec configs/sweeps/demo.yaml

# The recipe on worlds nobody tuned for: 8 worlds × 3 seeds (about an hour on 2 cores; QUICK=1 for minutes).
bench-robustness: setup
	$(PY) benchmarks/recipe_robustness.py $(if $(QUICK),--quick,)

# The documentation site into site/ (open site/index.html); --strict fails on a broken link or reference.
.PHONY: docs docs-serve
docs: setup
	$(PY) -m mkdocs build --strict

docs-serve: setup
	$(PY) -m mkdocs serve

# The whole real-markets loop on the shipped capture: calibrate on its first half, train the recipe on the calibrated
# market, score the learned policy and the ladder in simulation and on the held-out recorded flow (tens of minutes).
.PHONY: sim-to-real
sim-to-real: setup
	$(PY) -m train.sim_to_real examples/data/binance_spot_ethusdt --out reports/sim_to_real

# The current figures, regenerated into benchmarks/results/ and each stamped with its command and commit
# (benchmarks/record.py); the docs include those files. Long: the training-quality tables train every shipped config
# on 3 seeds and the robustness suite 8 worlds on 3 (several hours on 2 cores; run it alone for honest timings).
# QUICK=1 records the figures that train nothing (minutes) and the robustness suite's --quick.
.PHONY: results
RECORD := $(PY) benchmarks/record.py
results: setup
	rm -rf sweeps/results
	$(RECORD) env_speed benchmarks/env_speed.py
	$(RECORD) policy_speed benchmarks/policy_speed.py
	$(RECORD) optimal_accuracy benchmarks/optimal_accuracy.py
	$(RECORD) eval_speed benchmarks/eval_speed.py
	$(RECORD) hedged benchmarks/hedged.py
	$(RECORD) dealer benchmarks/dealer.py
	$(RECORD) market_equivalence benchmarks/market_equivalence.py
	$(RECORD) core_vs_revision benchmarks/core_vs_revision.py --rounds 5
	$(RECORD) source_lines benchmarks/source_lines.py
	$(RECORD) replay_speed benchmarks/replay_speed.py
	$(RECORD) flow benchmarks/flow.py
	$(RECORD) begv2021 benchmarks/begv2021.py
ifndef QUICK
	$(RECORD) train_quality benchmarks/train_quality.py --configs default toxic regimes demo hedged --dir sweeps/results/train_quality
	$(RECORD) train_quality_dealer benchmarks/train_quality.py --configs two_assets dealer two_assets_hedged --dir sweeps/results/train_quality_dealer
	$(RECORD) train_quality_regimes benchmarks/train_quality.py --configs two_assets_regimes --dir sweeps/results/train_quality_regimes
	$(RECORD) train_quality_flow benchmarks/train_quality.py --configs informed_flow --dir sweeps/results/train_quality_flow
	$(RECORD) train_quality_flow_belief benchmarks/train_quality.py --configs informed_flow_belief --dir sweeps/results/train_quality_flow_belief
	$(RECORD) sim_to_real benchmarks/sim_to_real.py --dir sweeps/results/sim_to_real
endif
	$(PY) benchmarks/recipe_robustness.py --dir sweeps/results/recipe_robustness $(if $(QUICK),--quick,)
	$(PY) benchmarks/results_table.py --write

# The README's results table, written between its markers from benchmarks/results/train_quality*.md
# (benchmarks/results_table.py); tests/docs/test_results_table.py fails when the README's table differs.
.PHONY: results-table
results-table: setup
	$(PY) benchmarks/results_table.py --write

clean:
	rm -rf $(VENV) runs sweeps build *.egg-info
	rm -rf site
