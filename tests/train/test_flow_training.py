"""Training on informed flow: the shipped config's ladder, a run observing the public evidence, and a run given
the maker's belief (``world.features``) recorded, reloaded and evaluated in the market through its own features."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from envs.interface import Interface
from eval.cli import main as evaluate
from eval.evaluate import FLOW_LADDER
from eval.run_folder import RunFolder, load_world
from train.cli import main
from train.config import load_config, world_of

ROOT = Path(__file__).resolve().parents[2]
BELIEF = ["close_proximity", "prints", "mid_return", "flow_signals", "flow_belief"]
TINY_FLOW = {
    "experiment": "tiny_flow",
    "seed": 1,
    "total_timesteps": 1600,
    "checkpoint_frequency": 800,
    "world": {"preset": "informed_flow", "overrides": {"dt": 0.05}, "features": BELIEF},  # 20 steps per session
    "env": {"num_envs": 8},
    "algorithm": {"policy_kwargs": {"net_arch": [16, 16]}, "hyperparameters": {"n_epochs": 2}},
    "evaluation": {"frequency": 800, "episodes": 32, "seed": 7, "baselines": ["symmetric", "filtered_closed_form"]},
}


def test_the_shipped_flow_configs_get_the_flow_ladder_and_observe_the_evidence_or_the_belief():
    public = load_config(ROOT / "configs" / "informed_flow.yaml")
    assert public.evaluation.baselines == FLOW_LADDER
    assert world_of(public).flow.count == 3  # the market itself: its derived features, the public evidence
    given = world_of(load_config(ROOT / "configs" / "informed_flow_belief.yaml"))
    assert isinstance(given, Interface) and given.features[-1] == "flow_belief"
    assert given.market == world_of(public)


@pytest.mark.parametrize(
    ("world", "message"),
    [
        ({"preset": "default", "features": ["prints"]}, "world.features chooses a market's observed features"),
        ({"preset": "informed_flow", "features": ["belief"]}, "world.features: features must be distinct names"),
        ({"preset": "two_assets", "features": ["flow_belief"]}, "'flow_belief' needs a market with informed flow"),
    ],
)
def test_bad_features_exit_2_naming_the_key(tmp_path, capsys, world, message):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({**TINY_FLOW, "world": world}))
    assert main(["--config", str(path), "--run-dir", str(tmp_path / "never")]) == 2
    assert message in capsys.readouterr().err


def test_a_run_given_the_belief_records_it_and_is_evaluated_through_it(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(TINY_FLOW))
    assert main(["--config", str(path), "--run-dir", str(tmp_path / "run")]) == 0
    recorded = load_world(RunFolder(tmp_path / "run").world)
    assert isinstance(recorded, Interface) and list(recorded.features) == BELIEF
    # Evaluated in the market itself, whose derived features lack the belief: the run observes its own.
    out = tmp_path / "eval"
    code = evaluate(
        ["--world", "informed_flow", "--set", "dt=0.05", "--policy", f"run:{tmp_path / 'run'}", "--episodes", "16"]
        + ["--policy", "filtered_closed_form", "--out", str(out)]
    )
    assert code == 0
    document = json.loads((out / "metrics.json").read_text())
    assert np.isfinite(document["policies"][f"run:{tmp_path / 'run'}"]["reward_mean"])
