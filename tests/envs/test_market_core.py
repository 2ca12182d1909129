"""The multi-asset core simulates every market feature: regimes, the terminal penalty, fees, adverse jumps,
``sell_share``, the binomial mid and a drawn opening inventory, hand-checked where the step is deterministic: the
same core that steps the single-asset worlds (their statistical equivalence to the single-asset core before
the two were one: ``benchmarks/market_equivalence.py``)."""

import dataclasses

import numpy as np

from envs import core, make_world
from envs.market import Asset, Market, Penalty, Regimes
from envs.presets import make_market


def run(market: Market, bid: float, ask: float, n: int = 4, steps: int | None = None):
    state = core.reset(market, np.arange(n, dtype=np.uint64), np.zeros(n, dtype=np.uint64))
    quotes = np.full((n, market.n_assets), bid), np.full((n, market.n_assets), ask)
    history = []
    for _ in range(steps or market.n_steps):
        previous = state
        state, outcome = core.step(market, state, core.Action.quotes(*quotes))
        history.append((previous, state, outcome))
    return history


def test_fees_jumps_and_the_bid_side_share_step_by_step():
    """σ = 0 and all flow selling (sell_share = 1, a huge A): the bid fills every step and the ask never; each fill
    pays δ − fee and the mid jumps down by ξ; the reward is the change in wealth less fees and penalty."""
    asset = Asset(sigma=0.0, sell_share=1.0, arrival_intensity=1e9, fee=0.01, adverse_jump=0.25, max_inventory=50)
    market = Market(assets=(asset,), penalty=Penalty(running=1.0, terminal=0.5), dt=0.25)
    history = run(market, bid=0.3, ask=0.3)
    for step, (before, after, outcome) in enumerate(history, start=1):
        np.testing.assert_array_equal(outcome.bid_fills[0], 1)
        np.testing.assert_array_equal(outcome.ask_fills[0], 0)
        np.testing.assert_array_equal(after.inventory[0], step)
        np.testing.assert_allclose(outcome.fees, 0.01)
        np.testing.assert_allclose(after.mid[0], before.mid[0] - 0.25)
        np.testing.assert_allclose(after.cash, before.cash - (before.mid[0] - 0.3) - 0.01)
        closing = 0.5 if step == market.n_steps else 0.0
        np.testing.assert_allclose(outcome.penalty, (1.0 * 0.25 + closing) * step**2)
        change = after.wealth - before.wealth
        np.testing.assert_allclose(outcome.reward, change - outcome.penalty, rtol=1e-12)
        np.testing.assert_allclose(outcome.reward, 0.3 - 0.01 - 0.25 * step - outcome.penalty, rtol=1e-12)


def test_binomial_mids_move_by_sigma_root_dt_scaled_by_the_regime():
    """Under the binomial mid each step moves ±s_r·σ·√dt exactly; a regime chain that never switches keeps the
    regime it opened in, drawn from the stationary law."""
    regimes = Regimes(scales=(0.5, 2.0), switch_rates=((0.0, 0.0), (0.0, 0.0)))
    market = Market(assets=(Asset(arrival_intensity=0.0),), regimes=regimes, mid_process="binomial", dt=0.01)
    history = run(market, 1.0, 1.0, n=64, steps=20)
    opening = history[0][0].regime
    assert set(opening.tolist()) == {0, 1}
    for before, after, _ in history:
        np.testing.assert_array_equal(after.regime, opening)
        moves = np.abs(after.mid[0] - before.mid[0])
        np.testing.assert_allclose(moves, np.array([0.5, 2.0])[opening] * 2.0 * 0.1, rtol=1e-12)


def test_the_opening_inventory_is_drawn_within_its_range_and_regimes_switch():
    market = Market(
        assets=(Asset(initial_inventory=(-3, 2)), Asset(initial_inventory=4)),
        correlation=((1.0, 0.3), (0.3, 1.0)),
        regimes=Regimes(scales=(1.0, 3.0), switch_rates=((-50.0, 50.0), (50.0, -50.0))),
    )
    state = core.reset(market, np.arange(6000, dtype=np.uint64), np.zeros(6000, dtype=np.uint64))
    counts = np.bincount(state.inventory[0] + 3, minlength=6)
    assert counts.size == 6 and counts.min() > 900  # six values, each about 1000 times
    np.testing.assert_array_equal(state.inventory[1], 4)
    history = run(market, 1.0, 1.0, n=200, steps=50)
    switched = sum(int(np.sum(after.regime != before.regime)) for before, after, _ in history)
    # P(switch in a step) = (1 − e^(−100·dt))/2 ≈ 0.197 at dt = 0.005: about 1,970 of 10,000 book-steps.
    assert 1700 < switched < 2250


def test_the_binomial_mid_keeps_the_first_asset_at_plus_or_minus_sigma_root_dt_beside_a_correlated_hedge():
    """As in the single-asset core: the quoted asset moves by exactly ±σ√dt, the hedge by ρ·s ± √(1 − ρ²)·σ₂√dt."""
    world = make_world("hedged", mid_process="binomial", arrival_intensity=0.0)
    market = world.market
    history = run(market, 1.0, 1.0, n=500, steps=5)
    step = world.sigma * np.sqrt(world.dt)
    rho = world.hedge_correlation
    hedge_moves = {round(x * step, 9) for x in (rho + np.sqrt(1 - rho**2), rho - np.sqrt(1 - rho**2))}
    hedge_moves |= {-move for move in hedge_moves}
    for before, after, _ in history:
        np.testing.assert_allclose(np.abs(after.mid[0] - before.mid[0]), step, rtol=1e-12)
        moves = np.round(after.hedge_mid[0] - before.hedge_mid[0], 9)
        assert set(moves.tolist()) == hedge_moves


def test_the_penalty_looks_up_the_risk_form_bit_for_bit_at_every_position_within_the_limits():
    # Two assets and a hedge: every one of the 21 × 21 × 41 positions, batched and as one book's scalars.
    market = make_market("two_assets_hedged")
    form, lookup = core.risk_form(market.risk_matrix), core.position_risk(market)
    limits = (10, 10, 20)
    rows = np.indices([2 * limit + 1 for limit in limits]).reshape(3, -1) - np.array(limits)[:, None]
    np.testing.assert_array_equal(lookup(*rows), form(*rows))
    rate = 0.37 * market.dt  # times the penalty's rate, as the step multiplies
    np.testing.assert_array_equal(core.position_risk(market, rate)(*rows), rate * form(*rows))
    corner = [np.int64(-limit) for limit in limits]
    assert lookup(*corner) == form(*corner) == form(*(np.array(corner, dtype=np.float64)))
    # One instrument keeps q² (one operation); a market past 2¹⁶ positions keeps the form.
    assert core.position_risk(make_world("default").market)(np.int64(-3)) == 9
    wide = market.replace(assets=tuple(dataclasses.replace(asset, max_inventory=200) for asset in market.assets))
    rows = np.array([[-200, 200, 7], [200, -200, -3], [-20, 20, 0]])
    np.testing.assert_array_equal(core.position_risk(wide)(*rows), core.risk_form(wide.risk_matrix)(*rows))
    np.testing.assert_array_equal(core.position_risk(wide, rate)(*rows), rate * core.risk_form(wide.risk_matrix)(*rows))
