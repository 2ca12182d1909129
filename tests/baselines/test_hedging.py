"""Rung 3's formulas: the closed form with a hedge leg (its Riccati equations) and the exact optimum with one,
checked in their limits (no hedge, a frictionless hedge, a perfect free hedge) and against each other and Monte
Carlo."""

import numpy as np
import pytest

from baselines import make_policy
from baselines.closed_form import ClosedForm
from envs import make_world
from envs.rollout import rollout

EPISODES = 2000


def rewards(world, policy, seed=123, episodes=EPISODES):
    return rollout(world, lambda o: policy.predict(o)[0], episodes, seed).reward


def test_optimum_with_a_hedge_that_cannot_trade_is_todays_optimum():
    hedged = make_world("hedged", hedge_max_trade=0, initial_inventory=(-3, 3))
    with_axis = make_policy("optimal", hedged)
    plain = make_policy("optimal", hedged.without_hedge())
    assert with_axis.expected_reward() == pytest.approx(plain.expected_reward(), rel=1e-12)
    q, t, v = np.arange(-10, 11), np.full(21, 0.4), np.full(21, 2.0)
    np.testing.assert_allclose(with_axis.quotes(q, t, v), plain.quotes(q, t, v), rtol=1e-12)


def test_the_closed_form_without_a_hedge_is_glft_in_the_small_risk_aversion_limit():
    """The scalar problem's stationary quotes are GLFT's (2013, eq. 4.6–4.7) with γσ²/2 = φ as γ → 0:
    ``δ_b = 1/k + (2q + 1)/2·c``, ``c = √(φ/(k·A·e⁻¹))``."""
    world = make_world("default", terminal_penalty=0.0)
    closed_form = make_policy("closed_form", world)
    q = np.arange(-5, 6)
    bid, ask = (side[:, 0] for side in closed_form.quotes(q[:, None], np.ones(q.size), None))
    gamma = 1e-5
    glft_world = world.replace(sigma=float(np.sqrt(2 * world.running_penalty / gamma)))
    glft_bid, glft_ask = make_policy("glft", glft_world, risk_aversion=gamma).quotes(
        q, np.ones(q.size), np.full(q.size, glft_world.sigma)
    )
    np.testing.assert_allclose(bid, glft_bid, rtol=2e-4)
    np.testing.assert_allclose(ask, glft_ask, rtol=2e-4)
    c = np.sqrt(world.running_penalty / (world.fill_decay * world.arrival_intensity / np.e))
    np.testing.assert_allclose(np.diff(bid), c, rtol=1e-9)


def test_the_closed_form_with_a_hedge_that_cannot_trade_quotes_as_without_one():
    hedged = make_world("hedged", hedge_max_trade=0)
    q, t = np.arange(-10, 11)[:, None], np.full(21, 0.3)
    np.testing.assert_allclose(
        make_policy("closed_form", hedged).quotes(q, t, None),
        make_policy("closed_form", hedged.without_hedge()).quotes(q, t, None),
    )


def test_the_closed_form_equals_the_backward_integration():
    """α = 0 with balanced flow uses the eigendecomposition; a negligible α forces the ODE solver: the two agree."""
    world = make_world("hedged", terminal_penalty=0.0)
    tau = np.arange(world.n_steps + 1) * world.dt
    closed, _ = ClosedForm(world).coefficients(tau)
    integrated, _ = ClosedForm(world.replace(terminal_penalty=1e-14)).coefficients(tau)
    np.testing.assert_allclose(closed, integrated, atol=1e-8)
    assert closed[0] == pytest.approx(np.zeros((2, 2)))


@pytest.mark.parametrize("rho", [0.9, 0.5, -0.7])
def test_frictionless_hedge_targets_minimum_variance_and_prices_only_basis_risk(rho):
    """η → 0: the hedge target ``−A₂₁/A₂₂·q₁`` tends to ``−ρσ₁/σ₂·q₁``, and the skew left at the target (the
    Schur complement ``A₁₁ − A₁₂²/A₂₂``) is the single-asset one with σ²(1 − ρ²), i.e. φ(1 − ρ²)."""
    world = make_world(
        "hedged", hedge_correlation=rho, hedge_sigma=3.0, hedge_impact=1e-9, hedge_spread_cost=0.0, terminal_penalty=0.0
    )
    tau = np.array([world.horizon])
    (a,), _ = ClosedForm(world).coefficients(tau)
    assert -a[1, 0] / a[1, 1] == pytest.approx(world.hedge_ratio, rel=1e-3)
    basis = world.without_hedge(1 - rho**2)
    (scalar,), _ = ClosedForm(basis).coefficients(tau)
    assert a[0, 0] - a[0, 1] ** 2 / a[1, 1] == pytest.approx(scalar[0, 0], rel=1e-3)


def test_optimal_frictionless_hedge_holds_the_minimum_variance_hedge():
    world = make_world("hedged", hedge_spread_cost=0.0, hedge_impact=0.0, hedge_max_trade=10)
    optimal = make_policy("optimal", world)
    q = np.arange(-8, 9)
    _, _, trade = optimal.decide(q, np.zeros(q.size, dtype=int), np.full(q.size, 0.5), np.full(q.size, 2.0))
    assert np.all(np.abs(trade - world.hedge_ratio * q) <= 1.0)  # within a lot of −ρσ₁/σ₂·q


@pytest.mark.parametrize("policy", ["optimal", "closed_form"])
def test_a_perfect_free_hedge_makes_the_quotes_independent_of_inventory(policy):
    """ρ = 1, no hedge cost and room to hedge everything: the book is flattened in the hedge, so the
    quotes are the same at every inventory. (Near the position limit Q the exact optimum still leans:
    there the limit, not the price risk, makes inventory costly; the limit here is out of reach.)"""
    world = make_world(
        "externalize",
        hedge_spread_cost=0.0,
        hedge_impact=0.0 if policy == "optimal" else 1e-9,
        max_inventory=30,
        hedge_max_position=40,
        hedge_max_trade=40,
        horizon=0.25,
    )
    built = make_policy(policy, world)
    q = np.arange(-6, 7)[:, None]
    tau = np.full(q.shape[0], 0.125)
    bid, ask, trade = built(q, np.zeros_like(q), tau)
    np.testing.assert_array_equal(trade, -q)
    np.testing.assert_allclose(bid, np.broadcast_to(bid[6], bid.shape), atol=1e-9)
    np.testing.assert_allclose(ask, np.broadcast_to(ask[6], ask.shape), atol=1e-9)
    # Without the hedge the same policy skews.
    plain_bid, _, _ = make_policy(policy, world.without_hedge())(q, None, tau)
    assert plain_bid[-1, 0] - plain_bid[0, 0] > 0.5


@pytest.mark.parametrize("preset", ["hedged", "externalize"])
def test_optimal_is_at_least_as_good_as_every_hedger(preset):
    world = make_world(preset)
    best = rewards(world, make_policy("optimal", world))
    for name in ("symmetric", "no_hedge", "full_hedge", "band_hedge", "closed_form", "glft"):
        difference = best - rewards(world, make_policy(name, world))  # paired on the same streams
        assert difference.mean() >= -3 * difference.std() / np.sqrt(EPISODES), name


def test_hedged_optimal_value_matches_monte_carlo():
    world = make_world("hedged", initial_inventory=(-3, 3))
    policy = make_policy("optimal", world)
    sample = rewards(world, policy, seed=7)
    assert abs(sample.mean() - policy.expected_reward()) < 4 * sample.std() / np.sqrt(EPISODES)


def test_hedged_preset_makes_partial_hedging_optimal():
    """The preset's costs: the optimum hedges some of its inventory but well short of −ρσ₁/σ₂, and beats
    both never hedging and always hedging fully."""
    world = make_world("hedged")
    result = rollout(world, lambda o: make_policy("optimal", world).predict(o)[0], 1000, 3)
    ratio = result.hedge_cross.sum() / result.inventory_square.sum()
    assert 0.2 < ratio / world.hedge_ratio < 0.8
