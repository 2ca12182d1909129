"""Informed flow: the hidden flow state's fields, its physics in the core (prints, tilted intensities, drift) and the
maker's Bayesian filter, against hand computations and statistics with fixed seeds."""

import math

import numpy as np
import pytest

from envs import Asset, Flow, Market, MarketBatch, core, market_keys
from envs import flow as flow_filter
from envs.interface import derived_interface
from envs.observation import observation_names
from envs.presets import make_market

SWITCHING = ((-4.0, 4.0, 0.0), (2.0, -4.0, 2.0), (0.0, 4.0, -4.0))


def flow_market(**flow) -> Market:
    fields = {"directions": (-1.0, 0.0, 1.0), "switch_rates": SWITCHING, "imbalance": 0.6, "drift": 10.0, **flow}
    return Market(assets=(Asset(max_inventory=10),), flow=Flow(**fields), fill_rule="arrival")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: Flow((-2.0, 0.0, 2.0), SWITCHING, imbalance=0.6),
            r"^imbalance must keep every intensity ≥ 0: .*ζ ≤ 0\.5",
        ),
        (lambda: Flow((-1.0, 1.0), ((-1.0, 2.0), (1.0, -1.0))), r"^switch_rates must be a generator matrix"),
        (lambda: Flow((-1.0, 1.0), SWITCHING), r"^switch_rates must be a 2×2 matrix \(one row per flow state"),
        (lambda: Flow(imbalance=-0.1), r"^imbalance must be"),
        (
            lambda: Market(flow=Flow((-1.0, 1.0), ((-1.0, 1.0), (1.0, -1.0)))),
            r"^fill_rule must be 'arrival' with informed flow",
        ),
        (
            lambda: Market(
                flow=Flow((-1.0, 1.0), ((-1.0, 1.0), (1.0, -1.0))), fill_rule="arrival", mid_process="binomial"
            ),
            r"^mid_process must be 'gaussian'",
        ),
    ],
)
def test_a_bad_flow_field_raises_naming_it(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_the_arrival_rule_fills_a_print_with_the_curve():
    market = Market(fill_rule="arrival", dt=0.01)
    print_chance = 1.0 - math.exp(-140.0 * 0.01)
    assert core.fill_probability(market, 140.0, math.exp(-1.5 * 0.4)) == pytest.approx(print_chance * math.exp(-0.6))
    assert core.fill_probability(market, 140.0, 3.0) == pytest.approx(print_chance)  # f > 1 through the mid: capped


def test_a_market_without_flow_draws_the_same_streams_as_before():
    plain = make_market("default")
    assert plain.flow == Flow() and core.stream_count(plain) == 4
    # The flow state's switch reads one more standard normal: the spare of the one mid's Box–Muller pair, or a
    # pair of its own beside a hedge's.
    assert core.stream_count(flow_market()) == 4
    assert core.stream_count(make_market("hedged").replace(flow=flow_market().flow, fill_rule="arrival")) == 6
    state = core.reset(plain, market_keys(0, 3), np.zeros(3, dtype=np.uint64))
    assert state.flow is None and state.belief is None and state.prints is None


def test_the_flow_state_switches_with_the_chains_one_step_transition():
    market = flow_market()
    n, steps = 20000, 12
    state = core.reset(market, market_keys(11, n), np.zeros(n, dtype=np.uint64))
    counts = np.zeros((3, 3))
    pulled = core.Action.quotes(np.full((n, 1), np.inf), np.full((n, 1), np.inf))
    for _ in range(steps):
        before = state.flow
        state, _ = core.step(market, state, pulled)
        np.add.at(counts, (before, state.flow), 1)
    visits = counts.sum(axis=1, keepdims=True)
    expected = market.flow_step_transition
    error = np.sqrt(expected * (1 - expected) / visits) + 1e-12
    assert np.all(np.abs(counts / visits - expected) < 4 * error)


def test_prints_arrive_at_the_states_tilted_rates_and_fills_are_prints():
    market = flow_market()
    n, steps = 4000, 40
    state = core.reset(market, market_keys(3, n), np.zeros(n, dtype=np.uint64), prints=True)
    counts = np.zeros((3, 2))
    visits = np.zeros(3)
    for _ in range(steps):
        flow = state.flow.copy()
        action = core.Action.quotes(np.full((n, 1), 0.5), np.full((n, 1), 0.5))
        state, outcome = core.step(market, state, action)
        assert np.all(state.prints[0, 0] >= (outcome.bid_fills[0] > 0))  # a fill is a print
        assert np.all(state.prints[1, 0] >= (outcome.ask_fills[0] > 0))
        for s in range(3):
            counts[s] += state.prints[:, 0, flow == s].sum(axis=1)
            visits[s] += (flow == s).sum()
    rate = 140.0 * market.dt
    z = np.array([-1.0, 0.0, 1.0])
    expected = np.stack([-np.expm1(-rate * (1 - 0.6 * z)), -np.expm1(-rate * (1 + 0.6 * z))], axis=1)
    observed = counts / visits[:, None]
    error = np.sqrt(expected * (1 - expected) / visits[:, None])
    assert np.all(np.abs(observed - expected) < 4 * error)


def test_the_mid_drifts_with_the_flow_state():
    market = flow_market(imbalance=0.0)
    n = 20000
    state = core.reset(market, market_keys(5, n), np.zeros(n, dtype=np.uint64))
    flow = state.flow.copy()
    pulled = core.Action.quotes(np.full((n, 1), np.inf), np.full((n, 1), np.inf))
    state, _ = core.step(market, state, pulled)
    sigma_step = 2.0 * math.sqrt(market.dt)
    for s, z in enumerate((-1.0, 0.0, 1.0)):
        moves = state.mid_return[0, flow == s]
        assert abs(moves.mean() - 10.0 * z * market.dt) < 4 * sigma_step / math.sqrt(moves.size)


def test_the_filter_is_bayes_rule_on_the_prints_and_the_mid_move():
    market = flow_market()
    state = core.reset(market, market_keys(9, 1)[0], np.uint64(0), belief=True)
    prior = state.belief.copy()
    state, _ = core.step(market, state, core.Action.quotes(np.full(1, 0.7), np.full(1, 0.7)))
    z = np.array([-1.0, 0.0, 1.0])
    dt, rate = market.dt, 140.0 * market.dt
    bid, ask = -np.expm1(-rate * (1 - 0.6 * z)), -np.expm1(-rate * (1 + 0.6 * z))
    printed = state.prints[:, 0]
    likelihood = (bid if printed[0] else 1 - bid) * (ask if printed[1] else 1 - ask)
    move = state.mid_return[0]  # no fee, jump or asset drift: the move is the flow's drift plus the shock
    likelihood = likelihood * np.exp(-((move - 10.0 * z * dt) ** 2) / (2 * 4.0 * dt))
    posterior = prior * likelihood / (prior * likelihood).sum()
    expected = posterior @ market.flow_step_transition
    np.testing.assert_allclose(state.belief, expected, rtol=1e-9)


def test_the_belief_finds_the_hidden_state_where_the_signal_is_strong_and_not_where_it_is_weak():
    def accuracy(market: Market) -> float:
        batch = MarketBatch(market, 2000, autoreset=False, track_belief=True)
        batch.reset(seed=11)
        hits = []
        for _ in range(100):
            batch.step(np.zeros((2000, 2), dtype=np.float32))
            state = batch.state
            hits.append((state.belief.argmax(axis=0) == state.flow).mean())
        return float(np.mean(hits[20:]))

    assert accuracy(make_market("informed_flow")) > 0.8
    assert accuracy(make_market("informed_flow_weak")) < 0.6


def test_one_book_steps_as_its_column_of_a_batch():
    market = flow_market()
    keys = market_keys(2, 3)
    batch = core.reset(market, keys, np.zeros(3, dtype=np.uint64), belief=True)
    single = core.reset(market, keys[1], np.uint64(0), belief=True)
    for _ in range(30):
        batch, _ = core.step(market, batch, core.Action.quotes(np.full((3, 1), 0.6), np.full((3, 1), 0.8)))
        single, _ = core.step(market, single, core.Action.quotes(np.full(1, 0.6), np.full(1, 0.8)))
    assert single.flow == batch.flow[1]
    np.testing.assert_array_equal(single.prints, batch.prints[..., 1])
    np.testing.assert_allclose(single.belief, batch.belief[:, 1], rtol=1e-12)


def test_the_flow_markets_observe_prints_and_mid_moves_and_the_belief_on_request():
    market = make_market("informed_flow")
    names = observation_names(market)
    public = {"sells_printed", "buys_printed", "mid_return", "print_imbalance", "mid_trend"}
    assert public <= set(names) and "flow_belief_0" not in names
    view = derived_interface(market, features=("prints", "flow_belief"))
    assert observation_names(view)[-3:] == ("flow_belief_0", "flow_belief_1", "flow_belief_2")
    batch = MarketBatch(view, 8)
    observation = batch.reset(seed=1)
    np.testing.assert_allclose(observation[:, -3:], np.tile(market.stationary_flow_distribution, (8, 1)), rtol=1e-6)
    observation = batch.step(np.zeros((8, 2), dtype=np.float32)).observation
    np.testing.assert_allclose(observation[:, -3:], batch.state.belief.T, rtol=1e-6)
    with pytest.raises(ValueError, match="'flow_belief' needs a market with informed flow"):
        derived_interface(make_market("default"), features=("flow_belief",))


def test_without_flow_folds_the_mean_direction_into_the_flow_and_drift():
    market = flow_market(switch_rates=((-1.0, 1.0, 0.0), (1.0, -3.0, 2.0), (0.0, 1.0, -1.0)))
    mean = float(market.stationary_flow_distribution @ np.array([-1.0, 0.0, 1.0]))
    assert mean == pytest.approx(0.25)  # stationary law (1, 1, 2)/4: the chain leans to the buyers
    blind = market.without_flow()
    intensity = 140.0
    np.testing.assert_allclose(
        blind.assets[0].side_intensities, (intensity * (1 - 0.6 * mean), intensity * (1 + 0.6 * mean)), rtol=1e-12
    )
    assert blind.assets[0].drift == pytest.approx(10.0 * mean) and blind.flow.count == 1


def test_the_filter_constants_use_every_instruments_covariance():
    market = Market(
        assets=(Asset(sigma=2.0),),
        hedges=(market_hedge := make_market("two_assets_hedged").hedges[0],),
        correlation=((1.0, 0.8), (0.8, 1.0)),
        flow=Flow((-1.0, 1.0), ((-1.0, 1.0), (1.0, -1.0)), drift=5.0),
        fill_rule="arrival",
    )
    assert market_hedge.sigma == 2.0
    evidence = flow_filter.flow_evidence(market)
    # w = Σ⁻¹·(1, 0)/dt: a hedge move that the asset's correlation explains is evidence against a flow drift
    sigma = np.array([[4.0, 3.2], [3.2, 4.0]])
    np.testing.assert_allclose(evidence.weights, np.linalg.solve(sigma, [1.0, 0.0]) / market.dt, rtol=1e-9)
    assert evidence.exposure == pytest.approx(np.linalg.inv(sigma)[0, 0] / market.dt)


def test_the_flow_signals_are_the_ewmas_of_the_prints_imbalance_and_the_mid_moves():
    market = make_market("informed_flow")
    state = core.reset(market, market_keys(4, 5), np.zeros(5, dtype=np.uint64), flow_signals=True)
    imbalance, trend = np.zeros((1, 5)), np.zeros((1, 5))
    for _ in range(25):
        state, _ = core.step(market, state, core.Action.quotes(np.full((5, 1), 0.6), np.full((5, 1), 0.6)))
        imbalance = 0.9 * imbalance + 0.1 * (1.0 * state.prints[0] - state.prints[1])
        trend = 0.9 * trend + 0.1 * state.mid_return
    np.testing.assert_allclose(state.print_imbalance, imbalance, rtol=1e-12)
    np.testing.assert_allclose(state.mid_trend, trend, rtol=1e-12)
