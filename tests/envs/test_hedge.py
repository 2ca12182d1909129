"""The hedge instrument in the world and the core: validation, accounting, limits, the second mid, and the
reduction to the single-asset world."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from test_core import random_actions, run  # the same session runner as the single-asset tests

from envs import (
    ENV_ID,
    MarketBatch,
    action_space,
    core,
    decode_observation,
    fill_probability,
    make_world,
    market_keys,
    observation_at,
    quotes_to_action,
)
from envs.world import World


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"hedge_correlation": 1.5}, "hedge_correlation must be a finite number in \\[-1, 1\\]"),
        ({"hedge_spread_cost": -0.1}, "hedge_spread_cost must be a finite number ≥ 0"),
        ({"hedge_impact": -1e-4}, "hedge_impact must be a finite number ≥ 0"),
        ({"hedge_ticket_fee": -1.0}, "hedge_ticket_fee must be a finite number ≥ 0"),
        ({"hedge_lot": 3}, "hedge_max_position must be a multiple of hedge_lot=3"),
        ({"hedge_lot": 5, "hedge_max_trade": 7}, "hedge_max_trade must be a multiple of hedge_lot=5"),
        ({"hedge_sigma": 0.0}, "hedge_sigma must be a finite number > 0 or null"),
        ({"hedge_max_position": 0}, "hedge_max_position must be an integer ≥ 1"),
        ({"hedge_max_trade": 1.5}, "hedge_max_trade must be an integer"),
        ({"sigma": 0.0}, "sigma must be > 0 in a world with a hedge instrument"),
    ],
)
def test_bad_hedge_fields_name_the_field(overrides, message):
    with pytest.raises(ValueError, match=message):
        make_world("hedged", **overrides)


def test_hedge_fields_without_a_hedge_instrument_are_refused():
    with pytest.raises(ValueError, match="hedge_correlation is set but the world has no hedge instrument"):
        make_world("default", hedge_correlation=0.5)


@pytest.mark.parametrize("preset", ["hedged", "externalize"])
@pytest.mark.parametrize("mid_process", ["gaussian", "binomial"])
def test_accounting_identity_with_the_hedge_leg(preset, mid_process):
    """Cash plus both positions marked to their mids changes by the rewards plus the penalties; each step's
    reward is exactly its flows with their signs; |q₂| ≤ Q₂ and trades are whole lots, at most U_max."""
    world = make_world(
        preset, fee=0.01, hedge_ticket_fee=0.05, hedge_lot=2, initial_inventory=(-3, 3), mid_process=mid_process
    )
    _, start, rewards, infos, _ = run(world, random_actions(np.random.default_rng(3), 128, legs=3), n=128)
    penalties = sum(info["penalty"] for info in infos)
    np.testing.assert_allclose(infos[-1]["wealth"] - start, rewards.sum(0) + penalties, atol=1e-8)
    for reward, info in zip(rewards, infos, strict=True):
        flows = (
            info["spread_captured"] + info["inventory_pnl"] + info["hedge_pnl"]
            - info["fees"] - info["hedge_cost"] - info["penalty"]
        )  # fmt: skip
        np.testing.assert_allclose(reward, flows, atol=1e-10)
    trades = np.array([info["hedge_trade"] for info in infos])
    positions = np.array([info["hedge_position"] for info in infos])
    assert np.abs(positions).max() == world.hedge_max_position  # random actions do reach the limit
    assert np.all(trades % world.hedge_lot == 0) and np.abs(trades).max() <= world.hedge_max_trade
    np.testing.assert_array_equal(np.diff(positions, axis=0), trades[1:])
    # Costs by hand: ψ|u| + η·u²/dt plus the ticket fee if u ≠ 0 (the hedge's cost; fees are the quotes').
    expected = world.hedge_spread_cost * np.abs(trades) + world.hedge_impact / world.dt * trades**2
    expected += world.hedge_ticket_fee * (trades != 0)
    fills = np.array([info["bid_fills"] + info["ask_fills"] for info in infos])
    np.testing.assert_allclose(np.array([info["fees"] for info in infos]), 0.01 * fills, atol=1e-12)
    np.testing.assert_allclose(np.array([info["hedge_cost"] for info in infos]), expected, atol=1e-12)


def test_a_hedge_that_cannot_trade_is_the_single_asset_world():
    """U_max = 0: the same streams give the same rewards, observations aside, as the world without a hedge."""
    hedged = make_world("hedged", hedge_max_trade=0)
    plain = hedged.without_hedge()
    n = 64
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    *_, hedged_rewards, hedged_infos, _ = run(hedged, random_actions(rng_a, n, legs=3), n=n)
    same_draws = random_actions(rng_b, n, legs=3)
    *_, plain_rewards, _, _ = run(plain, lambda t, o: same_draws(t, o)[:, :2], n=n)
    np.testing.assert_array_equal(hedged_rewards, plain_rewards)
    assert all(np.all(info["hedge_position"] == 0) for info in hedged_infos)


def test_the_hedge_mid_is_correlated_as_set():
    world = make_world("hedged", hedge_sigma=3.0, hedge_correlation=-0.6, regime_scales=(1.0,))
    n = 40_000
    batch = MarketBatch(world, n)
    batch.reset(seed=11)
    result = batch.step(np.zeros((n, 3), dtype=np.float32))
    first = result.info["mid"] - world.s0
    second = result.info["hedge_mid"] - world.s0
    # The quoted mid also carries adverse jumps (none here); both are pure diffusion.
    assert np.corrcoef(first, second)[0, 1] == pytest.approx(-0.6, abs=0.015)
    assert second.std() == pytest.approx(3.0 * np.sqrt(world.dt), rel=0.02)


def test_variance_reduced_reward_drops_both_revaluations_and_the_fills_noise():
    world = make_world("hedged")
    n = 32
    rng = np.random.default_rng(9)
    actions = [rng.uniform(-1, 1, size=(n, 3)).astype(np.float32) for _ in range(world.n_steps)]
    *_, pnl, infos, _ = run(world, lambda t, o: actions[t], n=n)
    *_, reduced, _, _ = run(world, lambda t, o: actions[t], n=n, reward="variance_reduced")
    revaluation = np.array([info["inventory_pnl"] + info["hedge_pnl"] for info in infos])
    noise = []
    for t, info in enumerate(infos):
        # The fills' cash less p(δ)·(δ − fee) on each side that could fill, and the penalty less its
        # expectation: rate·(net risk at E[q'] + Σ p·(1 − p)), E[q'] = q + p_bid − p_ask.
        before = info["inventory"] - info["bid_fills"] + info["ask_fills"]
        expected, chances = 0.0, {}
        for side, intensity, room in (
            ("bid", world.market.assets[0].side_intensities[0], before < world.max_inventory),
            ("ask", world.market.assets[0].side_intensities[1], before > -world.max_inventory),
        ):
            chance = fill_probability(world, intensity, np.exp(-world.fill_decay * info[f"{side}_offset"]))
            chances[side] = np.where(info[f"{side}_quoted"] & room, chance, 0.0)
            expected = expected + chances[side] * (info[f"{side}_offset"] - world.fee)
        fills = info["bid_fills"] + info["ask_fills"]
        rate = world.running_penalty * world.dt + world.terminal_penalty * (t == world.n_steps - 1)
        mean_inventory = before + chances["bid"] - chances["ask"]
        spread = sum(p * (1 - p) for p in chances.values())
        ratio, hedge = world.hedge_sigma / world.sigma, info["hedge_position"]  # qᵀRq, R = Σ/σ₁² by hand
        net_risk = (
            mean_inventory**2 + 2 * world.hedge_correlation * ratio * mean_inventory * hedge + (ratio * hedge) ** 2
        )
        expected_penalty = rate * (net_risk + spread)
        noise.append(info["spread_captured"] - world.fee * fills - expected - (info["penalty"] - expected_penalty))
    np.testing.assert_allclose(reduced, pnl - revaluation - np.array(noise), atol=1e-10)


def test_hedged_spaces_observation_and_action_round_trip():
    world = make_world("hedged")
    assert world.action_names == ("bid", "ask", "hedge")
    assert action_space(world).shape == (3,)
    assert world.observation_names[:4] == ("inventory", "time_to_close", "volatility", "hedge_position")
    observation = observation_at(world, np.array([[3], [-4]]), np.array([100, 20]), 0, np.array([[-2], [5]]))
    decoded = decode_observation(world, observation)
    np.testing.assert_array_equal(decoded["hedge_position"], [[-2], [5]])
    np.testing.assert_array_equal(decoded["inventory"], [[3], [-4]])
    action = quotes_to_action(world, np.array([[0.5], [np.inf]]), np.array([[0.7], [0.6]]), np.array([[2], [-1]]))
    assert action.shape == (2, 3)
    np.testing.assert_allclose(action[:, 2], [1.0, -0.5])
    with pytest.raises(ValueError, match="hedge_trade must be zero"):
        quotes_to_action(make_world("default"), [0.5], [0.5], [1])


def test_hedged_gymnasium_env_passes_check_env():
    from gymnasium.utils.env_checker import check_env

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make(ENV_ID, world="hedged", observation_features=("last_fills",))
        check_env(env.unwrapped)
        observation, _ = env.reset(seed=0)
        _, _, _, _, info = env.step(np.array([0.0, 0.0, 1.0], dtype=np.float32))
    assert info["hedge_trade"] == 2 and info["hedge_position"] == 2
    assert {"hedge_pnl", "hedge_cost", "hedge_mid"} <= set(info)


def test_risk_matrix_is_sigma_over_sigma1_squared():
    world: World = make_world("hedged", sigma=2.0, hedge_sigma=4.0, hedge_correlation=0.5)
    np.testing.assert_allclose(world.market.risk_matrix, [[1.0, 1.0], [1.0, 4.0]])
    assert world.hedge_ratio == pytest.approx(-0.25)


def test_positions_carry_an_asset_axis():
    hedged, plain = MarketBatch(make_world("hedged"), 5), MarketBatch(make_world("default"), 5)
    hedged.reset(seed=0)
    plain.reset(seed=0)
    hedged.step(np.tile(np.array([0.0, 0.0, -1.0], dtype=np.float32), (5, 1)))
    assert hedged.state.positions.shape == (2, 5) and np.all(hedged.state.positions[1] == -2)
    assert plain.state.positions.shape == (1, 5) and plain.state.hedge_position.shape == (0, 5)


def test_the_core_trades_at_most_u_max_and_within_q2():
    """A trade asked of the core directly (not through the action mapping) is still capped: at most U_max a
    step, and never past ±Q₂."""
    world = make_world("hedged")
    state = core.reset(world.market, market_keys(0, 3), np.zeros(3, dtype=np.uint64))
    action = core.Action.quotes(np.full((3, 1), 0.7), np.full((3, 1), 0.7), hedge=[[100], [-100], [1]])
    for expected in ([2, -2, 1], [4, -4, 2]):
        state, outcome = core.step(world.market, state, action)
        np.testing.assert_array_equal(state.hedge_position[0], expected)
    state.hedge_position[:] = [9, -9, 10]
    state, outcome = core.step(world.market, state, action)
    np.testing.assert_array_equal(outcome.hedge_trade[0], [1, -1, 0])
