import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envs import MarketBatch, core, fill_probability, make_world


def run(world, actions_fn, n=256, seed=0, reward="pnl"):
    """Roll out one session; returns the batch, per-step rewards and outcomes."""
    batch = MarketBatch(world, n, reward)
    obs = batch.reset(seed=seed)
    start_wealth = batch.state.wealth.copy()
    rewards, infos = [], []
    for t in range(world.n_steps):
        result = batch.step(actions_fn(t, obs))
        obs, reward, info, finished = result.observation, result.reward, result.info, result.finished
        rewards.append(reward)
        infos.append(info)
    return batch, start_wealth, np.array(rewards), infos, finished


def random_actions(rng, n, legs=2):
    return lambda t, obs: rng.uniform(-1.2, 1.2, size=(n, legs)).astype(np.float32)


@pytest.mark.parametrize("preset", ["default", "as2008", "toxic", "regimes", "worked_example"])
def test_accounting_identity_random_actions(preset):
    world = make_world(preset, fee=0.01, initial_inventory=(-3, 3))
    n = 128
    batch, start, rewards, infos, finished = run(world, random_actions(np.random.default_rng(1), n), n=n)
    penalties = sum(info["penalty"] for info in infos)
    final_wealth = finished.episode["objective"] + penalties + start
    # wealth at the close = start + Σ rewards + Σ penalties (fees are inside cash)
    closing = np.array([info["wealth"] for info in infos])[-1]
    np.testing.assert_allclose(closing, final_wealth, rtol=0, atol=1e-8)
    spread = sum(info["spread_captured"] for info in infos)
    inventory_pnl = sum(info["inventory_pnl"] for info in infos)
    fees = sum(info["fees"] for info in infos)
    np.testing.assert_allclose(rewards.sum(0), spread + inventory_pnl - fees - penalties, atol=1e-8)


def test_accounting_identity_adversarial_actions():
    """Quotes deep through the mid (fills every step), pulled sides and the limit, all at once."""
    world = make_world("default", fee=-0.02, max_inventory=3)
    n = 64

    def adversarial(t, obs):
        a = np.full((n, 2), -5.0, dtype=np.float32)  # clipped to the most aggressive quote
        a[t % 3 == 0, 0] = 1.0  # pull the bid every third step
        a[: n // 2, 1] = 1.0  # half the markets never sell
        return a

    batch, start, rewards, infos, finished = run(world, adversarial, n=n)
    assert np.abs(np.array([i["inventory"] for i in infos])).max() == 3
    closing = infos[-1]["wealth"]
    penalties = sum(info["penalty"] for info in infos)
    np.testing.assert_allclose(closing - start, rewards.sum(0) + penalties, atol=1e-8)
    fills = sum(info["bid_fills"] + info["ask_fills"] for info in infos)
    np.testing.assert_allclose(sum(info["fees"] for info in infos), -0.02 * fills)


@settings(max_examples=30, deadline=None)
@given(
    limit=st.integers(1, 6),
    start=st.integers(-6, 6),
    sell_share=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**31),
)
def test_inventory_never_exceeds_limit(limit, start, sell_share, seed):
    world = make_world(
        "default",
        max_inventory=limit,
        initial_inventory=max(-limit, min(limit, start)),
        sell_share=sell_share,
        horizon=0.2,
    )
    rng = np.random.default_rng(seed)
    batch = MarketBatch(world, 32)
    batch.reset(seed=seed)
    for _ in range(world.n_steps):
        info = batch.step(rng.uniform(-1, 1, size=(32, 2))).info
        assert np.abs(info["inventory"]).max() <= limit


@pytest.mark.parametrize("rule", ["poisson", "as2008"])
@pytest.mark.parametrize("offset", [-0.2, 0.3, 1.0])
def test_fill_frequencies_match_intensity(rule, offset):
    world = make_world("default", fill_rule=rule, max_inventory=10**6, sell_share=0.3)
    n = 20000
    batch = MarketBatch(world, n)
    batch.reset(seed=3)
    action = np.full((n, 2), 2 * (offset - world.offset_range[0]) / (world.offset_range[1] - world.offset_range[0]) - 1)
    bid_fills = ask_fills = 0
    steps = 20
    for _ in range(steps):
        info = batch.step(action).info
        bid_fills += info["bid_fills"].sum()
        ask_fills += info["ask_fills"].sum()
    for fills, base in zip((bid_fills, ask_fills), world.market.assets[0].side_intensities, strict=True):
        lam_dt = base * np.exp(-world.fill_decay * offset) * world.dt
        p = 1 - np.exp(-lam_dt) if rule == "poisson" else min(lam_dt, 1.0)
        trials = n * steps
        assert abs(fills / trials - p) < 5 * np.sqrt(p * (1 - p) / trials) + 1e-12


def test_fill_probability_rules_by_hand():
    poisson, literal = make_world("default"), make_world("as2008")
    assert fill_probability(poisson, 100.0) == pytest.approx(1 - np.exp(-0.5))
    assert fill_probability(literal, 100.0) == pytest.approx(0.5)
    assert fill_probability(literal, 1000.0) == 1.0


def test_quotes_settle_at_quoted_prices():
    """One market, hand-checked: a bid fill at s − δ_b changes cash by −(s − δ_b)."""
    world = make_world("default", sigma=0.0, sell_share=1.0, arrival_intensity=1e9)  # the bid always fills
    state = core.reset(world.market, np.array([7], dtype=np.uint64), np.array([0], dtype=np.uint64))
    state, outcome = core.step(world.market, state, core.Action.quotes([[0.25]], [[0.5]]))
    assert outcome.bid_fills[0, 0] == 1 and outcome.ask_fills[0, 0] == 0
    assert state.cash[0] == pytest.approx(-(100.0 - 0.25))
    assert state.inventory[0, 0] == 1
    assert outcome.reward[0] == pytest.approx(0.25 - world.running_penalty * world.dt)


def test_variance_reduced_reward_prices_the_close_by_its_expectation():
    """At the last step, from q = 1: the reward is E[fill cash] − (φ·dt + α)·(E[q']² + Σ p·(1 − p)), by hand,
    the same in every market whatever filled; the realized penalty averages to it."""
    world = make_world("as2008", running_penalty=0.5, terminal_penalty=2.0)
    n = 20000
    keys = np.arange(n, dtype=np.uint64)
    state = core.reset(world.market, keys, np.zeros(n, dtype=np.uint64))
    state = dataclasses.replace(state, inventory=np.ones((1, n), dtype=np.int64), step=np.full(n, world.n_steps - 1))
    bid, ask = 0.8, 0.5
    _, outcome = core.step(world.market, state, core.Action.quotes(np.full((n, 1), bid), np.full((n, 1), ask)))
    bid_intensity, ask_intensity = world.market.assets[0].side_intensities
    p_bid = bid_intensity * np.exp(-world.fill_decay * bid) * world.dt  # the A–S rule: λ·dt, here < 1
    p_ask = ask_intensity * np.exp(-world.fill_decay * ask) * world.dt
    rate = 0.5 * world.dt + 2.0
    expected_penalty = rate * ((1 + p_bid - p_ask) ** 2 + p_bid * (1 - p_bid) + p_ask * (1 - p_ask))
    np.testing.assert_allclose(outcome.variance_reduced_reward, p_bid * bid + p_ask * ask - expected_penalty)
    assert abs(outcome.penalty.mean() - expected_penalty) < 4.5 * outcome.penalty.std() / np.sqrt(n)


def test_adverse_jump_moves_mid_against_the_maker():
    world = make_world("toxic", sigma=0.0, sell_share=1.0, arrival_intensity=1e9)
    state = core.reset(world.market, np.array([7], dtype=np.uint64), np.array([0], dtype=np.uint64))
    state, outcome = core.step(world.market, state, core.Action.quotes([[0.25]], [[0.5]]))
    assert state.mid[0, 0] == pytest.approx(100.0 - world.adverse_jump)
    assert outcome.inventory_pnl[0] == pytest.approx(-world.adverse_jump)
    assert outcome.variance_reduced_reward[0] == pytest.approx(outcome.reward[0])


def test_mid_increments_have_the_right_law():
    for process in ("gaussian", "binomial"):
        world = make_world("as2008", mid_process=process)
        n = 50000
        batch = MarketBatch(world, n)
        batch.reset(seed=11)
        info = batch.step(np.ones((n, 2))).info  # both sides pulled: no fills, no jumps
        step = (info["mid"] - world.s0) / (world.sigma * np.sqrt(world.dt))
        assert abs(step.mean()) < 0.03 and abs(step.std() - 1) < 0.02
        if process == "binomial":
            np.testing.assert_allclose(np.abs(step), 1.0)
        else:
            assert abs(np.mean(step**4) - 3) < 0.15  # Gaussian kurtosis


def test_variance_reduced_reward_keeps_the_mean_and_cuts_the_noise():
    world = make_world("as2008")  # no penalty: the revaluation q·Δs is the dominant noise
    n = 4000
    action = 2 * (1 / world.fill_decay - world.offset_range[0]) / (world.offset_range[1] - world.offset_range[0]) - 1
    policy = lambda t, obs: np.full((n, 2), action, dtype=np.float32)  # noqa: E731  (δ = 1/k)
    _, _, plain, _, _ = run(world, policy, n=n, seed=5)
    _, _, reduced, _, _ = run(world, policy, n=n, seed=5, reward="variance_reduced")
    plain, reduced = plain.sum(0), reduced.sum(0)
    assert reduced.std() < 0.5 * plain.std()
    assert abs(plain.mean() - reduced.mean()) < 4 * plain.std() / np.sqrt(n)


def test_regime_chain_statistics():
    world = make_world("regimes", horizon=5.0)
    n = 4000
    batch = MarketBatch(world, n)
    obs = batch.reset(seed=2)
    regimes = [obs[:, 2] > 0.5]
    switches = 0
    for _ in range(world.n_steps - 1):
        obs = batch.step(np.ones((n, 2))).observation
        regimes.append(obs[:, 2] > 0.5)
        switches += (regimes[-1] != regimes[-2]).sum()
    high = np.array(regimes)
    # stationary share of the stressed regime: 2 / (2 + 4)
    assert abs(high.mean() - 1 / 3) < 0.01
    # expected switches per unit time in stationarity: π0·2 + π1·4 = 8/3
    rate = switches / (n * (world.n_steps - 1) * world.dt)
    assert abs(rate - 8 / 3) < 0.1


def test_same_seed_same_trajectory_and_different_seed_differs():
    world = make_world("regimes")
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, size=(world.n_steps, 16, 2))
    results = []
    for seed in (4, 4, 5):
        batch = MarketBatch(world, 16)
        batch.reset(seed=seed)
        results.append(np.array([batch.step(actions[t]).reward for t in range(world.n_steps)]))
    assert np.array_equal(results[0], results[1])
    assert not np.array_equal(results[0], results[2])


def test_initial_inventory_range_is_uniform():
    world = make_world("default", initial_inventory=(-2, 1))
    batch = MarketBatch(world, 40000)
    obs = batch.reset(seed=1)
    values, counts = np.unique(np.rint(obs[:, 0] * world.inventory_unit), return_counts=True)
    assert list(values) == [-2, -1, 0, 1]
    assert np.all(np.abs(counts / 40000 - 0.25) < 0.01)


def test_observation_at_matches_the_env_observation():
    from envs import observation_at

    world = make_world("regimes", initial_inventory=(-3, 3), observation_features=("mid_return", "last_fills"))
    batch = MarketBatch(world, 64)
    observation = batch.reset(seed=4)
    for _ in range(7):
        observation = batch.step(np.zeros((64, 2))).observation
    state = batch.state
    fresh = observation_at(world, state.inventory.T, world.n_steps - state.step, state.regime)
    np.testing.assert_array_equal(fresh[:, :3], observation[:, :3])
    assert not fresh[:, 3:].any()  # no history: the extra features read zero


def test_uniforms_drawn_ahead_are_the_ones_each_step_draws():
    world = make_world("regimes")
    key = np.array([3, 2**63 + 5], dtype=np.uint64)
    episode = np.array([0, 7], dtype=np.uint64)
    block = core.step_uniforms(world.market, key, episode, 10, 5)
    assert block.shape == (core.stream_count(world.market), 5, 2)
    for j in range(5):
        at = np.full(2, 10 + j)
        np.testing.assert_array_equal(block[:, j], core.uniforms(key, episode, at, core.stream_count(world.market)))


@pytest.mark.parametrize(
    "preset, overrides", [("regimes", {}), ("hedged", {}), ("hedged", {"mid_process": "binomial"}), ("as2008", {})]
)
def test_drawing_ahead_leaves_every_trajectory_bit_identical(preset, overrides, monkeypatch):
    import envs.batch

    # 20-step sessions: blocks end inside and across sessions
    world = make_world(preset, horizon=0.2, dt=0.01, **overrides)
    actions = np.random.default_rng(0).uniform(-1, 1, size=(50, 3, len(world.action_names)))

    def run(ahead_bytes):
        monkeypatch.setattr(envs.batch, "DRAW_AHEAD_BYTES", ahead_bytes)
        batch = MarketBatch(world, 3)
        batch.reset(seed=11)
        steps = [batch.step(action) for action in actions]
        return np.array([[s.reward, s.info["inventory"], s.info["mid"]] for s in steps])

    step_by_step = run(0)
    np.testing.assert_array_equal(run(8 * 4 * 3 * 7), step_by_step)  # blocks of 7 steps
    np.testing.assert_array_equal(run(2**20), step_by_step)  # whole sessions


def test_a_hedge_trade_costs_its_spread_impact_and_ticket_fee_where_it_trades():
    """``ψ·|u| + η·u²/dt`` plus the ticket fee where ``u ≠ 0``, by hand: ψ = 0.05, η = 0.001, dt = 0.01, fee 0.2."""
    cost = core.trade_cost(np.array([-4, 0, 2]), 0.05, 0.001, 0.01, 0.2)
    np.testing.assert_allclose(cost, [0.2 + 1.6 + 0.2, 0.0, 0.1 + 0.4 + 0.2], rtol=1e-12)
    np.testing.assert_allclose(core.trade_cost(np.array([-4, 0, 2]), 0.05, 0.001, 0.01), [1.8, 0.0, 0.5], rtol=1e-12)
