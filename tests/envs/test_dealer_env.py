"""The dealer's adapters: Gymnasium's checker, single/vector parity, the action and observation maps, the
natural scales (against the single-asset world's and the closed form's), and ranges that hold the optimum."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from baselines.closed_form import ClosedForm
from baselines.joint_optimal import JointOptimal
from envs import (
    ENV_ID,
    MarketBatch,
    MarketMakingVecEnv,
    action_names,
    action_to_quotes,
    make_world,
    observation_at,
    observation_names,
    quotes_to_action,
)
from envs.interface import interface_of, natural_scales
from envs.market import Asset
from envs.presets import make_market, mean_variance_market


def test_single_env_passes_gymnasiums_checker_and_has_the_documented_layout():
    env = gym.make(ENV_ID, world="dealer")
    check_env(env.unwrapped, skip_render_check=True)
    observation, _ = env.reset(seed=3)
    market = env.unwrapped.world
    assert action_names(market) == ("bid_0", "ask_0", "bid_1", "ask_1") and env.action_space.shape == (4,)
    names = ("inventory_0", "inventory_1", "time_to_close", "volatility", "close_proximity")
    assert observation_names(market) == names and observation.shape == (5,)
    assert observation.tolist() == pytest.approx([0.0, 0.0, 1.0, 1.0, 1.0 / market.n_steps])


@pytest.mark.parametrize("preset", ["dealer", "two_assets_hedged"])
def test_a_vector_column_equals_the_single_env_seeded_alike(preset):
    dealer = make_market(preset)
    vector = MarketMakingVecEnv(3, dealer, reward="pnl")
    vector.seed(5)
    vector.reset()
    single = gym.make(ENV_ID, world=dealer).unwrapped
    single.reset(seed=7)  # market 2 of a vector seeded 5
    width = vector.action_space.shape[0]
    actions = np.random.default_rng(0).uniform(-1, 0.9, (dealer.n_steps, 3, width)).astype(np.float32)
    for t, action in enumerate(actions):
        observation, reward, done, infos = vector.step(action)
        own, own_reward, terminated, truncated, info = single.step(action[2])
        if t < dealer.n_steps - 1:
            assert np.array_equal(observation[2], own)
        else:
            assert np.array_equal(infos[2]["terminal_observation"], own)
        assert reward[2] == np.float32(own_reward) and done[2] == terminated and not truncated
        hedge = info.get("hedge_pnl", 0.0) - info.get("hedge_cost", 0.0)
        parts = info["spread_captured"] + info["inventory_pnl"] + hedge - info["penalty"]
        assert parts == pytest.approx(own_reward, abs=1e-12)
    assert infos[2]["episode"]["l"] == dealer.n_steps


def test_actions_map_to_each_assets_range_and_back():
    dealer = make_market("dealer")
    (low, high) = np.array(interface_of(dealer).offset_range).T
    # Each asset's bid and ask in turn: bid₀, ask₀, bid₁, ask₁.
    bid, ask, bid_quoted, ask_quoted = action_to_quotes(dealer, np.array([[-1.0, 0.5, 0.0, 1.0]]))
    assert bid[0].tolist() == pytest.approx([low[0], (low[1] + high[1]) / 2])
    assert ask[0, 0] == pytest.approx(low[0] + 0.75 * (high[0] - low[0]))
    assert bid_quoted.all() and ask_quoted.tolist() == [[True, False]]
    assert action_to_quotes(dealer, np.array([[-3.0, 0, 0, 0]]))[0][0, 0] == pytest.approx(low[0])  # clipped
    offsets = np.array([[0.01, 0.3]]), np.array([[-0.2, np.inf]])
    back = action_to_quotes(dealer, quotes_to_action(dealer, *offsets))
    assert np.allclose(back[0], offsets[0], atol=1e-6) and back[3].tolist() == [[True, False]]
    with pytest.raises(ValueError, match="action must be finite"):
        action_to_quotes(dealer, np.array([[np.nan, 0, 0, 0]]))
    batch = MarketBatch(dealer, 1)
    batch.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must have shape \(1, 4\)"):
        batch.step(np.zeros((1, 2)))


def test_bad_input_names_what_is_accepted():
    with pytest.raises(ValueError, match="world must be an envs.World, an envs.Market or an envs.interface.Interface"):
        MarketBatch("default", 2)
    with pytest.raises(ValueError, match="unknown preset 'bonds'"):
        gym.make(ENV_ID, world="bonds")

    with pytest.raises(ValueError, match="reward must be one of"):
        MarketMakingVecEnv(2, "two_assets", reward="sharpe")


def test_one_exponential_asset_has_the_single_asset_worlds_scales():
    """φ = γσ²/2 = 1 and no terminal penalty: the world's skew c = √(φ/(k·A/e)) and inventory spread."""
    world = make_world("default", terminal_penalty=0.0, running_penalty=1.0)
    dealer = mean_variance_market(
        assets=(Asset(sigma=2.0, arrival_intensity=140.0, fill_decay=1.5, max_inventory=10),), risk_aversion=0.5
    )
    ours, theirs = natural_scales(dealer), world.natural_scales
    for name in ("skew_per_lot", "inventory_std", "inventory_scale"):
        assert ours[name][0] == pytest.approx(theirs[name], rel=1e-12), name
    assert ours["skew_per_lot"][0] == pytest.approx(np.sqrt(1.0 / (1.5 * 140.0 / np.e)), rel=1e-12)


@pytest.mark.parametrize("preset", ["two_assets", "dealer"])
def test_skew_per_lot_is_the_closed_forms_long_horizon_marginal_for_each_asset_alone(preset):
    dealer = make_market(preset)
    for i, asset in enumerate(dealer.assets):
        alone = mean_variance_market(
            assets=(asset.__class__(**{**asset.__dict__, "drift": 0.0}),), risk_aversion=dealer.risk_aversion
        )
        a, _ = ClosedForm(alone).coefficients(np.array([1e3]))
        assert 2.0 * a[0, 0, 0] == pytest.approx(natural_scales(dealer)["skew_per_lot"][i], rel=1e-9)


@pytest.mark.parametrize("preset", ["two_assets", "dealer"])
def test_offset_range_holds_the_optimums_quotes_wherever_inventory_goes(preset):
    dealer = make_market(preset)
    optimal = JointOptimal(dealer)
    reach = np.floor(np.array(interface_of(dealer).inventory_unit)).astype(int)
    grid = np.array([(a, b) for a in range(-reach[0], reach[0] + 1) for b in range(-reach[1], reach[1] + 1)])
    low, high = np.array(interface_of(dealer).offset_range).T
    for tau in (dealer.horizon, 0.5 * dealer.horizon, 5 * dealer.dt):
        bid, ask = optimal.quotes(grid, np.full(len(grid), tau), None)
        for quotes in (bid, ask):
            quoted = np.isfinite(quotes)
            assert np.all((quotes >= low) | ~quoted) and np.all((quotes < high) | ~quoted), (
                tau,
                quotes.min(),
                quotes.max(),
            )


def test_observation_is_of_order_one_where_the_optimum_keeps_inventory():
    dealer = make_market("two_assets")
    observation = observation_at(dealer, np.array([[3, -2]]), np.array([dealer.n_steps // 4]))
    assert observation[0, :3].tolist() == pytest.approx(
        [
            3 / np.array(interface_of(dealer).inventory_unit)[0],
            -2 / np.array(interface_of(dealer).inventory_unit)[1],
            0.25,
        ]
    )
    assert 1.0 < np.array(interface_of(dealer).inventory_unit)[0] < dealer.assets[0].max_inventory


def test_one_id_for_every_market_and_the_removed_dealer_id_says_what_replaces_it():
    from gymnasium.wrappers.vector import NormalizeObservation, RecordEpisodeStatistics

    from envs import MarketMakingEnv
    from envs.vector_env import MarketMakingVectorEnv

    assert isinstance(gym.make(ENV_ID, world="toxic").unwrapped, MarketMakingEnv)
    regimes = gym.make(ENV_ID, world="two_assets_regimes").unwrapped
    assert isinstance(regimes, MarketMakingEnv)
    check_env(regimes, skip_render_check=True)
    assert isinstance(gym.make(ENV_ID, world=make_market("dealer")).unwrapped, MarketMakingEnv)
    with pytest.raises(ValueError, match=r"mm_inventory/Dealer-v0 was removed: .* world='dealer'"):
        gym.make("mm_inventory/Dealer-v0", dealer="dealer")
    market = make_market("two_assets_regimes", horizon=0.05)  # 10 steps
    vector = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point", world=market)
    assert isinstance(vector, MarketMakingVectorEnv) and vector.single_observation_space.shape == (5,)
    env = RecordEpisodeStatistics(NormalizeObservation(vector))
    env.reset(seed=0)
    lengths = []
    for _ in range(2 * (market.n_steps + 1)):
        _, _, _, _, info = env.step(np.zeros((3, 4), dtype=np.float32))
        if "episode" in info:
            lengths.append(info["episode"]["l"][info["_episode"]].tolist())
    assert lengths == [[10, 10, 10]] * 2


def test_one_asset_with_a_logistic_curve_and_sizes_trains_through_every_adapter():
    """What neither stack could hold before the one market: one asset with a logistic fill curve and a size
    ladder (a one-asset ``Market``), through ``gymnasium.make`` (``check_env``) and the SB3 ``VecEnv`` with close
    starts; fills come in both sizes and the reward is the change in wealth less the penalty, step by step."""
    market = make_market("two_assets").replace(
        assets=[{"fill_curve": "logistic", "sizes": [1, 2], "size_probabilities": [0.5, 0.5], "max_inventory": 10}],
        correlation=[[1.0]],
    )
    env = gym.make(ENV_ID, world=market)
    check_env(env.unwrapped, skip_render_check=True)
    vector = MarketMakingVecEnv(64, market, reward="pnl", close_starts=0.2)
    vector.seed(3)
    vector.reset()
    wealth = vector.batch.state.wealth.copy()
    lots = set()
    rng = np.random.default_rng(0)
    for _ in range(30):
        _, reward, _, infos = vector.step(rng.uniform(-1, 0, (64, 2)).astype(np.float32))
        now = np.array([info["wealth"] for info in infos])
        penalty = np.array([info["penalty"] for info in infos])
        done = np.array([info.get("terminal_observation") is not None for info in infos])
        np.testing.assert_allclose(reward[~done], (now - wealth - penalty)[~done], rtol=1e-6, atol=1e-6)
        wealth = vector.batch.state.wealth.copy()
        lots |= {int(info["bid_fills"]) for info in infos} | {int(info["ask_fills"]) for info in infos}
    assert lots == {0, 1, 2}
