"""The one market specification: declared fields validated by their declarations, every preset a market, the
penalty's one form, and the one scales function for one asset and many."""

import dataclasses

import numpy as np
import pytest

from envs import Asset, HedgeInstrument, Market, Penalty, Regimes, list_presets, make_world, natural_scales
from envs.presets import MARKET_PRESETS, make_market, mean_variance_market
from envs.validation import field_table

ALL_PRESETS = sorted([*list_presets(), *MARKET_PRESETS])


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: Market(horizon=0.0), r"^horizon must be a finite number > 0; got 0.0$"),
        (lambda: Market(dt=0.3), r"^dt must divide horizon=1.0 into a whole number of steps; got 0.3$"),
        (
            lambda: Market(fill_rule="exact"),
            r"^fill_rule must be one of \('poisson', 'as2008', 'arrival'\); got 'exact'$",
        ),
        (lambda: Market(assets=[{"sigma": -1.0}]), r"^assets\[0\]: sigma must be a finite number ≥ 0; got -1.0$"),
        (lambda: Market(assets=[Asset(), {"max_inventory": 2.5}]), r"^assets\[1\]: max_inventory must be an integer"),
        (lambda: Market(assets=[{"sell_share": 1.2}]), r"sell_share must be a finite number in \[0, 1\]; got 1.2"),
        (
            lambda: Market(assets=[{"sizes": (1, 2), "size_probabilities": (0.5, 0.5), "max_inventory": 5}]),
            r"max_inventory must be a multiple of every size in \(1, 2\); got 5",
        ),
        (lambda: Market(assets=[{"initial_inventory": (3, -3)}]), r"initial_inventory must lie within ±max_inventory"),
        (lambda: Market(assets=[{"fill_curve": "linear"}]), r"fill_curve must be one of \('exponential', 'logistic'\)"),
        (lambda: Market(assets=[{"k": 1.0}]), r"^assets\[0\]: unknown Asset field\(s\) \['k'\]; accepted: \['s0'"),
        (
            lambda: Market(hedges=[{"lot": 2, "max_position": 5}]),
            r"^hedges\[0\]: max_position must be a multiple of lot",
        ),
        (lambda: Market(regimes={"scales": (1.0, 2.0)}), r"^regimes: switch_rates must be a 2×2 matrix"),
        (lambda: Market(regimes={"scales": (0.0,)}), r"^regimes: scales must be a list of at least 1 numbers > 0"),
        (lambda: Market(penalty={"terminal": -1.0}), r"^penalty: terminal must be a finite number ≥ 0; got -1.0$"),
        (lambda: Market(penalty={"volatility_scaled": 1}), r"^penalty: volatility_scaled must be true or false"),
        (lambda: Market(correlation=((1.0, 0.5), (0.5, 1.0))), r"^correlation must be a 1×1 matrix"),
        (
            lambda: Market(assets=(Asset(), Asset()), correlation=((1.0, 1.5), (1.5, 1.0))),
            r"^correlation must be positive semi-definite",
        ),
        (lambda: Market(assets=(Asset(sigma=0.0), Asset())), r"^assets\[0\].sigma must be > 0 in a market of several"),
        (lambda: Market().replace(volatility=1.0), r"^unknown market field\(s\) \['volatility'\]"),
        (lambda: make_market("dealer", gamma=1.0), r"^unknown market field\(s\) \['gamma'\]"),
        (
            lambda: make_market("three_bonds"),
            r"^unknown preset 'three_bonds'; accepted: \['as2008', 'begv2021', 'dealer'",
        ),
        (lambda: mean_variance_market(-1.0), r"^running must be a finite number ≥ 0; got -2.0$"),
        (
            lambda: Market(assets=[{"sizes": (0,)}]),
            r"sizes must be a list of at least 1 integers from 1 to 2,147,483,647 \(a step's fills are int32\); got \(0,\)",
        ),
        (lambda: Market(assets=[{"fill_slope": 0.0}]), r"fill_slope must be a finite number > 0; got 0.0"),
        (lambda: Market(assets=[{"initial_inventory": 11}]), r"initial_inventory must lie within ±max_inventory = ±10"),
        (
            lambda: Market(assets=(Asset(), Asset()), correlation=((1.0, 0.5), (0.4, 1.0))),
            r"^correlation must be symmetric",
        ),
        (
            lambda: Market(assets=(Asset(), Asset()), correlation=((2.0, 0.0), (0.0, 1.0))),
            r"^correlation must have a unit diagonal",
        ),
    ],
)
def test_a_bad_field_raises_naming_it_and_what_is_accepted(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize("kind", [Asset, HedgeInstrument, Regimes, Penalty, Market])
def test_every_field_declares_what_it_accepts_and_its_meaning(kind):
    table = field_table(kind)
    assert [row[0] for row in table] == [f.name for f in dataclasses.fields(kind)]
    for name, _unit, accepted, _default in table:
        assert accepted, name
        assert dataclasses.fields(kind)[[f.name for f in dataclasses.fields(kind)].index(name)].metadata["doc"], name


@pytest.mark.parametrize("preset", ALL_PRESETS)
def test_every_preset_is_a_market_that_survives_its_document(preset):
    market = make_market(preset)
    assert Market.from_document(market.document()) == market
    assert market.n_assets == (1 if preset in list_presets() or market.flow.count > 1 else 2)


def test_a_world_is_a_one_asset_market():
    world = make_world("hedged", fee=0.01, adverse_jump=0.1, sell_share=0.6, initial_inventory=(-2, 3))
    market = world.market
    (asset,), (hedge,) = market.assets, market.hedges
    assert (asset.fee, asset.adverse_jump, asset.sell_share, asset.inventory_bounds) == (0.01, 0.1, 0.6, (-2, 3))
    assert asset.side_intensities == pytest.approx(
        (2 * world.arrival_intensity * 0.6, 2 * world.arrival_intensity * 0.4)
    )
    assert (hedge.sigma, hedge.max_trade, hedge.spread_cost, hedge.s0) == (2.0, 2, 0.02, world.s0)
    np.testing.assert_allclose(market.risk_matrix, [[1.0, 0.9], [0.9, 1.0]])  # ρ = 0.9, σ₂ = σ₁ = 2
    assert market.n_steps == world.n_steps


@pytest.mark.parametrize("gamma", [0.5, 1.0, 3.0])
@pytest.mark.parametrize("preset", sorted(MARKET_PRESETS))
def test_the_penalty_has_one_form_phi_x_R_x_equal_to_the_mean_variance_gamma_half_x_sigma_x(preset, gamma):
    """``φ·xᵀRx`` with ``R = Σ/σ₁²`` is ``(γ/2)·xᵀΣx`` with ``γ = 2φ/σ₁²``, for a market built from γ."""
    fields = {name: value for name, value in MARKET_PRESETS[preset].items() if name != "penalty"}
    market = mean_variance_market(gamma, **fields)
    assert market.risk_aversion == pytest.approx(gamma, rel=1e-14)
    np.testing.assert_allclose(market.penalty_matrix, 0.5 * gamma * market.instrument_covariance, rtol=1e-14)
    positions = np.random.default_rng(0).integers(-5, 6, size=(10, market.n_instruments))
    charged = market.penalty.running * np.einsum("ni,ij,nj->n", positions, market.risk_matrix, positions)
    sigma = market.instrument_column("sigma")
    covariance = sigma[:, None] * np.asarray(market.correlation) * sigma[None, :]  # by hand
    hand = 0.5 * gamma * np.einsum("ni,ij,nj->n", positions, covariance, positions)
    np.testing.assert_allclose(charged, hand, rtol=1e-12)


def test_one_asset_of_a_book_has_the_scales_it_has_alone():
    """Each asset's scales are its own: two uncorrelated copies of the default world's asset (same σ, so R = I)
    each get exactly the one-asset world's scales; a correlation does not change them."""
    world = make_world("default")
    alone = natural_scales(world.market)
    for rho in (0.0, 0.6):
        book = world.market.replace(assets=world.market.assets * 2, correlation=((1.0, rho), (rho, 1.0)))
        scales = natural_scales(book)
        for name in ("skew_per_lot", "inventory_scale", "min_offset", "max_offset"):
            np.testing.assert_array_equal(scales[name], np.repeat(alone[name], 2), err_msg=name)
        assert scales["time_scale"] == alone["time_scale"]


def test_the_scales_hand_computed_for_a_one_asset_market():
    """A = 140, k = 1.5, φ = 1 > α/T = 0.5: λ = A/e, c = √(φ/(kλ)), std = √(1/(2kc)), reach = 1/k + 3·std·c."""
    scales = natural_scales(make_world("default").market)
    rate = 140.0 / np.e
    skew = np.sqrt(1.0 / (1.5 * rate))
    std = np.sqrt(1.0 / (2 * 1.5 * skew))
    reach = 1 / 1.5 + skew * 3 * std
    assert scales["skew_per_lot"][0] == pytest.approx(skew, rel=1e-14)
    assert scales["inventory_std"][0] == pytest.approx(std, rel=1e-14)
    assert scales["min_offset"][0] == pytest.approx(1 / 1.5 - 1.5 * reach, rel=1e-13)
    assert scales["max_offset"][0] == pytest.approx(1 / 1.5 + 2.0 * reach, rel=1e-13)
    # A ladder's fills overshoot by z̄ − 1 lots more (z̄ = Σp·z²/Σp·z), and drift, jumps and fees widen the reach.
    ladder = Market(
        assets=[{"sizes": (1, 3), "size_probabilities": (0.5, 0.5), "max_inventory": 30, "drift": 0.2, "fee": -0.01}],
        penalty={"running": 1.0},
    )
    scales = natural_scales(ladder)
    z_bar = (0.5 + 4.5) / (0.5 + 1.5)
    expected = 1 / 1.5 + scales["skew_per_lot"][0] * (scales["inventory_scale"][0] + z_bar - 1) + 0.2 + 0.01
    assert scales["reach"][0] == pytest.approx(expected, rel=1e-13)
