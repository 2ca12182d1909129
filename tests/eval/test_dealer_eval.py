"""The multi-asset scenarios end to end through the one evaluation, and the report beyond two assets (no optimum:
paired differences to the closed form)."""

import json

import numpy as np
import pytest

from envs.market import Asset
from envs.presets import mean_variance_market
from eval.cli import main
from eval.evaluate import build_baselines, ladder
from eval.run import Job, evaluate_and_publish


def test_two_assets_scenario_writes_the_ladder_with_scores(tmp_path, capsys):
    out = tmp_path / "two"
    assert main(["--scenario", "two_assets", "--episodes", "300", "--out", str(out)]) == 0
    document = json.loads((out / "metrics.json").read_text())
    policies = document["policies"]
    assert list(policies) == ["symmetric", "linear_skew", "avellaneda_stoikov", "per_asset", "closed_form", "optimal"]
    closed_form = policies["closed_form"]
    assert closed_form["spread_captured_0"] + closed_form["spread_captured_1"] == pytest.approx(
        closed_form["spread_captured"], rel=1e-12
    )
    assert policies["optimal"]["optimality_score"] == 1.0
    assert policies["symmetric"]["optimality_score"] == 0.0
    assert 0.9 < policies["closed_form"]["optimality_score"] < 1.0
    assert {"mean_abs_inventory_0", "mean_abs_inventory_1"} <= set(policies["optimal"])
    assert "mean_abs_inventory" not in policies["optimal"]
    assert document["optimal_expected_reward"] == pytest.approx(policies["optimal"]["reward_mean"], rel=0.05)
    assert (out / "quotes.png").stat().st_size > 0
    report = (out / "report.md").read_text()
    assert "| `closed_form` |" in report and "mean_abs_inventory_1" in report and "exact expected reward" in report


def test_dealer_scenario_refuses_world_and_policy_flags(capsys):
    assert main(["--scenario", "dealer", "--world", "default"]) == 2
    assert "--scenario takes no --world" in capsys.readouterr().err


def test_three_assets_are_scored_against_the_closed_form(tmp_path):
    dealer = mean_variance_market(
        0.5, assets=(Asset(max_inventory=5),) * 3, correlation=np.full((3, 3), 0.3) + 0.7 * np.eye(3)
    )
    policies, notes = build_baselines(dealer, ladder(dealer), warn=False)
    assert "optimal" not in policies and notes[0].startswith("optimal cannot be built for this world")
    with pytest.warns(UserWarning, match="optimal cannot be built"):
        document = evaluate_and_publish(
            tmp_path / "three", [Job("three", dealer, policies, tuple(notes))], 50, 0, 0.1, "t"
        )
    gap = document["policies"]["symmetric"]["vs_closed_form"]
    assert "vs_closed_form" not in document["policies"]["closed_form"]
    assert "optimality_score" not in document["policies"]["symmetric"]
    text = (tmp_path / "three" / "report.md").read_text()
    assert (
        "`symmetric` − `closed_form`" in text and "optimal cannot be built" in text and "mean_abs_inventory_2" in text
    )
    symmetric = document["policies"]["symmetric"]
    assert gap["mean"] < 0  # policy − reference: symmetric quoting earns less
    for name in ("pnl_mean", "pnl_std", "pnl_ci95", "sharpe", "certainty_equivalent"):
        assert name in symmetric, name


def test_the_dealer_preset_leaves_out_what_cannot_be_built_and_says_why(tmp_path, capsys):
    out = tmp_path / "dealer"
    assert main(["--scenario", "dealer", "--episodes", "50", "--out", str(out)]) == 0
    document = json.loads((out / "metrics.json").read_text())
    assert "avellaneda_stoikov" not in document["policies"] and "linear_skew" in document["policies"]
    assert (
        "avellaneda_stoikov cannot be built for this world: avellaneda_stoikov needs exponential"
        in document["notes"][0]
    )
    assert "avellaneda_stoikov cannot be built" in capsys.readouterr().err


def test_begv2021_scenario_evaluates_the_papers_two_strategies_per_size(tmp_path, monkeypatch):
    """The reproduction's scenario: the optimal and closed-form quotes per request size, with the P&L metrics (its
    step coarsened to 20 steps here: the grid and the CLI, not the figures)."""
    from envs import presets

    monkeypatch.setitem(presets.MARKET_PRESETS, "begv2021", {**presets.MARKET_PRESETS["begv2021"], "dt": 0.35})
    out = tmp_path / "begv"
    assert main(["--scenario", "begv2021", "--episodes", "400", "--out", str(out)]) == 0
    document = json.loads((out / "metrics.json").read_text())
    policies = document["policies"]
    assert list(policies) == ["closed_form", "optimal"]
    for metrics in policies.values():
        assert {"pnl_mean", "pnl_std", "sharpe", "reward_mean"} <= set(metrics)
        assert metrics["sharpe"] == pytest.approx(metrics["pnl_mean"] / metrics["pnl_std"], rel=1e-6)
    exact, optimal = document["optimal_expected_reward"], policies["optimal"]
    assert abs(optimal["reward_mean"] - exact) < 4.0 * optimal["reward_std"] / np.sqrt(400)


def test_the_reproductions_paths_are_the_default_and_overridable():
    from eval.cli import REPRODUCTIONS, parser, prepare

    assert REPRODUCTIONS["begv2021"] == (("closed_form", "optimal"), 4000)
    args = parser().parse_args(["--scenario", "begv2021", "--episodes", "0"])
    with pytest.raises(ValueError, match="--episodes must be ≥ 1"):
        prepare(args)
