"""Per-size quotes in the baselines: the closed form's quotes δ(t, q, z) and the exact optimum maximizing per size."""

import dataclasses

import numpy as np
import pytest

from baselines.closed_form import ClosedForm
from baselines.joint_optimal import JointOptimal
from envs.market import Penalty
from envs.presets import make_market
from envs.rollout import rule_rollout

KEYS = np.arange(1, 3001, dtype=np.uint64) * np.uint64(6_700_417)


def small_dealer(**overrides):
    """The dealer preset's two logistic assets with a ladder (1, 2) at (0.6, 0.4), Q = 6, 50 steps."""
    market = make_market("dealer")
    assets = tuple(
        dataclasses.replace(asset, sizes=(1, 2), size_probabilities=(0.6, 0.4), max_inventory=6, fee=0.002)
        for asset in market.assets
    )
    return market.replace(assets=assets, dt=0.02, **overrides)


def test_closed_form_quotes_each_size_at_its_greedy_best_response():
    """Brute force: each size's quote maximizes f(δ)·(δ − fee − (θ(x) − θ(x ± z·eᵢ))/z) over a fine grid, θ the
    closed form's quadratic value; a size that would pass the limit is pulled."""
    market = small_dealer(quote_rule="per_size")
    policy = ClosedForm(market)
    rng = np.random.default_rng(5)
    inventory = rng.integers(-6, 7, size=(12, 2))
    tau = rng.uniform(0.0, 1.0, size=12)
    bid, ask, _ = policy(inventory, None, tau)
    a, b = policy.coefficients(tau)
    grid = np.linspace(-0.3, 0.6, 90_001)

    def theta(n, x):
        return -x @ a[n] @ x - x @ b[n]

    for n in range(12):
        x = inventory[n].astype(np.float64)
        for i, asset in enumerate(market.assets):
            for k, z in enumerate(asset.sizes):
                for quotes, sign in ((bid, 1), (ask, -1)):
                    moved = x.copy()
                    moved[i] += sign * z
                    if abs(moved[i]) > asset.max_inventory:
                        assert np.isinf(quotes[n, i, k])
                        continue
                    marginal = (theta(n, x) - theta(n, moved)) / z + asset.fee
                    best = grid[np.argmax(asset.fill_shape(grid) * (grid - marginal))]
                    assert quotes[n, i, k] == pytest.approx(best, abs=2e-5), (n, i, z, sign)


def test_one_unit_size_and_an_exponential_curve_reduce_to_one_quote_per_side():
    """two_assets (exponential, every request one lot): the per-size rule changes nothing, to the last bit."""
    per_side = make_market("two_assets", dt=0.02)
    per_size = per_side.replace(quote_rule="per_size")
    assert per_size.quote_buckets == 1
    np.testing.assert_array_equal(JointOptimal(per_size).value, JointOptimal(per_side).value)
    closed = [ClosedForm(market) for market in (per_side, per_size)]
    inventory = np.array([[3, -2], [0, 0], [-10, 10]])
    np.testing.assert_array_equal(closed[0](inventory, None, np.ones(3))[0], closed[1](inventory, None, np.ones(3))[0])
    np.testing.assert_array_equal(
        rule_rollout(per_side, closed[0], KEYS[:500]).reward, rule_rollout(per_size, closed[1], KEYS[:500]).reward
    )


def test_the_optimum_per_size_beats_one_quote_per_side_and_matches_its_monte_carlo():
    per_side, per_size = (JointOptimal(small_dealer(quote_rule=rule)) for rule in ("per_side", "per_size"))
    assert per_size.offsets.shape[3] == 2 and per_side.offsets.shape[3] == 1
    # The per-size rule can quote every size alike: its optimum is at least the per-side one's, and here above it.
    assert per_size.expected_reward() > per_side.expected_reward() + 1e-3
    assert (per_size.value >= per_side.value - 1e-12).all()
    # At the open, flat: the larger size's bid is the wider (a fill of 2 lots costs more risk per lot).
    bids = per_size.offsets[0, 0, 0, :, 6, 6]
    assert bids[1] > bids[0]
    run = rule_rollout(per_size.market, per_size, KEYS)
    error = run.reward.std() / np.sqrt(len(KEYS))
    assert abs(run.reward.mean() - per_size.expected_reward()) < 4.0 * error


def test_the_optimum_tabulates_on_the_sizes_common_unit():
    """Doubling every size and limit and halving the penalty doubles the value, with the same quotes: the grid is
    on multiples of 2 lots."""
    base = small_dealer(quote_rule="per_size")
    doubled = base.replace(
        assets=tuple(
            dataclasses.replace(asset, sizes=(2, 4), max_inventory=12, fee=asset.fee) for asset in base.assets
        ),
        penalty=Penalty(running=base.penalty.running / 2, terminal=base.penalty.terminal / 2),
    )
    one, two = JointOptimal(base), JointOptimal(doubled)
    assert two.units == [2, 2] and two.value.shape == one.value.shape
    np.testing.assert_allclose(two.value, 2.0 * one.value, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(two.offsets, one.offsets, rtol=0, atol=1e-7)  # the search's tolerance
    # An opening off the even grid, or drawn from a range, reaches every integer: that asset's grid step is 1.
    odd = dataclasses.replace(doubled.assets[0], initial_inventory=1)
    ranged = dataclasses.replace(doubled.assets[1], initial_inventory=(-4, 4))
    assert (odd.inventory_unit, ranged.inventory_unit) == (1, 1)
    assert dataclasses.replace(doubled.assets[0], initial_inventory=-4).inventory_unit == 2


def test_begv2021_is_the_papers_market_on_its_inventory_grid():
    market = make_market("begv2021")
    assert market.quote_rule == "per_size" and market.quote_buckets == 4 and market.horizon == 7.0
    assert [asset.sizes for asset in market.assets] == [(6250, 12500, 18750, 25000)] * 2
    np.testing.assert_allclose(market.covariance, [[1.44, 0.36], [0.36, 0.36]])
    assert market.risk_aversion == pytest.approx(8e-6)
    optimum = JointOptimal(market.replace(dt=0.35))  # 20 steps: the grid, not the numbers
    assert optimum.value.shape[2:] == (25, 97) and optimum.units == [6250, 6250]
    assert optimum.offsets.shape[2:4] == (4, 4)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sizes", (6250, 12500, 18750, 40000), "must be a multiple of every size"),
        ("size_probabilities", (0.5, 0.3, 0.1, 0.05), "must sum to 1"),
    ],
)
def test_a_bad_ladder_names_its_field(field, value, message):
    asset = make_market("begv2021").assets[0]
    with pytest.raises(ValueError, match=f"{field}.*{message}|{message}"):
        dataclasses.replace(asset, **{field: value})


def test_policies_act_through_the_normalized_actions_when_assets_and_sizes_are_as_many():
    """Two assets and two sizes: per-size quotes (n, 2, 2) are not mistaken for per-side ones, and a per-side policy
    quotes every size alike."""
    from baselines import make_policy
    from envs import MarketBatch, spaces

    market = small_dealer(quote_rule="per_size")
    batch = MarketBatch(market, 3, autoreset=False)
    observation = batch.reset(keys=np.array([1, 2, 3], dtype=np.uint64))
    closed_form = ClosedForm(market)
    actions, _ = closed_form.predict(observation)
    assert actions.shape == (3, 8)
    state = batch.state
    bid, _, _ = closed_form(state.inventory.T, None, np.full(3, market.horizon))
    decoded = spaces.action_to_quotes(market, actions)[0]
    np.testing.assert_allclose(decoded, np.clip(bid, *market_range(market)), atol=1e-5)
    symmetric, _ = make_policy("symmetric", market).predict(observation)
    legs = symmetric.reshape(3, 2, 2, 2)  # (n, asset, size, side)
    np.testing.assert_array_equal(legs[:, :, 0], legs[:, :, 1])
    batch.step(actions)


def market_range(market):
    from envs.interface import interface_of

    low, high = np.array(interface_of(market).offset_range).T
    return low.min(), high.max()
