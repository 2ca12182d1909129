"""The two commands share their names, their --set grammar and their wording; reports carry every cash flow."""

import json
import warnings

import numpy as np
import pytest

from baselines import make_policy
from envs import make_world
from envs.batch import CASH_FLOWS
from eval.cli import main
from eval.evaluate import evaluate_policies
from eval.specs import PolicySpec, parse_set, parse_spec, world_overrides
from train.config import load_config


def test_linear_skew_calibrated_is_a_policy_eval_accepts(tmp_path):
    out = tmp_path / "out"
    assert (
        main(["--policy", "linear_skew_calibrated", "--policy", "symmetric", "--episodes", "32", "--out", str(out)])
        == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())["policies"]["linear_skew_calibrated"]
    tuned = make_policy("linear_skew_calibrated", make_world("default"))
    assert metrics["spec"]["name"] == "linear_skew_calibrated" and tuned.params["skew"] > 0


@pytest.mark.parametrize("spelling", [["sigma=1.5"], ["world.overrides.sigma=1.5"], ["sigma=1.5,fee=0"]])
def test_set_means_the_same_in_both_commands(spelling, tmp_path):
    assert world_overrides(parse_set(spelling))["sigma"] == 1.5
    config = load_config(None, spelling)
    assert config.world.overrides["sigma"] == 1.5
    out = tmp_path / "out"
    assert main(["--set", *spelling, "--policy", "symmetric", "--episodes", "8", "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["world"]["sigma"] == 1.5


def test_eval_refuses_config_keys_with_the_accepted_ones(capsys):
    assert main(["--set", "total_timesteps=5"]) == 2
    assert "total_timesteps: not a world field" in capsys.readouterr().err


def test_risk_aversion_is_one_setting_in_both_commands(tmp_path):
    config = load_config(None, ["evaluation.risk_aversion=0.5"])
    assert config.evaluation.risk_aversion == 0.5
    assert load_config(None).evaluation.risk_aversion == 0.1
    out = tmp_path / "out"
    assert main(["--risk-aversion", "0.5", "--policy", "symmetric", "--episodes", "8", "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["risk_aversion"] == 0.5


def test_the_reward_decomposes_exactly_into_what_the_report_shows(tmp_path):
    out = tmp_path / "out"
    command = ["--world", "toxic", "--set", "fee=0.05", "--policy", "optimal", "--policy", "symmetric"]
    assert main([*command, "--episodes", "64", "--out", str(out)]) == 0
    document = json.loads((out / "metrics.json").read_text())
    for metrics in document["policies"].values():
        parts = sum(sign * metrics[name] for name, sign in CASH_FLOWS.items())
        assert metrics["fees"] > 0 and metrics["penalty"] > 0
        assert parts == pytest.approx(metrics["reward_mean"], rel=1e-9, abs=1e-9)
    report = (out / "report.md").read_text()
    assert "part by part" in report and "− penalty" in report and "− fees" in report
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags = EventAccumulator(str(out / "tb" / "optimal")).Reload().Tags()["scalars"]
    assert {"eval/fees", "eval/penalty", "eval/spread_captured", "eval/inventory_pnl"} <= set(tags)


def test_an_unbuildable_optimum_is_said_the_same_way_in_eval_and_train(tmp_path, capsys):
    from eval.evaluate import build_baselines

    world = make_world("as2008", dt=1e-5, max_inventory=1000)
    with pytest.warns(UserWarning, match="optimal cannot be built for this world; no optimality score: .*states"):
        built, notes = build_baselines(world, ("symmetric", "optimal"))
    assert list(built) == ["symmetric"] and "states" in notes[0]
    symmetric = make_policy("symmetric", world)
    with pytest.warns(UserWarning, match="optimal cannot be built for this world; no optimality score"):
        results = evaluate_policies(
            world.replace(horizon=0.001, max_inventory=60_000),
            {"s": (PolicySpec("s", "symmetric", {}), symmetric)},
            4,
            0,
        )
    assert "optimality_score" not in results["s"].metrics
    out = tmp_path / "out"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(
            [
                "--world",
                "as2008",
                "--set",
                "dt=0.00001,max_inventory=60000,horizon=0.001",
                "--policy",
                "symmetric",
                "--episodes",
                "4",
                "--out",
                str(out),
            ]
        )
    assert code == 0
    assert any("optimal cannot be built for this world" in str(w.message) for w in caught)
    assert "Note: optimal cannot be built for this world" in (out / "report.md").read_text()


def test_quotes_figure_spans_the_visited_inventory_not_q():
    from envs.rollout import rollout
    from eval import plots

    world = make_world("default", max_inventory=100, fill_decay=1.0, running_penalty=0.1, terminal_penalty=0.1)
    policy = make_policy("optimal", world)
    result = rollout(world, lambda o: policy.predict(o)[0], 64, 0)
    limit = plots.visited_inventory(world, [result])
    assert 2 <= limit < 25 and limit >= result.max_abs_inventory.max()
    figure = plots.quotes_figure(world, {"optimal": policy}, inventory_limit=limit)
    low, high = figure.axes[0].get_xlim()
    assert -1.1 * limit < low < -limit and limit < high < 1.1 * limit
    plots.close(figure)
    near = make_world("default")
    figure = plots.quotes_figure(near, {"optimal": make_policy("optimal", near)}, inventory_limit=9)
    marked = [line for line in figure.axes[0].lines if len(line.get_xdata()) == 2]
    assert any(np.allclose(line.get_xdata(), [10, 10]) for line in marked)  # Q is marked
    plots.close(figure)


def test_every_market_reports_the_same_outcome_metrics_with_one_sign_and_one_net_risk_unit():
    """A one-asset world and a multi-asset market report reward, P&L, its spread, Sharpe and the certainty
    equivalent under the same names; paired comparisons are policy − reference in both (``vs_<reference>``); and
    the net risk is √(xᵀRx) in lots of the first asset in both, so the hedged world and its market, quoting alike
    and never trading the hedge, report the same net risk within error."""
    from baselines.policy import MarketPolicy
    from eval.metrics import outcome_metrics

    class Fixed(MarketPolicy):
        name = "fixed"

        def __init__(self, market, half_spread):
            super().__init__(market)
            self.half_spread = half_spread

        def quotes(self, inventory, time_to_close, volatility):
            return np.full(inventory.shape, self.half_spread), np.full(inventory.shape, self.half_spread)

    shared = set(outcome_metrics(np.zeros(2), np.ones(2), 0.1))
    world = make_world("hedged")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        policies = {
            text: (parse_spec(text), make_policy(parse_spec(text).name, world, **parse_spec(text).params))
            for text in ("symmetric:half_spread=0.8", "avellaneda_stoikov")
        }
        single = evaluate_policies(world, policies, 2000, 3)
    symmetric = single["symmetric:half_spread=0.8"].metrics
    assert shared <= set(symmetric)
    assert symmetric["vs_avellaneda_stoikov"]["mean"] == pytest.approx(
        symmetric["reward_mean"] - single["avellaneda_stoikov"].metrics["reward_mean"], rel=1e-9
    )
    market = world.market
    fixed = {name: (PolicySpec(name, name, {}), Fixed(market, h)) for name, h in (("fixed", 0.8), ("wide", 1.2))}
    multi = {name: result.metrics for name, result in evaluate_policies(market, fixed, 2000, 3, warn=False).items()}
    assert shared <= set(multi["fixed"])
    assert set(symmetric) - {"vs_avellaneda_stoikov", "spec"} <= set(multi["fixed"]) | {
        "optimality_score",
        "optimality_score_ci95",
    }
    risks = symmetric["net_risk_mean"], multi["fixed"]["net_risk_mean"]
    assert risks[0] == pytest.approx(risks[1], rel=0.05), risks
