"""A market with informed flow through the one evaluation path: its ladder (the filter's closed form, the belief
optimum, the full-information bound), the value of information in the report, the flow figures, and the CLI."""

import json
import subprocess
import sys

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from baselines import make_policy
from baselines.closed_form import ClosedForm
from envs.presets import make_market
from eval.evaluate import FLOW_LADDER, build_baselines, ladder, rolled_out
from eval.run import Job, evaluate_and_publish
from eval.specs import parse_set, world_overrides


@pytest.fixture(scope="module")
def market():
    return make_market("informed_flow", dt=0.02)


def test_the_flow_ladder_is_scored_and_the_value_of_information_reported(market, tmp_path):
    assert ladder(market) == FLOW_LADDER
    policies, notes = build_baselines(market, FLOW_LADDER)
    assert notes == []
    document = evaluate_and_publish(tmp_path / "out", [Job("flow", market, policies, ())], 400, 0, 0.1, "t")
    scores = {name: entry["optimality_score"] for name, entry in document["policies"].items()}
    assert scores["symmetric"] == 0 and scores["optimal"] == 1
    assert scores["closed_form"] < scores["filtered_closed_form"] < 1 < scores["full_information"]
    full, optimal = document["full_information_expected_reward"], document["optimal_expected_reward"]
    assert document["information_value"] == pytest.approx(full - optimal) and full - optimal > 1.0
    report = (tmp_path / "out" / "report.md").read_text()
    assert f"The value of the information the maker lacks (full information − optimal): {full - optimal:.6g}." in report
    for figure in ("quotes.png", "belief_path.png", "pnl_histogram.png"):
        assert (tmp_path / "out" / figure).stat().st_size > 1000
    plots = EventAccumulator(str(tmp_path / "out" / "tb" / "plots")).Reload()
    assert {"plots/quotes", "plots/belief_path"} <= set(plots.Tags()["images"])


def test_the_filters_closed_form_is_the_closed_form_at_the_expected_direction(market):
    policy = make_policy("filtered_closed_form", market, directions=3)  # directions −1, 0, +1
    inventory = np.arange(-4, 5)[:, None]
    time_to_close = np.full(inventory.shape[0], 0.5)
    volatility = np.full(inventory.shape, 2.0)
    for state, direction in enumerate((-1.0, 0.0, 1.0)):
        belief = np.zeros((inventory.shape[0], 3))
        belief[:, state] = 1.0
        state_of_books = {
            "inventory": inventory,
            "time_to_close": time_to_close,
            "volatility": volatility,
            "flow_belief": belief,
        }
        bid, ask, _ = policy.act(state_of_books)
        expected = ClosedForm(market.without_flow(direction)).quotes(inventory, time_to_close, volatility)
        np.testing.assert_array_equal(bid, expected[0])
        np.testing.assert_array_equal(ask, expected[1])
    with pytest.raises(ValueError, match="filtered_closed_form needs a market with informed flow"):
        make_policy("filtered_closed_form", make_market("two_assets"))


def test_a_policy_of_the_hidden_state_is_not_replayed(market):
    def replay(*args, **kwargs):
        raise AssertionError("not reached")

    with pytest.raises(ValueError, match="full_information quotes from the simulator's flow state"):
        rolled_out(market, make_policy("full_information", market), 10, 0, runner=replay)


def test_the_cli_evaluates_a_flow_preset_by_name(tmp_path):
    out = tmp_path / "cli"
    command = [sys.executable, "-m", "eval", "--world", "informed_flow_weak", "--episodes", "50", "--out", str(out)]
    command += ["--set", "flow.imbalance=0.1,penalty.terminal=0.25"]
    command += ["--policy", "closed_form", "--policy", "filtered_closed_form", "--policy", "optimal"]
    subprocess.run(command, check=True, capture_output=True, text=True)
    document = json.loads((out / "metrics.json").read_text())
    assert set(document["policies"]) == {"closed_form", "filtered_closed_form", "optimal"}
    assert document["world"]["flow"]["imbalance"] == 0.1 and document["world"]["penalty"]["terminal"] == 0.25
    assert document["world"]["flow"]["drift"] == 0.5  # the preset's, kept: a nested field is set alone


def test_set_reaches_a_markets_nested_fields_by_their_path():
    assignments = parse_set(["flow.drift=5,dt=0.01", "world.overrides.penalty.running=2"])
    assert world_overrides(assignments) == {"flow": {"drift": 5}, "dt": 0.01, "penalty": {"running": 2}}
    with pytest.raises(ValueError, match="--set total_timesteps: not a world field; .* or a market's, from"):
        world_overrides(parse_set(["total_timesteps=10"]))
