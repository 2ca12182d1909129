import numpy as np
import pytest

from envs import make_world
from envs.rollout import Rollout
from eval.metrics import bootstrap_indices, certainty_equivalent, optimality_score, paired_difference, rollout_metrics
from eval.specs import parse_spec


def hand_built(world):
    """Two episodes of one asset whose every metric is known by hand (per-asset arrays: one column)."""
    n = world.n_steps

    def column(*values):
        return np.array(values)[:, None]

    return Rollout(
        reward=np.array([10.0, 20.0]),
        pnl=np.array([12.0, 24.0]),
        final_inventory=column(2.0, -4.0),
        mean_abs_inventory=column(1.0, 3.0),
        max_abs_inventory=column(5.0, 10.0),
        steps_at_limit=column(0.0, n / 2),
        steps_two_sided=column(n, n / 2),
        spread_sum=column(1.5 * n, 1.5 * n / 2),
        bid_fills=column(30.0, 50.0),
        ask_fills=column(28.0, 54.0),
        spread_by_asset=column(40.0, 60.0),
        mean_net_risk=np.array([1.0, 3.0]),
        mean_abs_hedge=np.zeros((2, 0)),
        hedge_volume=np.zeros((2, 0)),
        hedge_cross=np.zeros(2),
        inventory_square=np.zeros(2),
        flows={
            "spread_captured": np.array([40.0, 60.0]),
            "inventory_pnl": np.array([-28.0, -36.0]),
            "fees": np.array([1.0, 2.0]),
            "penalty": np.array([0.5, 0.5]),
        },
    )


def test_metrics_on_hand_built_episodes():
    world = make_world("default")
    m = rollout_metrics(hand_built(world), world, risk_aversion=0.1)
    assert m["reward_mean"] == 15.0 and m["reward_std"] == pytest.approx(np.sqrt(50.0))
    assert m["pnl_mean"] == 18.0 and m["pnl_std"] == pytest.approx(np.sqrt(72.0))
    assert m["sharpe"] == pytest.approx(18.0 / np.sqrt(72.0))
    assert m["final_inventory_mean"] == -1.0 and m["final_inventory_std"] == pytest.approx(np.sqrt(18.0))
    assert m["mean_abs_inventory"] == 2.0 and m["pnl_to_map"] == 9.0
    assert m["max_abs_inventory"] == 10.0 and m["max_abs_inventory_mean"] == 7.5
    assert m["time_at_limit"] == 0.25 and m["two_sided_fraction"] == 0.75
    assert m["spread_mean"] == pytest.approx(1.5)
    assert (m["fills_bid"], m["fills_ask"]) == (40.0, 41.0)
    assert (m["spread_captured"], m["inventory_pnl"]) == (50.0, -32.0)
    expected_ce = -np.log(0.5 * (np.exp(-1.2) + np.exp(-2.4))) / 0.1
    assert m["certainty_equivalent"] == pytest.approx(expected_ce)


def test_certainty_equivalent_limits():
    assert certainty_equivalent(np.full(5, 3.0), 0.5) == pytest.approx(3.0)
    wealth = np.array([-1e4, 1e4])  # no overflow, dominated by the worst outcome
    assert certainty_equivalent(wealth, 1.0) == pytest.approx(-1e4 + np.log(2), rel=1e-9)


def test_paired_difference_and_score():
    indices = bootstrap_indices(4, seed=0)
    a, b = np.array([3.0, 4.0, 5.0, 6.0]), np.array([1.0, 2.0, 3.0, 4.0])
    paired = paired_difference(a, b, indices)
    assert paired["mean"] == 2.0 and paired["ci95"] == [2.0, 2.0]  # a constant difference has no spread
    symmetric, optimal = np.array([0.0, 0.0, 0.0, 0.0]), np.array([10.0, 10.0, 10.0, 10.0])
    score = optimality_score(np.array([9.0, 9.5, 9.5, 10.0]), symmetric, optimal, indices)
    assert score["score"] == pytest.approx(0.95)
    assert score["ci95"][0] <= 0.95 <= score["ci95"][1]
    undefined = optimality_score(np.array([9.0, 9.5, 9.5, 10.0]), symmetric, symmetric + 1e-12, indices)
    assert np.isnan(undefined["score"])  # symmetric is optimal: no ratio to report


def test_parse_spec():
    spec = parse_spec("avellaneda_stoikov:risk_aversion=0.1")
    assert (spec.name, spec.params) == ("avellaneda_stoikov", {"risk_aversion": 0.1})
    spec = parse_spec("linear_skew:skew=0.01,limit=30")
    assert spec.params == {"skew": 0.01, "limit": 30} and isinstance(spec.params["limit"], int)
    spec = parse_spec("run:runs/default/x")
    assert (spec.name, spec.path) == ("run", "runs/default/x")
    with pytest.raises(ValueError, match="key=value"):
        parse_spec("symmetric:0.5")
    with pytest.raises(ValueError, match="run needs a path"):
        parse_spec("run:")
