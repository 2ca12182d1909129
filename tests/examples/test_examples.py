"""Every script under ``examples/`` runs as ``python examples/NAME.py`` with a tiny budget (``MM_EXAMPLE_QUICK=1``)
and prints what it promises; each also opens as a notebook (jupytext's percent format), and the docs list it."""

import os
import re
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
NUMBER = r"-?\d+\.\d+"
# What each example must print: a metric with a number, or where its outputs are.
PROMISES = {
    "01_env_and_baseline.py": [
        rf"avellaneda_stoikov:risk_aversion=0.1 +reward_mean +{NUMBER} +optimality_score {NUMBER}"
    ],
    "02_train_and_compare.py": [
        rf"learned +reward_mean +{NUMBER} +optimality_score {NUMBER}",
        rf"learned − avellaneda_stoikov: [+-]{NUMBER} per episode",
        r"tensorboard --logdir \S+/tb",
    ],
    "03_bring_your_own_world.py": [
        rf"linear_skew_calibrated +optimality_score +{NUMBER}",
        r"a bad field is named: sell_share must be",
        rf"closed_form +reward_mean +{NUMBER} +optimality_score +{NUMBER}",
    ],
    "05_informed_flow.py": [
        rf"filtered_closed_form +reward_mean +{NUMBER} +optimality_score {NUMBER}",
        rf"value of information: {NUMBER} a session",
    ],
    "04_evaluate_a_policy_trained_elsewhere.py": [
        rf"run:\S+model\.zip +reward_mean +{NUMBER}",
        rf"learned +optimality_score +{NUMBER}",
    ],
}


def test_every_example_has_its_promises():
    assert sorted(PROMISES) == [path.name for path in EXAMPLES]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_an_example_runs_with_a_tiny_budget(path, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MM_EXAMPLE_QUICK": "1", "MPLBACKEND": "Agg"}
    run = subprocess.run(
        [sys.executable, str(path)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, f"{path.name} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    for promise in PROMISES[path.name]:
        assert re.search(promise, run.stdout), f"{path.name} did not print /{promise}/:\n{run.stdout}"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_an_example_opens_as_a_notebook(path):
    notebook = jupytext.read(path, fmt="py:percent")
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds[0] == "markdown" and notebook.cells[0].source.startswith("# "), "open with a title in markdown"
    assert kinds.count("code") >= 2 and kinds.count("markdown") >= 2


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_the_docs_list_every_example(path):
    assert f"examples/{path.name}" in (ROOT / "docs" / "examples.md").read_text()
