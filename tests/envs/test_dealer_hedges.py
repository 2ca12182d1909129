"""The dealer's hedge-only instruments: validation, the trade's execution and cost by hand, accounting and
limits under adversarial actions, the mids' correlation, the adapters' layouts, and the hedged closed form."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from baselines.closed_form import ClosedForm, PerAsset
from baselines.joint_optimal import JointOptimal
from envs import (
    ENV_ID,
    MarketMakingVecEnv,
    action_to_hedge,
    action_to_quotes,
    core,
    market_keys,
    observation_at,
    observation_names,
    quotes_to_action,
)
from envs.interface import interface_of
from envs.market import Asset, HedgeInstrument, Market
from envs.presets import make_market, mean_variance_market
from eval.evaluate import evaluate_policies, ladder
from eval.specs import parse_spec

ASSET = Asset(sigma=1.0, arrival_intensity=50.0, fill_decay=2.0, max_inventory=6)


def one_asset_one_hedge(rho=0.6, **hedge) -> Market:
    fields = {"sigma": 2.0, "spread_cost": 0.05, "impact": 0.001, "ticket_fee": 0.2, "max_trade": 4, "lot": 2}
    return mean_variance_market(
        assets=(ASSET,),
        hedges=(HedgeInstrument(**{**fields, "max_position": 8, **hedge}),),
        correlation=((1.0, rho), (rho, 1.0)),
        risk_aversion=0.4,
        horizon=1.0,
        dt=0.01,
    )


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: one_asset_one_hedge(max_trade=3), r"max_trade must be a multiple of lot=2; got 3"),
        (lambda: one_asset_one_hedge(max_position=5), r"max_position must be a multiple of lot=2; got 5"),
        (lambda: one_asset_one_hedge(sigma=0.0), r"sigma must be a finite number > 0; got 0.0"),
        (lambda: one_asset_one_hedge(impact=-1.0), r"impact must be a finite number ≥ 0"),
        (lambda: mean_variance_market(0.5, assets=(ASSET,), hedges=(HedgeInstrument(),)), None),
        (
            lambda: mean_variance_market(
                0.5, assets=(ASSET, ASSET), hedges=(HedgeInstrument(),), correlation=((1, 0.5), (0.5, 1))
            ),
            r"correlation must be a 3×3 matrix \(one row per quoted asset, then per hedge instrument\)",
        ),
        (
            lambda: mean_variance_market(0.5, assets=(ASSET,), hedges=("index",)),
            r"hedges must be a list of HedgeInstrument \(or mappings of their fields\); got \('index',\)",
        ),
    ],
)
def test_bad_hedge_fields_name_the_field(build, message):
    if message is None:
        assert build().n_hedges == 1  # correlation None: uncorrelated over every instrument
        return
    with pytest.raises(ValueError, match=message):
        build()


def test_minimum_variance_hedge_and_residual_risk_by_hand():
    dealer = one_asset_one_hedge(rho=0.6)
    # One asset (σ₁ = 1) and one hedge (σ₂ = 2): H = −ρσ₁/σ₂, residual variance σ₁²(1 − ρ²).
    assert dealer.min_variance_hedge == pytest.approx(np.array([[-0.3]]))
    assert dealer.penalty_matrix == pytest.approx(0.2 * np.array([[1.0, 1.2], [1.2, 4.0]]))


def test_a_hedge_trade_settles_at_the_mid_and_pays_its_costs_by_hand():
    dealer = one_asset_one_hedge()
    state = core.reset(dealer, market_keys(0, 3), np.zeros(3, dtype=np.uint64))
    pulled = np.full((3, 1), np.inf)  # no quote fills: the step is the trade alone
    requested = np.array([[4], [-6], [0]])  # the second asks past U = 4 and is clipped
    state, outcome = core.step(dealer, state, core.Action.quotes(pulled, pulled, requested))
    assert outcome.hedge_trade[0].tolist() == [4, -4, 0]
    # ψ·|u| + η·u²/dt + ticket: 0.05·4 + 0.001·16/0.01 + 0.2 = 2.0
    assert outcome.hedge_cost.tolist() == pytest.approx([2.0, 2.0, 0.0])
    assert state.cash.tolist() == pytest.approx([-400.0 - 2.0, 400.0 - 2.0, 0.0])
    assert state.hedge_position[0].tolist() == [4, -4, 0]
    change = state.hedge_mid[0] - 100.0
    assert outcome.hedge_pnl == pytest.approx(state.hedge_position[0] * change)
    assert outcome.penalty == pytest.approx(0.01 * 0.2 * 4.0 * state.hedge_position[0] ** 2)
    # At Q₂ = 8 a further buy of 4 from +6 is clipped to 2.
    state.hedge_position[0, 0] = 6
    _, outcome = core.step(dealer, state, core.Action.quotes(pulled, pulled, np.array([[4], [0], [0]])))
    assert outcome.hedge_trade[0, 0] == 2


def test_accounting_and_limits_hold_under_adversarial_actions():
    dealer = make_market("two_assets_hedged")
    n = 256
    rng = np.random.default_rng(3)
    env = MarketMakingVecEnv(n, dealer, reward="pnl")
    env.seed(1)
    env.reset()
    batch = env.batch
    wealth = batch.state.wealth.copy()
    total = np.zeros(n)
    most, limit = dealer.hedges[0].max_trade, dealer.hedges[0].max_position
    for _ in range(dealer.n_steps - 1):
        action = rng.uniform(-1.5, 1.5, (n, 5)).astype(np.float32)
        action[:, 4] = rng.choice([-1.0, 1.0, 0.3], n)  # large trades both ways, often at the limit
        _, reward, _, infos = env.step(action)
        trade = np.array([info["hedge_trade"] for info in infos])
        assert np.all(np.abs(trade) <= most) and np.all(np.abs(batch.state.hedge_position) <= limit)
        parts = [
            info["spread_captured"] + info["inventory_pnl"] + info["hedge_pnl"] - info["hedge_cost"] - info["penalty"]
            for info in infos
        ]
        np.testing.assert_allclose(reward, parts, rtol=1e-5, atol=1e-4)
        total += np.array(
            [info["spread_captured"] + info["inventory_pnl"] + info["hedge_pnl"] - info["hedge_cost"] for info in infos]
        )
    # The reward before the penalty is exactly the change in wealth marked to every mid.
    np.testing.assert_allclose(batch.state.wealth - wealth, total, rtol=1e-9, atol=1e-8)
    assert np.abs(batch.state.hedge_position).max() == limit


def test_hedge_mid_moves_with_the_quoted_mids_correlation():
    dealer = one_asset_one_hedge(rho=-0.7, impact=0.0)
    n = 20_000
    state = core.reset(dealer, market_keys(0, n), np.zeros(n, dtype=np.uint64))
    pulled = np.full((n, 1), np.inf)
    after, _ = core.step(dealer, state, core.Action.quotes(pulled, pulled))
    quoted = after.mid[0] - state.mid[0]
    hedge = after.hedge_mid[0] - state.hedge_mid[0]
    assert np.corrcoef(quoted, hedge)[0, 1] == pytest.approx(-0.7, abs=0.02)  # ±0.02 ≈ 3 standard errors
    assert hedge.std() == pytest.approx(2.0 * np.sqrt(dealer.dt), rel=0.03)


def test_adapters_lay_out_the_hedges_after_the_quotes():
    dealer = make_market("two_assets_hedged")
    env = gym.make(ENV_ID, world="two_assets_hedged")
    check_env(env.unwrapped, skip_render_check=True)
    observation, _ = env.reset(seed=0)
    names = observation_names(dealer)
    assert names[:5] == ("inventory_0", "inventory_1", "time_to_close", "volatility", "hedge_position")
    assert env.action_space.shape == (5,) and observation.shape == (len(names),)
    assert observation[:5].tolist() == [0.0, 0.0, 1.0, 1.0, 0.0]
    assert env.observation_space.high[4] == pytest.approx(20 / interface_of(dealer).hedge_unit[0])
    action = np.array([[0.0, 0.0, 0.0, 0.0, 0.5], [0.0, 0.0, 0.0, 0.0, -1.0]])
    bid, ask, _, _ = action_to_quotes(dealer, action)
    assert action_to_hedge(dealer, action)[:, 0].tolist() == [2, -5]  # round(0.5·5) = 2 (to even), −U
    assert action_to_hedge(make_market("two_assets"), action[:, :4]).shape == (2, 0)
    assert np.array_equal(bid[0], bid[1]) and np.array_equal(ask[0], ask[1])  # the hedge entry moves no quote
    back = quotes_to_action(dealer, bid, ask, np.array([[2], [-5]]))
    assert np.allclose(back[:, 4], [0.4, -1.0])
    hedged = observation_at(dealer, np.zeros((1, 2)), np.ones(1), 0, np.array([[4]]))
    assert hedged[0, 4] == pytest.approx(4 / interface_of(dealer).hedge_unit[0])
    _, _, _, _, info = env.step(np.array([0, 0, 0, 0, 1.0], dtype=np.float32))
    assert info["hedge_trade"] == 5 and info["hedge_position"] == 5 and info["hedge_cost"] > 0


def test_the_closed_form_hedges_at_the_dead_zone_rate_and_beats_the_correlation_blind_closed_form():
    """With hedge instruments the closed form's value holds the hedges too: a hedge trades at the dead-zone rate
    ``sign(p)·(|p| − ψ)₊/(2η)·dt`` (capped at the zone's edge), ``p = −2(A·x)ⱼ − Bⱼ``, and the quotes lean on the
    post-trade positions; ``per_asset`` (no correlation) never hedges, only unwinds. Paired on 2,000 sessions, hedging wins."""
    dealer = make_market("two_assets_hedged")
    assert "closed_form" in ladder(dealer) and not any("hedged" in name for name in ladder(dealer))
    policy = ClosedForm(dealer)
    inventory, held, tau = np.array([[6, 0], [2, -2], [0, 0]]), np.array([[0], [0], [3]]), np.full(3, 0.5)
    a, b = policy.coefficients(tau)
    assert a.shape == (3, 3, 3) and b.shape == (3, 3)
    x = np.concatenate([inventory, held], axis=1).astype(float)
    marginal = -2.0 * np.einsum("nj,nj->n", a[:, 2], x) - b[:, 2]
    hedge = dealer.hedges[0]
    rate = np.sign(marginal) * np.maximum(np.abs(marginal) - hedge.spread_cost, 0.0)
    expected = np.rint(rate * np.minimum(dealer.dt / (2 * hedge.impact), 1 / (2 * a[:, 2, 2])) / hedge.lot) * hedge.lot
    bid, ask, trade = policy(inventory, held, tau)
    np.testing.assert_array_equal(trade[:, 0], np.clip(expected, -hedge.max_trade, hedge.max_trade))
    assert trade[0, 0] < 0 and trade[2, 0] < 0  # long the assets, or long the index alone: sell the index
    after = np.concatenate([inventory, held + trade], axis=1).astype(float)
    lean = 2.0 * np.einsum("nij,nj->ni", a[:, :2], after) + b[:, :2]
    base = np.diagonal(a, axis1=1, axis2=2)[:, :2]
    np.testing.assert_allclose(bid, base + lean + 1 / dealer.column("fill_decay"), rtol=1e-12)
    np.testing.assert_allclose(ask, base - lean + 1 / dealer.column("fill_decay"), rtol=1e-12)
    blind = PerAsset(dealer)(inventory, held, tau)[2][:, 0]
    assert blind[0] == blind[1] == 0 and blind[2] < 0  # no hedging; a held index is only risk, and it unwinds it
    # Without hedges the value is the quoted assets' alone.
    assert ClosedForm(make_market("two_assets")).coefficients(tau)[0].shape == (3, 2, 2)
    policies = {
        name: (parse_spec(name), cls(dealer)) for name, cls in (("closed_form", ClosedForm), ("per_asset", PerAsset))
    }
    results = {name: r.metrics for name, r in evaluate_policies(dealer, policies, 2000, 0, warn=False).items()}
    gap = results["per_asset"]["vs_closed_form"]  # policy − reference
    assert gap["ci95"][1] < 0 and results["closed_form"]["net_risk_mean"] < results["per_asset"]["net_risk_mean"]


def test_optimal_refuses_a_dealer_with_hedges():
    with pytest.raises(ValueError, match=r"optimal tabulates quoted inventories only; this market has 1 hedge"):
        JointOptimal(make_market("two_assets_hedged"))


def test_assets_and_hedges_may_come_as_mappings_of_their_fields():
    from train.config import load_config, world_of

    config = load_config(
        None,
        [
            "world.preset=two_assets",
            "world.overrides.hedges=[{sigma: 2.0, spread_cost: 0.013, impact: 0.00002, max_trade: 5}]",
            "world.overrides.correlation=[[1, 0.5, 0.8], [0.5, 1, 0.8], [0.8, 0.8, 1]]",
        ],
    )
    assert world_of(config) == make_market("two_assets_hedged")
    assert config.evaluation.baselines[-2:] == ("closed_form", "optimal")  # the ladder of the market built
    with pytest.raises(
        ValueError, match=r"hedges\[0\]: unknown HedgeInstrument field\(s\) \['vol'\]; accepted: \['s0'"
    ):
        mean_variance_market(0.5, assets=({"sigma": 1.0},), hedges=({"vol": 1.0},))
    assert mean_variance_market(
        0.5, assets=({"sigma": 1.0, "sizes": [1, 2], "size_probabilities": [0.5, 0.5], "max_inventory": 4},)
    )
