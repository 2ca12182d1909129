"""One policy protocol for every rung and every market: each policy, single-asset or multi-asset, classic or learned,
is a ``baselines.Policy`` that acts on decoded states, predicts on observations and deals on positions; the
per-asset rungs quote a single-asset world too, and quote it as its own rungs do."""

import numpy as np
import pytest

from baselines import POLICIES, Policy, make_policy
from baselines.registry import ONE_ASSET
from envs import action_to_quotes, make_world, market_keys, observation_at
from envs.presets import make_market
from envs.rollout import rule_rollout

HEDGE_ONLY = ("full_hedge", "band_hedge")  # need a hedge instrument
ANY_MARKET = sorted(set(POLICIES) - set(ONE_ASSET) - {"optimal", "linear_skew_calibrated"})


@pytest.mark.parametrize("name", ANY_MARKET)
def test_every_per_asset_rung_acts_in_a_single_asset_world_through_every_entry_point(name):
    world = make_world("hedged")
    policy = make_policy(name, world)
    assert isinstance(policy, Policy) and policy.market == world.market
    inventory, steps_left = np.array([[-4], [0], [3]]), np.array([200, 100, 2])
    bid, ask, trade = policy(inventory, np.zeros((3, 1), dtype=np.int64), steps_left * world.dt)
    assert bid.shape == ask.shape == (3, 1)
    assert trade is None or trade.shape == (3, 1)
    # predict on the env's observations asks for the same quotes, to the float32 action's resolution.
    actions, _ = policy.predict(observation_at(world, inventory, steps_left))
    low, high = world.offset_range
    got_bid, got_ask, bid_quoted, ask_quoted = action_to_quotes(world, actions)
    for expected, got, quoted in ((bid, got_bid, bid_quoted), (ask, got_ask, ask_quoted)):
        inside = expected < high
        np.testing.assert_array_equal(quoted, inside)
        np.testing.assert_allclose(got[inside], np.maximum(expected[inside], low), atol=1e-6 * (high - low))


@pytest.mark.parametrize("name", sorted(set(POLICIES) - set(HEDGE_ONLY)))
def test_every_policy_quotes_a_one_asset_market_as_its_single_asset_world(name):
    """A one-asset ``Market`` is the single-asset world it was made from: every policy, one-asset or not, quotes
    the same prices in both; a market of several assets is refused by the one-asset policies, naming the others."""
    world = make_world("regimes", horizon=0.2)
    state = (np.array([[-4], [0], [3]]), None, np.array([0.2, 0.1, 0.01]), np.array([0, 1, 0]))
    built = make_policy(name, world.market)
    np.testing.assert_array_equal(np.stack(built(*state)[:2]), np.stack(make_policy(name, world)(*state)[:2]))
    if name in ONE_ASSET:
        with pytest.raises(ValueError, match=f"policy '{name}' quotes one asset; this market has 2 \\(policies of any"):
            make_policy(name, make_market("two_assets"))


def test_every_single_asset_policy_is_a_policy_and_deals_on_positions():
    world = make_world("hedged", horizon=0.05)
    for name in POLICIES:
        policy = make_policy(name, world)
        assert isinstance(policy, Policy)
        bid, ask, trade = policy(np.array([[2], [-1]]), np.array([[0], [3]]), np.array([0.05, 0.01]))
        assert bid.shape == ask.shape == (2, 1) and (trade is None or trade.shape == (2, 1))


def test_a_single_asset_policy_refuses_a_market_of_several_assets_naming_why():
    with pytest.raises(ValueError, match=r"policy 'glft_exact' quotes one asset; got a market of 2 assets"):
        POLICIES["glft_exact"](make_market("two_assets"))


def test_optimal_is_the_exact_optimum_of_every_market_it_can_tabulate():
    """One asset (with regimes and a hedge): the single-asset tabulation, the market read as a World; two assets:
    the joint one; beyond: refused, naming the states its grid would need."""
    from baselines.joint_optimal import JointOptimal, exact_optimum
    from envs.world import world_of_market

    world = make_world("hedged", horizon=0.1, regime_scales=(0.5, 1.5), regime_switch_rates=((-1.0, 1.0), (1.0, -1.0)))
    keys = market_keys(0, 300)
    ours = rule_rollout(world.market, exact_optimum(world.market), keys)
    theirs = rule_rollout(world.market, make_policy("optimal", world), keys)
    np.testing.assert_array_equal(ours.reward, theirs.reward)
    assert isinstance(exact_optimum(make_market("two_assets")), JointOptimal)
    three = make_market("two_assets").replace(assets=[{}, {}, {}], correlation=np.eye(3).tolist())
    with pytest.raises(ValueError, match=r"this market has 3, whose .* grid would hold 1,852,200 states"):
        exact_optimum(three)
    logistic = make_market("two_assets").replace(assets=[{"fill_curve": "logistic"}], correlation=[[1.0]])
    with pytest.raises(ValueError, match=r"cannot hold this market's assets\[0\].fill_curve; it accepts 'exponential'"):
        world_of_market(logistic)


def test_every_presets_world_is_the_world_of_its_market():
    from envs import list_presets
    from envs.world import world_of_market

    for preset in list_presets():
        world = make_world(preset)
        assert world_of_market(world.market).market == world.market, preset


@pytest.mark.parametrize("name", ["glft_exact", "cartea_jaimungal"])
def test_a_one_asset_rung_quotes_a_market_asset_by_asset(name):
    """Each asset quoted as the rung quotes that asset alone (its flow, limit and share φ·Rᵢᵢ of the penalty),
    whatever the other asset holds; a market the rung cannot model is refused naming the asset."""
    market = make_market("two_assets", penalty={"terminal": 0.3})
    policy = make_policy(name, market)
    tau = np.array([0.5, 0.5, 0.1])
    bid, ask, trade = policy(np.array([[3, 0], [3, -5], [-2, 7]]), None, tau)
    assert trade is None and bid.shape == (3, 2)
    for i in range(2):
        alone = make_policy(name, market.asset_alone(i))
        own = np.array([[3], [3], [-2]]) if i == 0 else np.array([[0], [-5], [7]])
        alone_bid, alone_ask, _ = alone(own, None, tau)
        np.testing.assert_array_equal(bid[:, i], alone_bid[:, 0])
        np.testing.assert_array_equal(ask[:, i], alone_ask[:, 0])
    share = market.risk_matrix[1, 1]
    assert market.asset_alone(1).penalty.terminal == pytest.approx(0.3 * share)
    with pytest.raises(ValueError, match=f"{name} quotes each asset alone; asset 0: .*fill_curve"):
        make_policy(name, make_market("dealer"))
