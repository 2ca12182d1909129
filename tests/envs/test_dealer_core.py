"""The dealer's world and core: validation, accounting, limits, fill and size frequencies, correlated mids,
common random numbers, and the logistic curve's best response."""

import numpy as np
import pytest
import scipy.optimize

from envs import core, market_keys
from envs.market import Asset
from envs.presets import make_market, mean_variance_market


def _random_quotes(rng, n, d, low=-0.5, high=2.0):
    bid, ask = rng.uniform(low, high, (n, d)), rng.uniform(low, high, (n, d))
    bid[rng.random((n, d)) < 0.1] = np.inf  # some sides pulled
    return bid, ask


@pytest.mark.parametrize("preset", ["two_assets", "dealer"])
def test_wealth_accounting_limits_and_sizes(preset):
    dealer = make_market(preset)
    rng = np.random.default_rng(3)
    n = 400
    state = core.reset(dealer, np.arange(n, dtype=np.uint64) + 11, 0)
    wealth = state.wealth.copy()
    total = np.zeros(n)
    sizes = {asset_index: set(asset.sizes) | {0} for asset_index, asset in enumerate(dealer.assets)}
    limits = dealer.column("max_inventory")
    scale = 1.0 / min(a.fill_decay if a.fill_curve == "exponential" else a.fill_slope for a in dealer.assets)
    for _ in range(dealer.n_steps):
        bid, ask = _random_quotes(rng, n, dealer.n_assets, -3 * scale, 3 * scale)
        before = state.inventory
        state, outcome = core.step(dealer, state, core.Action.quotes(bid, ask))
        total += outcome.reward + outcome.penalty
        assert np.all(np.abs(state.inventory.T) <= limits)
        assert np.array_equal(state.inventory, before + outcome.bid_fills - outcome.ask_fills)
        assert np.all(outcome.bid_fills.T[np.isinf(bid)] == 0)
        for i in range(dealer.n_assets):
            assert set(np.unique(outcome.bid_fills[i])) <= sizes[i]
            assert set(np.unique(outcome.ask_fills[i])) <= sizes[i]
        penalty = dealer.dt * np.einsum("in,ij,jn->n", state.inventory, dealer.penalty_matrix, state.inventory)
        np.testing.assert_allclose(outcome.penalty, penalty, rtol=1e-12)
    assert outcome.terminated.all()
    # Reward plus penalty is exactly the change in wealth marked to the mids.
    np.testing.assert_allclose(state.wealth - wealth, total, rtol=1e-9, atol=1e-9)
    assert np.abs(state.inventory).max() > 0


def test_one_book_of_a_batch_equals_that_book_alone():
    dealer = make_market("dealer")
    keys = np.arange(5, dtype=np.uint64) * 977 + 3
    batch = core.reset(dealer, keys, 0)
    alone = core.reset(dealer, keys[2:3], 0)
    for _ in range(30):
        bid = np.full((5, 2), 0.05)
        batch, batch_outcome = core.step(dealer, batch, core.Action.quotes(bid, bid))
        alone, alone_outcome = core.step(dealer, alone, core.Action.quotes(bid[2:3], bid[2:3]))
        assert batch_outcome.reward[2] == alone_outcome.reward[0]
    assert np.array_equal(batch.inventory[:, 2], alone.inventory[:, 0])


def test_fill_and_size_frequencies_match_the_ladder():
    """Poisson fills at λ·f(δ): a side fills with probability 1 − e^(−λ·f(δ)·dt), its size drawn from the ladder."""
    asset = Asset(sizes=(1, 2, 5), size_probabilities=(0.5, 0.3, 0.2), max_inventory=1000, arrival_intensity=60.0)
    dealer = mean_variance_market(assets=(asset,), risk_aversion=0.0, dt=0.01)
    n, steps = 20_000, 10
    state = core.reset(dealer, np.arange(n, dtype=np.uint64), 0)
    quote = np.full((n, 1), 0.4)
    fills = []
    for _ in range(steps):
        state, outcome = core.step(dealer, state, core.Action.quotes(quote, np.full((n, 1), np.inf)))
        fills.append(outcome.bid_fills[0])
    fills = np.concatenate(fills)
    chance = -np.expm1(-60.0 * np.exp(-1.5 * 0.4) * 0.01)
    filled = fills > 0
    se = np.sqrt(chance * (1 - chance) / fills.size)
    assert abs(filled.mean() - chance) < 4 * se
    for size, probability in zip(asset.sizes, asset.size_probabilities, strict=True):
        share = (fills[filled] == size).mean()
        assert abs(share - probability) < 4 * np.sqrt(probability * (1 - probability) / filled.sum())


def test_mids_move_with_drift_and_correlation():
    assets = (Asset(sigma=1.0, drift=2.0), Asset(sigma=3.0, drift=-1.0), Asset(sigma=0.5))
    correlation = ((1.0, 0.6, -0.3), (0.6, 1.0, 0.0), (-0.3, 0.0, 1.0))
    dealer = mean_variance_market(0.5, assets=assets, correlation=correlation, dt=0.01)
    n = 50_000
    state = core.reset(dealer, np.arange(n, dtype=np.uint64), 0)
    pulled = np.full((n, 3), np.inf)
    new, _ = core.step(dealer, state, core.Action.quotes(pulled, pulled))
    change = (new.mid - state.mid).T
    np.testing.assert_allclose(change.mean(axis=0), [0.02, -0.01, 0.0], atol=4 * 3.0 * 0.1 / np.sqrt(n))
    np.testing.assert_allclose(change.std(axis=0), [0.1, 0.3, 0.05], rtol=0.02)
    np.testing.assert_allclose(np.corrcoef(change.T), correlation, atol=0.02)


def test_logistic_best_response_and_myopic_half_spread_match_brute_force():
    asset = Asset(fill_curve="logistic", fill_shift=0.7, fill_slope=15.0)
    for marginal in (-0.05, 0.0, 0.02, 0.1):
        brute = scipy.optimize.minimize_scalar(
            lambda delta, p=marginal: -asset.fill_shape(delta) * (delta - p),
            bounds=(-1, 2),
            method="bounded",
            options={"xatol": 1e-12},
        ).x
        assert asset.best_response(marginal) == pytest.approx(brute, abs=1e-6)
    # The myopic half-spread (W₀(e^(−(1+α))) + 1)/β, with W₀ solved here from w·e^w = e^(−1.7).
    w = scipy.optimize.brentq(lambda w: w * np.exp(w) - np.exp(-1.7), 0.0, 1.0, xtol=1e-14)
    assert asset.best_response(0.0) == pytest.approx((w + 1.0) / 15.0, abs=1e-12)

    # H''(0) against a finite difference of H(p) = max_δ f(δ)(δ − p).
    def hamiltonian(p):
        delta = asset.best_response(p)
        return asset.fill_shape(delta) * (delta - p)

    h = 1e-3
    second = (hamiltonian(h) - 2 * hamiltonian(0.0) + hamiltonian(-h)) / h**2
    assert asset.hamiltonian_curvature() == pytest.approx(second, rel=1e-4)
    exponential = Asset(fill_decay=1.5)
    assert exponential.hamiltonian_curvature() == pytest.approx(1.5 / np.e)


def test_the_fills_expected_cash_counts_only_the_sizes_the_limit_lets_fill():
    dealer = make_market("dealer")  # sizes 1/2/5 at 0.5/0.3/0.2, Q = 20
    n = 200_000
    state = core.reset(dealer, market_keys(4, n), np.zeros(n, dtype=np.uint64))
    state.inventory[:] = [[18], [-20]]  # asset 0: a bid of 5 would pass +20; asset 1: at −20, no ask fills
    bid = np.full((n, 2), 0.05)
    ask = np.full((n, 2), 0.05)
    _, outcome = core.step(dealer, state, core.Action.quotes(bid, ask))
    chance = core.fill_probability(dealer, dealer.assets[0].side_intensities[0] * dealer.assets[0].fill_shape(0.05))
    # Per book: bids of asset 0 (sizes 1, 2 only) and 1 (all), asks of asset 0 (all); asset 1's asks none.
    expected = chance * 0.05 * ((0.5 + 0.6) + (0.5 + 0.6 + 1.0) + (0.5 + 0.6 + 1.0))
    standard_error = outcome.spread_captured.std() / np.sqrt(n)
    assert abs(outcome.spread_captured.mean() - expected) < 4 * standard_error
    assert abs(outcome.fill_noise.mean()) < 4 * standard_error
    np.testing.assert_allclose(outcome.spread_captured - outcome.fill_noise, expected, rtol=1e-12)
    assert outcome.variance_reduced_reward.std() < 0.02 * outcome.reward.std()  # the penalty still varies
