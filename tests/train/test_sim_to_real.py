"""The whole loop in one command: calibrate on the capture's first part, train on the calibrated market, score the
learned policy beside the ladder in simulation and on the held-out recorded flow."""

import json
from pathlib import Path

from train.sim_to_real import main

SHIPPED = Path(__file__).resolve().parents[2] / "examples" / "data" / "binance_spot_ethusdt"


def test_the_loop_runs_from_data_to_the_gap_report(tmp_path):
    out = tmp_path / "loop"
    tiny = ["env.num_envs=4", "evaluation.frequency=1000", "evaluation.episodes=8", "checkpoint_frequency=1000"]
    command = [str(SHIPPED), "--out", str(out), "--timesteps", "1000", "--episodes", "20", "--policy", "symmetric"]
    assert main([*command, *(item for key in tiny for item in ("--set", key))]) == 0
    assert (out / "market.yaml").is_file() and (out / "run" / "final").is_dir()
    run_world = json.loads((out / "run" / "world.json").read_text())
    assert run_world["preset"] == "market"  # trained on the calibrated market file
    policies = json.loads((out / "gap" / "metrics.json").read_text())["policies"]
    assert list(policies) == [f"run:{out / 'run'}", "symmetric"]
    assert "Sim-to-real gap" in (out / "gap" / "report.md").read_text()
    assert main([str(SHIPPED), "--out", str(tmp_path / "bad"), "--split", "0"]) == 2
