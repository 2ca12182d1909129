"""Exploring starts near the close (``MarketBatch(close_starts=…)``) and the ``close_proximity`` observation."""

import numpy as np
import pytest

from envs import MarketBatch, close_start_probability, decode_observation, make_world, observation_at


def openings(batch: MarketBatch, steps: int, quotes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The step and the inventory every session reopened over ``steps`` steps opened at (``quotes``: the
    actions, zeros by default), after a seeded reset."""
    quotes = np.zeros(batch.shape + (2,)) if quotes is None else quotes
    batch.reset(seed=5)
    opened_at, inventory = [], []
    for _ in range(steps):
        finished = batch.step(quotes).finished
        if finished is not None:
            opened_at.append(batch.state.step[finished.mask])
            inventory.append(batch.state.inventory[0, finished.mask])
    return np.concatenate(opened_at), np.concatenate(inventory)


def test_sessions_open_near_the_close_at_the_share_of_steps_asked_for():
    world = make_world("default", horizon=0.1)  # 20 steps a session, Q = 10
    batch = MarketBatch(world, 64, close_starts=0.4, close_window=5, close_inventory="uniform")
    opened_at, inventory = openings(batch, 400)
    near = opened_at > 0
    # 40 % of the steps: near sessions last 3 steps on average, so p·3 / (p·3 + (1 − p)·20) = 0.4, p = 8/9.8.
    p = close_start_probability(world, 0.4, 5)
    assert p == pytest.approx(8 / 9.8)
    # Several thousand Bernoulli(p) draws, one per market and session: within 4.5 standard deviations of p.
    assert abs(near.mean() - p) < 4.5 * np.sqrt(p * (1 - p) / near.size) and near.size > 3000
    lengths = world.n_steps - opened_at
    assert abs(lengths[near].sum() / lengths.sum() - 0.4) < 0.03  # the share of steps
    assert sorted(set(lengths[near])) == [1, 2, 3, 4, 5]
    reach = min(world.max_inventory, int(np.ceil(3 * world.inventory_unit)))
    assert not inventory[~near].any()  # the world's own opening: flat
    assert inventory[near].min() == -reach and inventory[near].max() == reach
    assert abs(inventory[near].mean()) < 0.3
    # Each market on its own clock: at any step some markets are near the close and others are not.
    assert len(set(batch.state.step)) > 1


def test_close_starts_are_reproducible_and_off_by_default():
    world = make_world("default", horizon=0.1)
    first = openings(MarketBatch(world, 8, close_starts=0.5, close_window=3), 300)
    again = openings(MarketBatch(world, 8, close_starts=0.5, close_window=3), 300)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert 0 < np.count_nonzero(first[0]) < first[0].size
    assert not openings(MarketBatch(world, 8), 300)[0].any()
    assert np.all(openings(MarketBatch(world, 8, close_starts=1.0, close_window=1), 30)[0] == world.n_steps - 1)
    with pytest.raises(ValueError, match="close_starts .* needs autoreset"):
        MarketBatch(world, 8, autoreset=False, close_starts=0.5)


def test_visited_close_starts_open_where_the_markets_were_window_steps_before_the_close():
    """``close_inventory="visited"``: a session opened near the close starts each market at the inventory it
    held ``close_window`` steps before the close of its last whole session (flat, the world's opening, before
    one has passed there); a seeded reset forgets them."""
    world = make_world("default", horizon=0.1)  # 20 steps a session, flat opening
    batch = MarketBatch(world, 16, close_starts=0.5, close_window=5)  # "visited": the default
    quotes = np.tile([-1.0, 1.0], (16, 1))  # the bid at its nearest, the ask pulled: the books go long
    batch.reset(seed=3)
    whole = np.ones(16, dtype=bool)  # each market's session opened at step 0
    expected = np.zeros(16, dtype=np.int64)
    checked = 0
    for _ in range(600):
        finished = batch.step(quotes).finished
        passing = whole & (batch.state.step == world.n_steps - 5)
        expected[passing] = batch.state.inventory[0, passing]
        if finished is not None:
            reopened = finished.mask
            near = reopened & (batch.state.step > 0)
            np.testing.assert_array_equal(batch.state.inventory[0, near], expected[near])
            checked += np.count_nonzero(near & (expected > 0))
            whole[reopened] = batch.state.step[reopened] == 0
    assert checked > 50  # the check above saw long books open near the close
    opened_at, inventory = openings(batch, 5, quotes)  # the first sessions after a seeded reset: flat
    assert np.count_nonzero(opened_at) > 0 and not inventory.any()


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"close_starts": 1.5}, "close_starts must be a share in [0, 1]"),
        ({"close_starts": float("nan")}, "close_starts must be a share in [0, 1]"),
        ({"close_window": 0}, "close_window must be a whole number of steps ≥ 1"),
        ({"close_window": 2.5}, "close_window must be a whole number of steps ≥ 1"),
        ({"close_inventory": "flat"}, "close_inventory must be one of ['uniform', 'visited']"),
    ],
)
def test_bad_close_starts_are_refused(keywords, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        MarketBatch(make_world("default"), 4, **keywords)


def test_close_proximity_is_one_over_the_steps_left():
    world = make_world("default", horizon=0.05, observation_features=("close_proximity",))  # 10 steps
    assert world.observation_names[-1] == "close_proximity"
    batch = MarketBatch(world, 3, autoreset=False)
    seen = [batch.reset(seed=2)[:, -1]]
    for _ in range(world.n_steps - 1):
        seen.append(batch.step(np.zeros((3, 2))).observation[:, -1])
    np.testing.assert_allclose(np.array(seen)[:, 0], 1.0 / np.arange(10, 0, -1), rtol=1e-6)
    fresh = observation_at(world, np.zeros((4, 1), dtype=np.int64), np.array([1, 2, 4, 10]))
    np.testing.assert_allclose(fresh[:, -1], [1.0, 0.5, 0.25, 0.1], rtol=1e-6)
    np.testing.assert_allclose(decode_observation(world, fresh)["close_proximity"], [1.0, 0.5, 0.25, 0.1], rtol=1e-6)


def test_close_relaxation_decays_with_the_optimal_skews_relaxation_time():
    world = make_world("default", observation_features=("close_relaxation",))
    tau = 0.5 / np.sqrt(world.running_penalty * world.fill_decay * world.arrival_intensity / np.e)  # φ = 1 > α/T
    observation = observation_at(world, np.zeros((3, 1), dtype=np.int64), np.array([1, 20, 200]))
    np.testing.assert_allclose(observation[:, -1], np.exp(-np.array([1, 20, 200]) * world.dt / tau), rtol=1e-5)
    free = make_world("default", running_penalty=0.0, terminal_penalty=0.0, observation_features=("close_relaxation",))
    np.testing.assert_array_equal(
        observation_at(free, np.zeros((2, 1), dtype=np.int64), np.array([1, 200]))[:, -1], 1.0
    )


def test_a_multi_asset_market_opens_near_the_close_with_every_asset_within_its_reach():
    """One runner for every market: close starts in a two-asset market draw each asset's inventory within its own
    ±min(Q, ⌈3·inventory_unit⌉), at the share of steps asked for; the runner draws its noise ahead bit for bit."""
    from envs.interface import interface_of
    from envs.presets import make_market

    market = make_market("two_assets", horizon=0.1, dt=0.005)  # 20 steps a session
    batch = MarketBatch(market, 64, close_starts=0.4, close_window=5, close_inventory="uniform")
    quotes = np.zeros((64, 4))
    batch.reset(seed=5)
    opened_at, inventory = [], []
    for _ in range(400):
        finished = batch.step(quotes).finished
        if finished is not None:
            opened_at.append(batch.state.step[finished.mask])
            inventory.append(batch.state.inventory[:, finished.mask])
    opened_at, inventory = np.concatenate(opened_at), np.concatenate(inventory, axis=1)
    near = opened_at > 0
    lengths = market.n_steps - opened_at
    assert abs(lengths[near].sum() / lengths.sum() - 0.4) < 0.03
    reach = np.minimum(market.column("max_inventory"), np.ceil(3 * np.array(interface_of(market).inventory_unit)))
    np.testing.assert_array_equal(inventory[:, near].max(axis=1), reach)
    np.testing.assert_array_equal(inventory[:, near].min(axis=1), -reach)
    assert not inventory[:, ~near].any()


@pytest.mark.parametrize("preset", ["two_assets_regimes", "two_assets_hedged"])
def test_a_multi_asset_market_drawn_ahead_is_bit_identical(preset, monkeypatch):
    import envs.batch
    from envs.presets import make_market

    market = make_market(preset, horizon=0.1, dt=0.005)
    actions = np.random.default_rng(0).uniform(-1, 1, size=(50, 3, 2 * market.n_assets + market.n_hedges))

    def run(ahead_bytes):
        monkeypatch.setattr(envs.batch, "DRAW_AHEAD_BYTES", ahead_bytes)
        batch = MarketBatch(market, 3)
        batch.reset(seed=11)
        return np.array([[s.reward, s.info["wealth"]] for s in (batch.step(a) for a in actions)])

    np.testing.assert_array_equal(run(8 * 7 * 3 * 7), run(0))
    np.testing.assert_array_equal(run(2**20), run(0))


def test_close_starts_past_an_assets_limit_are_refused():
    # The core keeps |q| ≤ Q, and its penalty reads whole positions within the limits: an opening past them is an error.
    from envs import core, market_keys
    from envs.close_starts import open_near_close
    from envs.presets import make_market

    market = make_market("two_assets")  # Q = 10 for both assets
    state = core.reset(market, market_keys(0, 400), np.zeros(400, dtype=np.uint64))
    inside = open_near_close(market, state, 1.0, 5, inventory=np.array([[10], [-10]]))
    assert (inside.inventory == np.array([[10], [-10]])).all()
    with pytest.raises(ValueError, match=r"close starts' inventory must lie within each asset's ±max_inventory"):
        open_near_close(market, state, 1.0, 5, inventory=np.array([[3], [-11]]))
    with pytest.raises(ValueError, match=r"up to \[ 3 12\]"):
        open_near_close(market, state, 1.0, 5, reach=np.array([3, 12]))
