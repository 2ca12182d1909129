import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from eval.cli import main

METRIC_KEYS = {
    "reward_mean",
    "reward_std",
    "pnl_mean",
    "pnl_std",
    "sharpe",
    "certainty_equivalent",
    "final_inventory_mean",
    "final_inventory_std",
    "mean_abs_inventory",
    "max_abs_inventory",
    "max_abs_inventory_mean",
    "pnl_to_map",
    "time_at_limit",
    "two_sided_fraction",
    "spread_mean",
    "fills_bid",
    "fills_ask",
    "spread_captured",
    "inventory_pnl",
    "fees",
    "penalty",
    "optimality_score",
}
ROOT = Path(__file__).resolve().parents[2]


def test_cli_end_to_end_in_a_subprocess(tmp_path):
    out = tmp_path / "out"
    policies = ["avellaneda_stoikov:risk_aversion=0.1", "symmetric:half_spread=0.745", "optimal"]
    command = [sys.executable, "-m", "eval", "--world", "default", "--episodes", "64", "--seed", "1", "--out", str(out)]
    for spec in policies:
        command += ["--policy", spec]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    assert done.returncode == 0, done.stderr
    assert f"tensorboard --logdir {out / 'tb'}" in done.stdout
    document = json.loads((out / "metrics.json").read_text())
    assert document["schema"] == "mm-inventory/metrics/v1"
    assert (document["episodes"], document["seed"]) == (64, 1)
    assert list(document["policies"]) == policies  # keyed by spec as given, in command-line order
    for spec, metrics in document["policies"].items():
        assert METRIC_KEYS <= set(metrics), METRIC_KEYS - set(metrics)
        assert metrics["spec"]["name"] == spec.split(":")[0]
    assert document["policies"]["optimal"]["optimality_score"] == pytest.approx(1.0)
    assert "vs_avellaneda_stoikov" in document["policies"]["optimal"]
    assert document["world"]["fill_rule"] == "poisson"
    for name in (
        "report.md",
        "metrics.csv",
        "inventory_paths.png",
        "pnl_histogram.png",
        "final_inventory_histogram.png",
        "quotes.png",
    ):
        assert (out / name).is_file(), name
    report = (out / "report.md").read_text()
    assert "**" in report and "`optimal`" in report
    # TensorBoard: one sibling run per policy with the same tags, read back with TensorBoard's reader.
    runs = sorted(p.name for p in (out / "tb").iterdir())
    assert {"avellaneda_stoikov_risk_aversion=0.1", "symmetric_half_spread=0.745", "optimal"} <= set(runs)
    for run in ("optimal", "symmetric_half_spread=0.745"):
        accumulator = EventAccumulator(str(out / "tb" / run)).Reload()
        scalars = accumulator.Tags()["scalars"]
        assert "eval/reward_mean" in scalars and "eval/optimality_score" in scalars
        value = accumulator.Scalars("eval/reward_mean")[0].value
        assert value == pytest.approx(
            document["policies"][run.replace("_half", ":half") if run != "optimal" else "optimal"]["reward_mean"],
            rel=1e-5,
        )
    plots = EventAccumulator(str(out / "tb" / "plots")).Reload()
    assert "plots/quotes" in plots.Tags()["images"]
    table = EventAccumulator(str(out / "tb" / "report")).Reload()
    assert any(tag.startswith("table/") for tag in table.Tags()["tensors"])
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_several_worlds_make_a_robustness_matrix(tmp_path, capsys):
    out = tmp_path / "matrix"
    code = main(
        [
            "--world",
            "default",
            "--world",
            "toxic",
            "--policy",
            "symmetric",
            "--policy",
            "glft",
            "--episodes",
            "16",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    document = json.loads((out / "metrics.json").read_text())
    assert "policies" not in document and list(document["worlds"]) == ["default", "toxic"]
    assert list(document["worlds"]["toxic"]["policies"]) == ["symmetric", "glft"]
    assert document["worlds"]["toxic"]["world"]["adverse_jump"] > 0


def test_world_where_symmetric_is_optimal_reports_no_score(tmp_path):
    out = tmp_path / "riskneutral"
    assert (
        main(
            [
                "--world",
                "as2008",
                "--policy",
                "avellaneda_stoikov",
                "--policy",
                "optimal",
                "--episodes",
                "16",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    policies = json.loads((out / "metrics.json").read_text())["policies"]
    assert policies["optimal"]["optimality_score"] is None  # J_optimal = J_symmetric: the ratio is undefined
    assert "`optimal`" in (out / "report.md").read_text()


def test_world_overrides_apply(tmp_path):
    out = tmp_path / "o"
    assert (
        main(["--world", "as2008", "--set", "sigma=1.0", "--policy", "symmetric", "--episodes", "8", "--out", str(out)])
        == 0
    )
    assert json.loads((out / "metrics.json").read_text())["world"]["sigma"] == 1.0


def test_worked_example_scenario(tmp_path):
    out = tmp_path / "we"
    assert main(["--scenario", "worked_example", "--episodes", "200", "--out", str(out)]) == 0
    policies = json.loads((out / "metrics.json").read_text())["policies"]
    symmetric, skew, skew_limited, limit_only = (policies[k] for k in policies)
    assert symmetric["max_abs_inventory_mean"] > 30  # the symmetric book drifts well past 30 lots
    assert skew["max_abs_inventory_mean"] < 0.5 * symmetric["max_abs_inventory_mean"]  # skew mean-reverts
    assert skew_limited["max_abs_inventory"] <= 30
    assert limit_only["max_abs_inventory"] == 30  # the hard limit caps the drift exactly at 30


def test_as2008_scenario(tmp_path):
    out = tmp_path / "as"
    assert main(["--scenario", "as2008", "--episodes", "200", "--out", str(out)]) == 0
    worlds = json.loads((out / "metrics.json").read_text())["worlds"]
    assert list(worlds) == ["as2008 gamma=0.1", "as2008 gamma=0.01", "as2008 gamma=1.0"]
    for entry in worlds.values():
        inventory, symmetric = entry["policies"].values()
        assert inventory["spread_mean"] == pytest.approx(symmetric["spread_mean"], rel=1e-4)  # same average spread
        assert inventory["final_inventory_std"] < symmetric["final_inventory_std"]
        assert inventory["pnl_std"] < symmetric["pnl_std"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--world", "nyse"], "unknown preset 'nyse'"),
        (["--policy", "greedy"], "unknown policy 'greedy'"),
        (["--policy", "avellaneda_stoikov:gamma=1"], "unknown parameter.*'gamma'"),
        (["--policy", "linear_skew:limit=abc"], "'limit'.*int"),
        (["--set", "sigma=-1"], "sigma"),
        (["--set", "volatility=2"], "volatility"),
        (["--episodes", "0"], "--episodes"),
        (["--policy", "run:/nonexistent/model.zip"], "model not found"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "out"
    assert main([*args, "--out", str(out)]) == 2
    import re

    assert re.search(message, capsys.readouterr().err)
    assert not out.exists() or not any(out.iterdir())


def test_corrupted_model_file_is_a_clear_error(tmp_path, capsys):
    model = tmp_path / "model.zip"
    model.write_bytes(b"not a zip at all")
    assert main(["--policy", f"run:{model}", "--episodes", "4", "--out", str(tmp_path / "o")]) == 2
    assert "cannot load model" in capsys.readouterr().err


def test_unwritable_output_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["--policy", "symmetric", "--episodes", "4", "--out", str(blocker / "sub")]) == 2
    assert "cannot be written" in capsys.readouterr().err


def test_argparse_errors_exit_2():
    done = subprocess.run(
        [sys.executable, "-m", "eval", "--episodes", "many"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_list(capsys):
    assert main(["--list"]) == 0
    text = capsys.readouterr().out
    assert "as2008" in text and "avellaneda_stoikov: risk_aversion=0.1" in text
    assert "begv2021" in text and "informed_flow" in text  # the markets of several assets too


def test_hedging_scenario_shows_the_trade_off(tmp_path):
    """Cheap hedging beats skewing alone, dear hedging loses to it; price risk becomes basis risk; the
    reward decomposes exactly into its parts, the hedge leg's included; the hedge plots are drawn."""
    out = tmp_path / "hedging"
    assert main(["--scenario", "hedging", "--episodes", "300", "--out", str(out)]) == 0
    worlds = json.loads((out / "metrics.json").read_text())["worlds"]
    assert list(worlds) == ["hedged cheap", "hedged preset", "hedged dear", "externalize"]
    signs = {"spread_captured": 1, "inventory_pnl": 1, "hedge_pnl": 1, "fees": -1, "penalty": -1, "hedge_cost": -1}
    for entry in worlds.values():
        assert list(entry["policies"]) == ["no_hedge", "full_hedge", "band_hedge", "closed_form", "optimal"]
        for metrics in entry["policies"].values():
            parts = sum(sign * metrics[name] for name, sign in signs.items())
            assert parts == pytest.approx(metrics["reward_mean"], abs=1e-9)
            assert {"hedge_volume", "mean_abs_hedge", "hedge_ratio", "net_risk_mean"} <= set(metrics)
        assert entry["policies"]["optimal"]["optimality_score"] == pytest.approx(1.0)
    cheap, dear = worlds["hedged cheap"]["policies"], worlds["hedged dear"]["policies"]
    assert cheap["full_hedge"]["reward_mean"] > cheap["no_hedge"]["reward_mean"] + 1.0
    assert dear["no_hedge"]["reward_mean"] > dear["full_hedge"]["reward_mean"] + 10.0
    full = cheap["full_hedge"]
    assert full["net_risk_mean"] < 0.7 * full["mean_abs_inventory"]
    assert full["hedge_ratio"] == pytest.approx(-0.9, abs=0.05)
    assert cheap["no_hedge"]["net_risk_mean"] == pytest.approx(cheap["no_hedge"]["mean_abs_inventory"])
    report = (out / "report.md").read_text()
    assert "− hedge_cost" in report and "hedged_cheap-hedge_position.png" in report
    assert (out / "externalize-hedged_quotes.png").stat().st_size > 10_000
