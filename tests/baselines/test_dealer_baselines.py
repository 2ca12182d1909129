"""The dealer's closed form against hand formulas, the single-asset Riccati baseline and its own ODE; the
two-asset optimum against every other policy and against Monte Carlo."""

import numpy as np
import pytest

from baselines import make_policy
from baselines.closed_form import ClosedForm, PerAsset
from baselines.joint_optimal import JointOptimal
from envs import make_world
from envs.interface import natural_scales
from envs.market import Asset, Penalty
from envs.presets import make_market, mean_variance_market
from envs.rollout import rule_rollout


def test_one_asset_closed_form_is_glft_asymptotic():
    """d = 1, exponential: ``δ_b = 1/k + (2q + 1)/2·c`` with ``c = √(σ²γ·e/(2kA))`` far from the close (GLFT 2013,
    eq. 4.6–4.7, small-γ Hamiltonian); the same policy quotes the single-asset world with that penalty."""
    sigma, gamma, k, intensity = 2.0, 0.5, 1.5, 140.0
    dealer = mean_variance_market(
        0.5, assets=(Asset(sigma=sigma, fill_decay=k, arrival_intensity=intensity, max_inventory=10),)
    )
    policy = ClosedForm(dealer)
    q = np.arange(-5, 6, dtype=np.float64)[:, None]
    c = np.sqrt(sigma**2 * gamma * np.e / (2 * k * intensity))
    bid, ask = policy.quotes(q, np.full(q.shape[0], 50.0), None)
    np.testing.assert_allclose(bid[:, 0], 1 / k + (2 * q[:, 0] + 1) / 2 * c, rtol=1e-12)
    np.testing.assert_allclose(ask[:, 0], 1 / k - (2 * q[:, 0] - 1) / 2 * c, rtol=1e-12)
    world = make_world("default", running_penalty=gamma * sigma**2 / 2, terminal_penalty=0.0)
    single = ClosedForm(world)
    for tau in (1.0, 0.3, 0.01):
        expected_bid, expected_ask = single.quotes(q, np.full(q.shape[0], tau), None)
        bid, ask = policy.quotes(q, np.full(q.shape[0], tau), None)
        np.testing.assert_allclose(bid, expected_bid, rtol=1e-9)
        np.testing.assert_allclose(ask, expected_ask, rtol=1e-9)


def test_uncorrelated_assets_factor_into_single_asset_quotes():
    first = Asset(sigma=1.0, drift=0.3, arrival_intensity=50.0, fill_decay=2.0)
    second = Asset(
        sigma=3.0, fill_curve="logistic", arrival_intensity=30.0, sizes=(1, 2), size_probabilities=(0.6, 0.4)
    )
    joint = ClosedForm(mean_variance_market(assets=(first, second), risk_aversion=0.7))
    rng = np.random.default_rng(0)
    inventory = rng.integers(-8, 9, size=(50, 2)).astype(float)
    tau = rng.uniform(0.0, 1.0, 50)
    bid, ask = joint.quotes(inventory, tau, None)
    for i, asset in enumerate((first, second)):
        alone = ClosedForm(mean_variance_market(assets=(asset,), risk_aversion=0.7))
        alone_bid, alone_ask = alone.quotes(inventory[:, i : i + 1], tau, None)
        np.testing.assert_allclose(bid[:, i], alone_bid[:, 0], rtol=1e-12)
        np.testing.assert_allclose(ask[:, i], alone_ask[:, 0], rtol=1e-12)


def test_coefficients_solve_the_riccati_equations():
    """``dA/dτ = (γ/2)Σ − 2·A·D₊·A`` and ``dB/dτ = −μ − 2·A·D₊·B`` (τ = T − t), ``A = B = 0`` at the close."""
    dealer = make_market("dealer", penalty=Penalty(running=0.5 * 3.0 * 0.3**2))  # γ = 3
    policy = ClosedForm(dealer)
    weights = np.diag(policy.weights)
    tau = np.array([0.05, 0.3, 0.8])
    h = 1e-6
    a, b = policy.coefficients(tau)
    a_up, b_up = policy.coefficients(tau + h)
    a_down, b_down = policy.coefficients(tau - h)
    da, db = (a_up - a_down) / (2 * h), (b_up - b_down) / (2 * h)
    expected_da = dealer.penalty_matrix - 2 * a @ weights @ a
    expected_db = -dealer.column("drift") - 2 * np.einsum("nij,jk,nk->ni", a, weights, b)
    np.testing.assert_allclose(da, expected_da, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(db, expected_db, rtol=1e-6, atol=1e-9)
    a0, b0 = policy.coefficients(np.zeros(1))
    assert not a0.any() and not b0.any()


def test_each_asset_leans_on_the_other_inventory():
    """With ρ > 0, a long position in asset 1 makes asset 0's bid deeper and its ask tighter; the per-asset
    comparator ignores it."""
    dealer = make_market("two_assets")
    inventory = np.array([[0.0, -5.0], [0.0, 0.0], [0.0, 5.0]])
    tau = np.full(3, 1.0)
    bid, ask = ClosedForm(dealer).quotes(inventory, tau, None)
    assert bid[0, 0] < bid[1, 0] < bid[2, 0]
    assert ask[0, 0] > ask[1, 0] > ask[2, 0]
    naive_bid, naive_ask = PerAsset(dealer).quotes(inventory, tau, None)
    assert naive_bid[0, 0] == naive_bid[1, 0] == naive_bid[2, 0]


@pytest.fixture(scope="module", params=["two_assets", "two_assets_regimes"])
def two_asset_ladder(request):
    """The ladder on 3,000 paired episodes; ``two_assets_regimes`` adds regimes (acting on both mids and, scaled by
    σ², on the penalty), fees and a terminal penalty, which the optimum models and the closed forms do not."""
    dealer = make_market(request.param)
    optimal = JointOptimal(dealer)
    keys = np.arange(3000, dtype=np.uint64) * 7919 + 5
    ladder = ("symmetric", "linear_skew", "avellaneda_stoikov", "glft", "per_asset", "closed_form")
    policies = {name: make_policy(name, dealer) for name in ladder} | {"optimal": optimal}
    return optimal, {name: rule_rollout(dealer, policy, keys).reward for name, policy in policies.items()}


def test_optimal_beats_every_policy_on_paired_episodes(two_asset_ladder):
    _, rewards = two_asset_ladder
    for name in ("symmetric", "linear_skew", "avellaneda_stoikov", "glft", "per_asset", "closed_form"):
        gap = rewards["optimal"] - rewards[name]
        assert gap.mean() > 3 * gap.std() / np.sqrt(gap.size), name
    assert rewards["symmetric"].mean() < rewards["per_asset"].mean()


def test_optimal_value_matches_monte_carlo(two_asset_ladder):
    optimal, rewards = two_asset_ladder
    realized = rewards["optimal"]
    assert abs(realized.mean() - optimal.expected_reward()) < 4 * realized.std() / np.sqrt(realized.size)


def test_optimal_refuses_what_it_cannot_tabulate():
    three = mean_variance_market(0.5, assets=(Asset(),) * 3)
    with pytest.raises(ValueError, match="optimal tabulates exactly two quoted assets.*has 3"):
        JointOptimal(three)
    huge = mean_variance_market(0.5, assets=(Asset(max_inventory=400), Asset(max_inventory=400)), dt=0.001)
    with pytest.raises(ValueError, match="grid has .* states, more than"):
        JointOptimal(huge)
    jumpy = make_market("two_assets").replace(assets=(Asset(adverse_jump=0.1), Asset()))
    with pytest.raises(ValueError, match=r"optimal does not model assets\[0\].adverse_jump yet"):
        JointOptimal(jumpy)
    regimes = make_market("two_assets_regimes")
    with pytest.raises(ValueError, match="optimal quotes by regime in a market with regimes"):
        JointOptimal(regimes.replace(dt=0.05)).quotes(np.zeros((1, 2), dtype=np.int64), np.array([1.0]), None)
    with pytest.raises(ValueError, match="arrival_intensity > 0 on every asset"):
        ClosedForm(mean_variance_market(0.5, assets=(Asset(), Asset(arrival_intensity=0.0))))


def test_avellaneda_stoikov_asset_by_asset_is_the_papers_formula():
    """q = 3, τ = 0.5, γ = 0.5, σ = 2, k = 1.5: γσ²τ = 1, half spread 0.5 + 2·ln(4/3), lean γσ²τ·q = 3; the
    default γ is A–S 2008's 0.1 in every market, as in a single-asset world."""
    dealer = make_market("two_assets")
    policy = make_policy("avellaneda_stoikov", dealer, risk_aversion=0.5)
    bid, ask = policy.quotes(np.array([[3, 0]]), np.array([0.5]), np.array([[2.0, 2.0]]))
    half = 0.5 + 2.0 * np.log(4.0 / 3.0)
    assert bid[0].tolist() == pytest.approx([half + 3.0, half], rel=1e-12)
    assert ask[0].tolist() == pytest.approx([half - 3.0, half], rel=1e-12)
    single = make_policy("avellaneda_stoikov", make_world("default"))
    assert make_policy("avellaneda_stoikov", dealer).params == single.params == {"risk_aversion": 0.1}
    with pytest.raises(ValueError, match=r"avellaneda_stoikov needs exponential fill curves .*assets \[0, 1\] are not"):
        make_policy("avellaneda_stoikov", make_market("dealer"))


def test_linear_skew_leans_each_asset_on_its_own_inventory_with_the_natural_slope():
    from baselines.linear_skew import LinearSkew
    from baselines.symmetric import Symmetric

    dealer = make_market("dealer")
    inventory = np.array([[0, 0], [4, -10], [20, -20]])
    bid, ask = LinearSkew(dealer).quotes(inventory, np.ones(3), None)
    symmetric_bid, _ = Symmetric(dealer).quotes(inventory[:1], np.ones(1), None)
    assert bid[0].tolist() == symmetric_bid[0].tolist()
    slope = natural_scales(dealer)["skew_per_lot"]
    assert (bid[1] - ask[1]).tolist() == pytest.approx((2 * slope * inventory[1]).tolist(), rel=1e-12)
    assert bid[2, 0] == np.inf and ask[2, 1] == np.inf  # at +Q no bid, at −Q no ask


def test_optimal_value_matches_monte_carlo_with_one_sided_flow_and_a_drawn_opening():
    """sell_share (the bid's flow is 2A·0.6), an opening inventory drawn from a range and regimes: the value,
    averaged over the openings and the stationary regime law, is what its own quotes earn."""
    regimes = make_market("two_assets_regimes", dt=0.02)
    first, second = regimes.assets
    market = regimes.replace(
        assets=(Asset(**{**first.__dict__, "sell_share": 0.6, "initial_inventory": (1, 6)}), second)
    )
    optimal = JointOptimal(market)
    realized = rule_rollout(market, optimal, np.arange(4000, dtype=np.uint64)).reward
    assert abs(realized.mean() - optimal.expected_reward()) < 4 * realized.std() / np.sqrt(realized.size)
    closed_form = rule_rollout(market, ClosedForm(market), np.arange(4000, dtype=np.uint64)).reward
    gap = realized - closed_form
    assert gap.mean() > 3 * gap.std() / np.sqrt(gap.size)
