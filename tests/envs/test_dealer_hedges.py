"""The dealer's hedge-only instruments: validation, the trade's execution and cost by hand, accounting and
limits under adversarial actions, the mids' correlation, the adapters' layouts, and the hedged closed form."""

import dataclasses

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from baselines.closed_form import ClosedForm, ClosedFormHedged
from baselines.dealer_optimal import DealerOptimal
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
    assert dealer.residual_covariance == pytest.approx(np.array([[0.64]]))
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


def test_closed_form_hedged_quotes_the_residual_risk_and_beats_the_unhedged_closed_form():
    dealer = make_market("two_assets_hedged")
    assert ladder(dealer)[-1] == "closed_form_hedged" and "closed_form_hedged" not in ladder(make_market("two_assets"))
    hedged, plain = ClosedFormHedged(dealer), ClosedForm(dealer)
    inventory, tau = np.array([[3, 0], [2, -2]]), np.full(2, 0.5)
    # Its quotes are the closed form's for the dealer without hedges whose risk is the residual one: by hand,
    # Σ_qq − Σ_qh·Σ_hh⁻¹·Σ_hq = [[4, 2], [2, 4]] − [3.2, 3.2]ᵀ[3.2, 3.2]/4 = [[1.44, −0.56], [−0.56, 1.44]].
    rho = -0.56 / 1.44
    asset = dataclasses.replace(dealer.assets[0], sigma=1.2)
    residual = ClosedForm(
        mean_variance_market(assets=(asset, asset), correlation=((1, rho), (rho, 1)), risk_aversion=0.5, dt=0.005)
    )
    assert dealer.residual_covariance == pytest.approx(np.array([[1.44, -0.56], [-0.56, 1.44]]))
    assert np.allclose(hedged.quotes(inventory, tau, None), residual.quotes(inventory, tau, None))
    assert not np.allclose(hedged.quotes(inventory, tau, None), plain.quotes(inventory, tau, None))
    _, _, trade = hedged(inventory, np.array([[1], [0]]), tau)
    assert trade[:, 0].tolist() == [-3, 0]  # toward round(−0.8·3) = −2 from +1; −0.8·(2 − 2) = 0
    assert plain(inventory, np.zeros((2, 1), dtype=np.int64), tau)[2] is None
    # Without hedges it is the closed form exactly.
    unhedged = make_market("two_assets")
    assert np.array_equal(
        ClosedFormHedged(unhedged).quotes(inventory, tau, None), ClosedForm(unhedged).quotes(inventory, tau, None)
    )
    # Paired on 2,000 sessions: hedging at a fiftieth of the spread beats carrying the risk.
    policies = {
        name: (parse_spec(name), policy) for name, policy in (("closed_form", plain), ("closed_form_hedged", hedged))
    }
    results = {name: r.metrics for name, r in evaluate_policies(dealer, policies, 2000, 0, warn=False).items()}
    gap = results["closed_form_hedged"]["vs_closed_form"]  # policy − reference
    assert gap["ci95"][0] > 0 and results["closed_form_hedged"]["penalty"] < results["closed_form"]["penalty"]


def test_optimal_refuses_a_dealer_with_hedges():
    with pytest.raises(ValueError, match=r"optimal tabulates quoted inventories only; this dealer has 1 hedge"):
        DealerOptimal(make_market("two_assets_hedged"))


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
    assert config.evaluation.baselines[-2:] == ("optimal", "closed_form_hedged")  # the ladder of the dealer built
    with pytest.raises(
        ValueError, match=r"hedges\[0\]: unknown HedgeInstrument field\(s\) \['vol'\]; accepted: \['s0'"
    ):
        mean_variance_market(0.5, assets=({"sigma": 1.0},), hedges=({"vol": 1.0},))
    assert mean_variance_market(
        0.5, assets=({"sigma": 1.0, "sizes": [1, 2], "size_probabilities": [0.5, 0.5], "max_inventory": 4},)
    )
