"""The dealer's scenarios end to end, and the report beyond two assets (no optimum: gaps to the closed form)."""

import json

import numpy as np
import pytest

from baselines import make_policy
from envs.market import Asset
from envs.presets import mean_variance_market
from eval.cli import main
from eval.dealer import DealerPlan, evaluate_dealer, report_text


def test_two_assets_scenario_writes_the_ladder_with_scores(tmp_path, capsys):
    out = tmp_path / "two"
    assert main(["--scenario", "two_assets", "--episodes", "300", "--out", str(out)]) == 0
    document = json.loads((out / "metrics.json").read_text())
    policies = document["policies"]
    assert list(policies) == ["symmetric", "linear_skew", "avellaneda_stoikov", "per_asset", "closed_form", "optimal"]
    assert sum(policies["closed_form"]["spread_captured_per_asset"]) == pytest.approx(
        policies["closed_form"]["spread_captured"], rel=1e-12
    )
    assert policies["optimal"]["optimality_score"] == 1.0
    assert policies["symmetric"]["optimality_score"] == 0.0
    assert 0.9 < policies["closed_form"]["optimality_score"] < 1.0
    assert len(policies["optimal"]["mean_abs_inventory"]) == 2
    assert (out / "quotes.png").stat().st_size > 0
    assert "| closed_form |" in (out / "report.md").read_text()


def test_dealer_scenario_refuses_world_and_policy_flags(capsys):
    assert main(["--scenario", "dealer", "--world", "default"]) == 2
    assert "--scenario takes no --world" in capsys.readouterr().err


def test_three_assets_are_scored_against_the_closed_form():
    dealer = mean_variance_market(
        0.5, assets=(Asset(max_inventory=5),) * 3, correlation=np.full((3, 3), 0.3) + 0.7 * np.eye(3)
    )
    ladder = ("symmetric", "linear_skew", "avellaneda_stoikov", "per_asset", "closed_form")
    plan = DealerPlan("three", dealer, {name: make_policy(name, dealer) for name in ladder}, note="no optimum")
    document = evaluate_dealer(plan, 50, 0)
    gap = document["policies"]["closed_form"]["vs_closed_form"]
    assert gap["mean"] == 0.0
    assert "optimality_score" not in document["policies"]["symmetric"]
    text = report_text(document)
    assert "vs closed_form" in text and "no optimum" in text
    symmetric = document["policies"]["symmetric"]
    assert symmetric["vs_closed_form"]["mean"] < 0  # policy − reference: symmetric quoting earns less
    for name in ("pnl_mean", "pnl_std", "pnl_ci95", "sharpe", "certainty_equivalent"):
        assert name in symmetric, name


def test_the_dealer_preset_leaves_out_what_cannot_be_built_and_says_why(tmp_path, capsys):
    out = tmp_path / "dealer"
    assert main(["--scenario", "dealer", "--episodes", "50", "--out", str(out)]) == 0
    document = json.loads((out / "metrics.json").read_text())
    assert "avellaneda_stoikov" not in document["policies"] and "linear_skew" in document["policies"]
    assert "avellaneda_stoikov cannot be built for this world: avellaneda_stoikov needs exponential" in document["note"]
    assert "avellaneda_stoikov cannot be built" in capsys.readouterr().err
