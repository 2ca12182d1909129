import numpy as np
import pytest

from baselines import calibrate_linear_skew, list_policies, make_policy
from baselines.registry import FLOW_POLICIES
from envs import action_to_quotes, make_world, regime_sigmas


def test_seed_worked_example_by_hand():
    world = make_world("worked_example")
    policy = make_policy("linear_skew", world, skew=0.01, half_spread=0.05, limit=30)
    mid = 100.0
    # Without a binding limit both sides are quoted around the centre 100 − 0.01·45 = 99.55.
    bid, ask = make_policy("linear_skew", world, skew=0.01, half_spread=0.05, limit=60).quotes(
        np.array([[45]]), np.array([0.5]), None
    )
    bid, ask = bid[:, 0], ask[:, 0]
    assert mid - bid[0] == pytest.approx(99.50) and mid + ask[0] == pytest.approx(99.60)
    # With the 30-lot limit at q ≥ 30 only the ask (the flattening side) is quoted.
    bid, ask = (side[:, 0] for side in policy.quotes(np.array([[29], [30], [45], [-30]]), np.zeros(4), None))
    assert np.isfinite(bid[0]) and np.isinf(bid[1]) and np.isinf(bid[2]) and np.isfinite(bid[3])
    assert np.isfinite(ask[:3]).all() and np.isinf(ask[3])
    assert mid + ask[2] == pytest.approx(99.60)


def test_symmetric_default_is_one_over_k():
    world = make_world("as2008")
    bid, ask, trade = make_policy("symmetric", world)(np.array([[-7], [0], [9]]), None, np.ones(3))
    assert bid.shape == (3, 1) and trade is None
    np.testing.assert_allclose(bid, 1 / 1.5)
    np.testing.assert_allclose(ask, 1 / 1.5)


@pytest.mark.parametrize(("q", "tau", "sigma"), [(0, 1.0, 2.0), (3, 0.5, 2.0), (-2, 0.25, 1.0), (5, 0.0, 2.0)])
def test_avellaneda_stoikov_by_hand(q, tau, sigma):
    gamma, k = 0.1, 1.5
    world = make_world("as2008")
    bid, ask = make_policy("avellaneda_stoikov", world, risk_aversion=gamma).quotes(
        np.array([q]), np.array([tau]), np.array([sigma])
    )
    spread = gamma * sigma**2 * tau + (2 / gamma) * np.log(1 + gamma / k)
    reservation = 100 - q * gamma * sigma**2 * tau
    assert bid[0] + ask[0] == pytest.approx(spread)
    assert (100 - bid[0] + 100 + ask[0]) / 2 == pytest.approx(reservation)


def test_avellaneda_stoikov_paper_numbers():
    # γ = 0.1, σ = 2, T − t = 1, k = 1.5: spread = 0.4 + 20·ln(1 + 1/15) = 1.6908…
    bid, ask = make_policy("avellaneda_stoikov", make_world("as2008")).quotes(
        np.array([0]), np.array([1.0]), np.array([2.0])
    )
    assert bid[0] + ask[0] == pytest.approx(0.4 + 20 * np.log(16 / 15))
    assert bid[0] + ask[0] == pytest.approx(1.69077, abs=1e-4)


def test_as_quotes_can_cross_the_mid():
    bid, ask = make_policy("avellaneda_stoikov", make_world("as2008"), risk_aversion=1.0).quotes(
        np.array([2]), np.array([1.0]), np.array([2.0])
    )
    assert ask[0] < 0  # long 2 lots: the ask sits below the mid


def test_glft_closed_form_by_hand():
    world = make_world("as2008")
    gamma, k, a, sigma = 0.1, 1.5, 140.0, 2.0
    c = np.sqrt(sigma**2 * gamma / (2 * k * a) * (1 + gamma / k) ** (1 + k / gamma))
    bid, ask = make_policy("glft", world, risk_aversion=gamma).quotes(np.array([2]), np.array([1.0]), np.array([2.0]))
    base = np.log(1 + gamma / k) / gamma
    assert bid[0] == pytest.approx(base + 2.5 * c) and ask[0] == pytest.approx(base - 1.5 * c)


def test_glft_adverse_selection_widens_by_half_the_jump():
    plain, toxic = make_world("default"), make_world("default", adverse_jump=0.2)
    args = (np.array([0]), np.array([1.0]), np.array([0.0]))  # σ = 0 isolates the ξ/2 term
    assert make_policy("glft", toxic).quotes(*args)[0][0] == pytest.approx(
        make_policy("glft", plain).quotes(*args)[0][0] + 0.1
    )


def test_glft_matches_glft_exact_near_flat_far_from_close():
    world = make_world("as2008", max_inventory=30)
    q = np.array([-1, 0, 1])
    args = (q, np.ones(3), np.full(3, 2.0))
    approx_bid, approx_ask = make_policy("glft", world).quotes(*args)
    exact_bid, exact_ask = make_policy("glft_exact", world).quotes(*args)
    np.testing.assert_allclose(approx_bid, exact_bid, atol=0.03)
    np.testing.assert_allclose(approx_ask, exact_ask, atol=0.03)


def test_glft_exact_respects_limit_and_is_symmetric():
    world = make_world("default")
    q = np.arange(-10, 11)
    bid, ask = make_policy("glft_exact", world).quotes(q, np.full(q.size, 0.5), np.full(q.size, 2.0))
    assert np.isinf(bid[-1]) and np.isinf(ask[0]) and np.isfinite(bid[:-1]).all()
    np.testing.assert_allclose(bid[:-1], ask[1:][::-1], atol=1e-9)


def test_cartea_jaimungal_reduces_to_one_over_k_without_penalties():
    world = make_world("as2008", max_inventory=200)
    policy = make_policy("cartea_jaimungal", world, running_penalty=0.0, terminal_penalty=0.0)
    bid, ask = policy.quotes(np.zeros(3), np.array([0.0, 0.5, 1.0]), np.full(3, 2.0))
    np.testing.assert_allclose(bid, 1 / 1.5, atol=1e-6)
    np.testing.assert_allclose(ask, 1 / 1.5, atol=1e-6)


def test_cartea_jaimungal_skews_against_inventory():
    world = make_world("default")
    bid, ask = make_policy("cartea_jaimungal", world).quotes(np.array([3]), np.array([0.5]), np.array([2.0]))
    assert bid[0] > 1 / 1.5 > ask[0]


def test_optimal_converges_to_cartea_jaimungal_as_dt_shrinks():
    errors = []
    for dt in (0.01, 0.001):
        world = make_world("default", dt=dt, max_inventory=5)
        q = np.arange(-4, 5)
        tau = np.full(q.size, 0.5)
        sigma = np.full(q.size, 2.0)
        opt_bid, opt_ask = make_policy("optimal", world).quotes(q, tau, sigma)
        cj_bid, cj_ask = make_policy("cartea_jaimungal", world).quotes(q, tau, sigma)
        errors.append(max(np.abs(opt_bid - cj_bid).max(), np.abs(opt_ask - cj_ask).max()))
    # first order in dt: the gap shrinks about tenfold from dt = 0.01 to 0.001
    assert errors[1] < 0.15 * errors[0] and errors[1] < 0.025


def test_optimal_without_penalty_is_symmetric_one_over_k():
    # Far from the position limit (at the limit one side cannot fill, which changes the quotes nearby).
    world = make_world("as2008", max_inventory=100)
    q = np.arange(-10, 11)
    bid, ask = make_policy("optimal", world).quotes(q, np.full(q.size, 0.7), np.full(q.size, 2.0))
    np.testing.assert_allclose(bid, 1 / 1.5, atol=1e-6)
    np.testing.assert_allclose(ask, 1 / 1.5, atol=1e-6)


def test_optimal_refuses_worlds_too_large_to_tabulate():
    with pytest.raises(ValueError, match="optimal cannot be built.*max_inventory"):
        make_policy("optimal", make_world("as2008", dt=1e-5, max_inventory=1000))


@pytest.mark.parametrize("preset", ["default", "toxic", "regimes", "as2008", "worked_example"])
def test_predict_and_quotes_agree(preset):
    world = make_world(preset)
    rng = np.random.default_rng(0)
    n = 64
    q = rng.integers(-world.max_inventory, world.max_inventory + 1, n)
    steps_left = rng.integers(1, world.n_steps + 1, n)
    regime = rng.integers(0, world.market.regimes.count, n)
    observation = np.stack(
        [
            q / world.inventory_unit,
            steps_left / world.n_steps,
            regime_sigmas(world)[regime] / regime_sigmas(world).max(),  # the observation's σ scale (σ > 0 here)
            1.0 / steps_left,  # close_proximity
        ],
        axis=1,
    ).astype(np.float32)
    for name in list_policies():
        if name in FLOW_POLICIES:  # bounds of markets with informed flow only
            continue
        policy = make_policy(name, world)
        actions, state = policy.predict(observation)
        assert state is None and actions.shape == (n, 2) and actions.dtype == np.float32
        bid, ask, _ = policy(q[:, None], None, steps_left * world.dt, regime)
        bid, ask = bid[:, 0], ask[:, 0]
        got_bid, got_ask, bid_quoted, ask_quoted = (side[:, 0] for side in action_to_quotes(world, actions))
        for expected, got, quoted in ((bid, got_bid, bid_quoted), (ask, got_ask, ask_quoted)):
            inside = expected < world.offset_range[1]
            np.testing.assert_array_equal(quoted, inside)
            clipped = np.clip(expected[inside], world.offset_range[0], None)
            np.testing.assert_allclose(
                got[inside], clipped, atol=1e-5 * (world.offset_range[1] - world.offset_range[0])
            )
        single, _ = policy.predict(observation[0])
        np.testing.assert_array_equal(single, actions[0])


def test_list_policies_and_bad_parameters():
    listed = list_policies()
    assert list(listed) == [
        "symmetric",
        "linear_skew",
        "linear_skew_calibrated",
        "avellaneda_stoikov",
        "glft",
        "glft_exact",
        "cartea_jaimungal",
        "per_asset",
        "closed_form",
        "no_hedge",
        "full_hedge",
        "band_hedge",
        "optimal",
        "filtered_closed_form",
        "full_information",
    ]
    assert listed["avellaneda_stoikov"]["risk_aversion"]["default"] == "0.1"
    world = make_world("default")
    with pytest.raises(ValueError, match="unknown policy 'greedy'"):
        make_policy("greedy", world)
    with pytest.raises(ValueError, match="unknown parameter.*'gamma'.*risk_aversion"):
        make_policy("avellaneda_stoikov", world, gamma=0.1)
    with pytest.raises(ValueError, match="'risk_aversion'.*> 0"):
        make_policy("avellaneda_stoikov", world, risk_aversion=0.0)
    with pytest.raises(ValueError, match="'limit'.*int"):
        make_policy("linear_skew", world, limit=2.5)
    with pytest.raises(ValueError, match="'skew'.*float"):
        make_policy("linear_skew", world, skew="big")
    with pytest.raises(ValueError, match="world must be"):
        make_policy("symmetric", "default")
    with pytest.raises(ValueError, match="'base' of policy 'full_hedge'.*unknown policy 'greedy'"):
        make_policy("full_hedge", world, base="greedy")
    with pytest.raises(ValueError, match="'base' of policy 'no_hedge' must be a quoting policy"):
        make_policy("no_hedge", world, base="band_hedge")
    with pytest.raises(ValueError, match="'base'.*non-empty name"):
        make_policy("no_hedge", world, base=3)
    with pytest.raises(ValueError, match="'fraction'.*in \\[0, 1\\]"):
        make_policy("band_hedge", world, fraction=1.5)


def test_calibrated_linear_skew_beats_symmetric_under_sell_heavy_flow():
    world = make_world("worked_example")
    params = calibrate_linear_skew(world, episodes=100, seed=0)
    assert params["skew"] > 0
    from envs.rollout import rollout

    def score(policy):
        return rollout(world, lambda o: policy.predict(o)[0], 1000, 10_000).reward

    tuned = score(make_policy("linear_skew", world, **params))
    symmetric = score(make_policy("symmetric", world))
    difference = tuned - symmetric  # paired: same streams, out-of-sample seeds
    assert difference.mean() > 4 * difference.std() / np.sqrt(difference.size)
