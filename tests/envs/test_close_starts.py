"""Exploring starts near the close (``MarketBatch(close_starts=…)``) and the ``close_proximity`` observation."""

import numpy as np
import pytest

from envs import MarketBatch, close_start_probability, decode_observation, make_world, observation_at


def sessions(batch: MarketBatch, count: int) -> list:
    """The opening states of ``count`` consecutive sessions (the batch closed and reopened each time)."""
    opened = []
    batch.reset(seed=5)
    for _ in range(count):
        opened.append(batch.state)
        while True:
            step = batch.step(np.zeros(batch.shape + (2,)))
            if step.finished is not None:
                break
    return opened


def test_sessions_open_near_the_close_at_the_share_of_steps_asked_for():
    world = make_world("default", horizon=0.1)  # 20 steps a session, Q = 10
    batch = MarketBatch(world, 64, close_starts=0.4, close_window=5)
    opened = sessions(batch, 400)
    near = np.array([state.step[0] > 0 for state in opened])
    # 40 % of the steps: near sessions last 3 steps on average, so p·3 / (p·3 + (1 − p)·20) = 0.4, p = 8/9.8.
    assert close_start_probability(world, 0.4, 5) == pytest.approx(8 / 9.8)
    # 400 Bernoulli(p) draws: within 4.5 standard deviations (0.087) of p.
    assert abs(near.mean() - 8 / 9.8) < 0.087
    lengths = np.array([world.n_steps - state.step[0] for state in opened])
    assert abs(lengths[near].sum() / lengths.sum() - 0.4) < 0.15  # the share of steps (sd ≈ 0.04)
    reach = min(world.max_inventory, int(np.ceil(3 * world.inventory_unit)))
    left = []
    for state in opened:
        assert np.all(state.step == state.step[0])  # the markets share the step
        if state.step[0] == 0:
            assert not state.inventory.any()  # the world's own opening: flat
        else:
            left.append(world.n_steps - state.step[0])
            assert np.abs(state.inventory).max() <= reach
    assert sorted(set(left)) == [1, 2, 3, 4, 5]
    inventories = np.concatenate([state.inventory for state in opened if state.step[0] > 0])
    assert inventories.min() == -reach and inventories.max() == reach
    assert abs(inventories.mean()) < 0.5


def test_close_starts_are_reproducible_and_off_by_default():
    world = make_world("default", horizon=0.1)
    first = [s.step[0] for s in sessions(MarketBatch(world, 8, close_starts=0.5, close_window=3), 30)]
    again = [s.step[0] for s in sessions(MarketBatch(world, 8, close_starts=0.5, close_window=3), 30)]
    assert first == again and 0 < sum(step > 0 for step in first) < 30
    assert all(s.step[0] == 0 for s in sessions(MarketBatch(world, 8), 30))
    assert all(
        s.step[0] == world.n_steps - 1 for s in sessions(MarketBatch(world, 8, close_starts=1.0, close_window=1), 5)
    )


def test_visited_close_starts_open_where_the_markets_were_window_steps_before_the_close():
    """``close_inventory="visited"``: a session opened near the close starts each market at the inventory it
    held ``close_window`` steps before the close of its last whole session (flat, the world's opening, before
    one has passed there); a seeded reset forgets them."""
    world = make_world("default", horizon=0.1)  # 20 steps a session, flat opening
    batch = MarketBatch(world, 16, close_starts=0.5, close_window=5, close_inventory="visited")
    quotes = np.tile([-1.0, 1.0], (16, 1))  # the bid at its nearest, the ask pulled: the books go long
    batch.reset(seed=3)
    expected, near, whole = np.zeros(16, dtype=np.int64), 0, 0
    for _ in range(60):
        opened = batch.state.step[0]
        if opened > 0:
            near += 1
            np.testing.assert_array_equal(batch.state.inventory, expected)
        else:
            whole += 1
        while True:
            step = batch.step(quotes)
            if step.finished is not None:
                break
            if opened == 0 and batch.state.step[0] == world.n_steps - 5:
                expected = batch.state.inventory.copy()
    assert near > 5 and whole > 5 and expected.min() > 0  # the check above saw long books open near the close
    batch.reset(seed=3)
    while batch.state.step[0] == 0:  # until a session opens near the close again: flat once more
        while batch.step(quotes).finished is None:
            pass
    assert not batch.state.inventory.any()


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
    fresh = observation_at(world, np.zeros(4, dtype=np.int64), np.array([1, 2, 4, 10]))
    np.testing.assert_allclose(fresh[:, -1], [1.0, 0.5, 0.25, 0.1], rtol=1e-6)
    np.testing.assert_allclose(decode_observation(world, fresh)["close_proximity"], [1.0, 0.5, 0.25, 0.1], rtol=1e-6)
