"""The exact optima of a market with informed flow: over the maker's belief (the ceiling) and with the state observed
(the full-information bound), against the single-asset optimum, their own Monte-Carlo evaluations and each other."""

import numpy as np
import pytest

from baselines import make_policy
from baselines.flow_optimal import FlowOptimal, simplex_grid, simplex_interpolation
from baselines.optimal import Optimal
from envs import Asset, Flow, Market, market_keys, world_of_market
from envs.presets import make_market
from envs.rollout import rule_rollout

EPISODES = 4000
SWITCHING = ((-4.0, 4.0, 0.0), (2.0, -4.0, 2.0), (0.0, 4.0, -4.0))


def evaluated(market: Market, policy) -> tuple[float, float]:
    reward = rule_rollout(market, policy, market_keys(0, EPISODES)).reward
    return float(reward.mean()), float(reward.std(ddof=1) / np.sqrt(reward.size))


@pytest.mark.parametrize(("states", "resolution"), [(2, 5), (3, 7), (4, 3)])
def test_simplex_interpolation_is_exact_on_linear_functions(states, resolution):
    grid = simplex_grid(states, resolution)
    assert len(grid) == len({tuple(point) for point in grid}) and np.allclose(grid.sum(axis=1), 1.0)
    beliefs = np.random.default_rng(0).dirichlet(np.ones(states), size=500)
    vertices, weights = simplex_interpolation(beliefs, resolution)
    assert weights.min() >= 0 and np.allclose(weights.sum(axis=-1), 1.0)
    np.testing.assert_allclose((grid[vertices] * weights[..., None]).sum(axis=-2), beliefs, atol=1e-12)
    linear = grid @ np.arange(1.0, states + 1)
    np.testing.assert_allclose((linear[vertices] * weights).sum(axis=-1), beliefs @ np.arange(1.0, states + 1))
    on_grid, _ = simplex_interpolation(grid, resolution)
    _, grid_weights = simplex_interpolation(grid, resolution)
    assert np.all(grid[on_grid][np.arange(len(grid)), grid_weights.argmax(axis=-1)] == grid)


def test_without_a_signal_both_optima_are_the_single_asset_optimum():
    """Flow states that tilt nothing: the belief and the state are worthless and the tabulations must agree with
    ``baselines.optimal`` (fees, adverse jumps and the terminal penalty included)."""
    market = Market(
        assets=(Asset(max_inventory=6, fee=0.02, adverse_jump=0.05),),
        flow=Flow((-1.0, 0.0, 1.0), SWITCHING),
        penalty={"running": 1.0, "terminal": 0.5},
        fill_rule="arrival",
        dt=0.01,
    )
    single = Optimal(world_of_market(market.without_flow()))
    for policy in (FlowOptimal(market, belief_grid=4), make_policy("full_information", market)):
        assert policy.expected_reward() == pytest.approx(single.expected_reward(), rel=1e-9)


@pytest.fixture(scope="module")
def flow_market():
    return make_market("informed_flow", dt=0.01)


@pytest.fixture(scope="module")
def belief_optimum(flow_market):
    return make_policy("optimal", flow_market)


def test_the_belief_optimum_is_its_own_monte_carlo_value_and_its_grid_is_fine_enough(flow_market, belief_optimum):
    mean, error = evaluated(flow_market, belief_optimum)
    assert abs(belief_optimum.expected_reward() - mean) < 3 * error
    finer = FlowOptimal(flow_market, belief_grid=48)
    assert abs(finer.expected_reward() - belief_optimum.expected_reward()) < error


def test_the_state_is_worth_something_the_belief_recovers_most_of(flow_market, belief_optimum):
    full = make_policy("full_information", flow_market)
    full_mean, full_error = evaluated(flow_market, full)
    assert abs(full.expected_reward() - full_mean) < 3 * full_error
    blind_mean, blind_error = evaluated(flow_market, Optimal(world_of_market(flow_market.without_flow())))
    mean, error = evaluated(flow_market, belief_optimum)
    assert blind_mean + 10 * blind_error < mean < full_mean - 3 * full_error


def test_the_flow_optima_refuse_what_they_do_not_tabulate():
    two = make_market("two_assets").replace(flow=Flow((-1.0, 1.0), ((-1.0, 1.0), (1.0, -1.0))), fill_rule="arrival")
    with pytest.raises(
        ValueError, match="^optimal tabulates a market of one quoted asset; this market.s assets holds 2 assets"
    ):
        make_policy("optimal", two)
    with pytest.raises(ValueError, match="^full_information tabulates a market of informed flow"):
        make_policy("full_information", make_market("default"))
    with pytest.raises(
        ValueError, match=r"optimal takes parameters \(\['belief_grid'\]\) only in a market with informed"
    ):
        make_policy("optimal", make_market("default"), belief_grid=8)
    with pytest.raises(ValueError, match="'belief_grid' of policy 'optimal' must be ≥ 1"):
        make_policy("optimal", make_market("informed_flow"), belief_grid=0)
    optimum = make_policy("optimal", make_market("informed_flow", dt=0.05), belief_grid=4)
    with pytest.raises(ValueError, match="quotes from the maker's filtered belief: observe the 'flow_belief' feature"):
        optimum.act({"inventory": np.zeros((1, 1), dtype=np.int64), "time_to_close": np.ones(1)})
