"""Named worlds, as data. ``make_world(preset, **overrides)`` is the one way to build a world from them."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from envs.interface import Interface
from envs.market import Asset, Flow, HedgeInstrument, Market, Penalty, Regimes
from envs.world import World, check_field_names, field_names

# Avellaneda & Stoikov (2008), section 4: s0 = 100, T = 1, σ = 2, dt = 0.005, A = 140, k = 1.5,
# literal fill rule clip(λ·dt), binomial mid ±σ√dt, no penalty. The explicit offset range reproduces
# the paper: it is wide because the A–S quotes at γ = 1 sit several price units through the mid.
# Worlds built on it without a range of their own (default, toxic, regimes) derive theirs.
_AS2008 = dict(
    s0=100.0,
    sigma=2.0,
    horizon=1.0,
    dt=0.005,
    arrival_intensity=140.0,
    fill_decay=1.5,
    fill_rule="as2008",
    mid_process="binomial",
    max_inventory=50,
    min_offset=-12.0,
    max_offset=12.0,
)

_DERIVED = {"min_offset": None, "max_offset": None}

PRESETS: dict[str, dict[str, Any]] = {
    "as2008": _AS2008,
    # The world trained on by default: as2008's market with exact Poisson fills, a Gaussian mid,
    # a running inventory penalty and a position limit, so that inventory control decides the score.
    # No offset range or inventory scale is set: they are derived from the world (World.offset_range),
    # so a user's override of k, A, φ or Q rescales them too.
    "default": {
        **_AS2008,
        **_DERIVED,
        "fill_rule": "poisson",
        "mid_process": "gaussian",
        "max_inventory": 10,
        "running_penalty": 1.0,
        "terminal_penalty": 0.5,
    },
    # The seed's worked example: a static-ish mid near 100, 60/40 sell-heavy flow, fills sensitive to
    # a few hundredths of a price unit, about one fill a step, so a 0.05 half-spread and a 0.01-per-lot
    # skew matter; a small running penalty prices the inventory risk the seed warns of; the position
    # limit is the policy's, the world's cap is far away.
    "worked_example": {
        **_AS2008,
        "sigma": 0.5,
        "arrival_intensity": 120.0,
        "fill_decay": 2.0,
        "sell_share": 0.6,
        "max_inventory": 100,
        "running_penalty": 0.05,
        "min_offset": -1.0,
        "max_offset": 2.0,
    },
    # Adverse selection: the mid jumps ξ against the maker after every fill (Guéant et al. 2013, §5).
    "toxic": {
        **_AS2008,
        **_DERIVED,
        "fill_rule": "poisson",
        "mid_process": "gaussian",
        "max_inventory": 10,
        "running_penalty": 1.0,
        "terminal_penalty": 0.5,
        "adverse_jump": 0.25,
    },
    # Observed volatility regimes: calm (σ = 1) and stressed (σ = 4), switching on the session's scale;
    # the running penalty scales with σ², so holding inventory costs 16 times more when stressed.
    "regimes": {
        **_AS2008,
        **_DERIVED,
        "fill_rule": "poisson",
        "mid_process": "gaussian",
        "max_inventory": 10,
        "running_penalty": 1.0,
        "volatility_scaled_penalty": True,
        "terminal_penalty": 0.5,
        "regime_scales": (0.5, 2.0),
        "regime_switch_rates": ((-2.0, 2.0), (4.0, -4.0)),
    },
}
# Rung 3: the default market plus a correlated instrument the maker can trade but does not quote
# (ρ = 0.9, σ₂ = σ₁, up to 2 lots a step, |q₂| ≤ 10). Its costs (half-spread ψ = 0.02, impact η =
# 0.0005: a 1-lot trade costs 0.12, a 2-lot one 0.44) make partial hedging optimal: the optimum holds
# about half the minimum-variance hedge, skewing the rest away (benchmarks/hedged.py prints it).
PRESETS["hedged"] = {
    **PRESETS["default"],
    "hedge_sigma": 2.0,
    "hedge_correlation": 0.9,
    "hedge_max_trade": 2,
    "hedge_lot": 1,
    "hedge_max_position": 10,
    "hedge_spread_cost": 0.02,
    "hedge_impact": 0.0005,
}
# Externalizing: the same asset (ρ = 1) traded on an inter-dealer venue at a cost: the dealer's choice
# between skewing the quotes and paying to offload (ψ = 0.1, η = 0.0002).
PRESETS["externalize"] = {
    **PRESETS["hedged"],
    "hedge_correlation": 1.0,
    "hedge_spread_cost": 0.1,
    "hedge_impact": 0.0002,
}


def list_presets() -> list[str]:
    """Names of the preset worlds."""
    return sorted(PRESETS)


def make_world(preset: str | None = None, **overrides: Any) -> World:
    """Build a validated world from a preset (``None``: the dataclass defaults) and field overrides.

    Raises ``ValueError`` naming an unknown preset, an unknown field, or an invalid value.
    """
    if preset is not None and preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; accepted: {list_presets()}")
    check_field_names(overrides)
    fields = dict(PRESETS[preset]) if preset is not None else {}
    fields.update(overrides)
    return World(**fields)


def resolve_world(world: str | World | None, **overrides: Any) -> World:
    """A world from a preset name or a ``World`` (``None``: the ``default`` preset), with overrides."""
    if isinstance(world, World):
        return world.replace(**overrides) if overrides else world
    if world is not None and not isinstance(world, str):
        raise ValueError(f"world must be a preset name from {list_presets()} or a World; got {world!r}")
    return make_world(world or "default", **overrides)


def _mean_variance(risk_aversion: float, sigma: float) -> Penalty:
    """The running penalty ``(γ/2)·xᵀΣx`` [γ in 1/price] as the market's ``φ·xᵀRx``: ``φ = γσ₁²/2``, σ₁ the first
    asset's volatility [price/√time]."""
    return Penalty(running=0.5 * risk_aversion * sigma**2)


def mean_variance_market(risk_aversion: float, **fields: Any) -> Market:
    """A market whose running penalty is the mean-variance ``(γ/2)·xᵀΣx`` with ``γ = risk_aversion`` [1/price]
    (``Market.risk_aversion`` reads it back); ``fields`` are any other ``Market`` fields."""
    if "penalty" in fields:
        raise ValueError("mean_variance_market sets the penalty from risk_aversion; give one or the other")
    market = Market(**fields)
    return market.replace(penalty=_mean_variance(risk_aversion, market.assets[0].sigma))


# Multi-asset markets (a dealer's book), as Market fields. Their penalties are mean-variance, (γ/2)·xᵀΣx, written
# in the market's one form φ·xᵀRx with φ = γσ₁²/2 (``_mean_variance``).
#
# Two correlated copies of the default market (σ = 2, A = 140, k = 1.5, Q = 10, 200 steps) at ρ = 0.5, with
# γ = 0.5 so that each asset alone pays φ = γσ²/2 = 1, the default world's running penalty: unit-free and
# small enough (21 × 21 inventories) for the exact optimum.
_TWO_ASSETS_ASSET = Asset(s0=100.0, sigma=2.0, arrival_intensity=140.0, fill_decay=1.5, max_inventory=10)
# A dealer in two correlated bonds, in the shape of Bergault, Evangelista, Guéant & Vieira (2021)'s numerical
# section: logistic RFQ curves (α = 0.7, β = 15 per price unit: a myopic half-spread of 0.077; 30 requests a day
# per side), a size ladder, drift and limits; time in days, prices per 100 of face value. The parameters are
# this project's, not copied from the paper's tables (which were not available to check against).
_BOND_LADDER = {"sizes": (1, 2, 5), "size_probabilities": (0.5, 0.3, 0.2), "max_inventory": 20}
_BOND = {"fill_curve": "logistic", "arrival_intensity": 30.0, "fill_shift": 0.7, "fill_slope": 15.0}

# A liquid index the two_assets dealer can trade but not quote: correlated 0.8 with each asset, a fiftieth of
# the quoted half-spread (1/k) as its own half-spread, a little impact (5 lots in one step cost 0.1 in impact).
_INDEX = HedgeInstrument(sigma=2.0, spread_cost=0.013, impact=2e-5, max_trade=5, max_position=20)

MARKET_PRESETS: dict[str, dict[str, Any]] = {
    "two_assets": {
        "assets": (_TWO_ASSETS_ASSET, _TWO_ASSETS_ASSET),
        "correlation": ((1.0, 0.5), (0.5, 1.0)),
        "penalty": _mean_variance(0.5, 2.0),
        "horizon": 1.0,
        "dt": 0.005,
    },
    "two_assets_hedged": {
        "assets": (_TWO_ASSETS_ASSET, _TWO_ASSETS_ASSET),
        "hedges": (_INDEX,),
        "correlation": ((1.0, 0.5, 0.8), (0.5, 1.0, 0.8), (0.8, 0.8, 1.0)),
        "penalty": _mean_variance(0.5, 2.0),
        "horizon": 1.0,
        "dt": 0.005,
    },
    # What neither half could express before the one market: two_assets with fees (a hundredth per lot, 1.5 % of the
    # myopic half-spread), the regimes preset's calm and stressed volatility (σ × 0.5 and × 2, switching on the
    # session's scale, acting on both mids) with the mean-variance penalty scaled by σ², and a terminal penalty.
    # Small enough for the exact optimum over (step, regime, q₁, q₂).
    "two_assets_regimes": {
        "assets": (Asset(**{**_TWO_ASSETS_ASSET.__dict__, "fee": 0.01}),) * 2,
        "correlation": ((1.0, 0.5), (0.5, 1.0)),
        "regimes": Regimes(scales=(0.5, 2.0), switch_rates=((-2.0, 2.0), (4.0, -4.0))),
        "penalty": Penalty(running=0.5 * 0.5 * 2.0**2, terminal=0.5, volatility_scaled=True),
        "horizon": 1.0,
        "dt": 0.005,
    },
    "dealer": {
        "assets": (
            Asset(sigma=0.3, drift=0.05, **_BOND, **_BOND_LADDER),
            Asset(sigma=0.2, drift=-0.03, **_BOND, **_BOND_LADDER),
        ),
        "correlation": ((1.0, 0.7), (0.7, 1.0)),
        "penalty": _mean_variance(1.0, 0.3),
        "horizon": 1.0,
        "dt": 0.01,
    },
}
# Bergault, Evangelista, Guéant & Vieira (2021), §6, in the paper's own units: euros, days and assets (a lot is one
# asset). Two assets at 100 €, drifts ±0.1 €/day, σ = 1.2 and 0.6 €/√day at ρ = 0.5; requests for quotes at 30 a
# day per side, filling with 1/(1 + e^(0.7 + 30·δ)) (δ in € per asset); sizes of 6,250 to 25,000 assets; limits
# 75,000 and 300,000; the running penalty (γ/2)·qᵀΣq at γ = 8·10⁻⁶ €⁻¹, no terminal penalty; 7 days. The dealer
# answers each request knowing its size (the per-size rule). The step is ours: benchmarks/begv2021.py shows that
# halving it moves neither strategy's mean P&L by more than a standard error.
_BEGV_RFQ = {
    "fill_curve": "logistic",
    "arrival_intensity": 30.0,
    "fill_shift": 0.7,
    "fill_slope": 30.0,
    "sizes": (6250, 12500, 18750, 25000),
    "size_probabilities": (0.534, 0.350, 0.097, 0.019),
}
MARKET_PRESETS["begv2021"] = {
    "assets": (
        Asset(s0=100.0, sigma=1.2, drift=0.1, max_inventory=75_000, **_BEGV_RFQ),
        Asset(s0=100.0, sigma=0.6, drift=-0.1, max_inventory=300_000, **_BEGV_RFQ),
    ),
    "correlation": ((1.0, 0.5), (0.5, 1.0)),
    "penalty": _mean_variance(8e-6, 1.2),
    "horizon": 7.0,
    "dt": 0.007,
    "quote_rule": "per_size",
}
# Informed flow (issue 31): the default market (σ = 2, A = 140, k = 1.5, Q = 10, φ = 1, α = 0.5, 200 steps) with a
# hidden flow state: sellers informed (z = −1), uninformed, buyers informed (z = +1). An informed run lasts a quarter
# of the session on average (leaving at 4 per unit time) and the uninformed state half a session (2 per unit time to
# each side), so a quarter of the time the flow leans each way. An informed run tilts the requests by ζ = 0.6 (224
# against 56 a unit time at the two sides) and drifts the mid by 10 a unit time, 2.5 over a run: against σ = 2 the
# signal is worth a clear share of the P&L. requests arrive, then fill a quote with e^(−kδ) (the arrival rule), so
# that the maker's fills say nothing of the state beyond the public prints.
_FLOW_MARKET = {
    "assets": (Asset(max_inventory=10),),
    "penalty": Penalty(running=1.0, terminal=0.5),
    "fill_rule": "arrival",
    "horizon": 1.0,
    "dt": 0.005,
}
_FLOW_SWITCHING = ((-4.0, 4.0, 0.0), (2.0, -4.0, 2.0), (0.0, 4.0, -4.0))
MARKET_PRESETS["informed_flow"] = {
    **_FLOW_MARKET,
    "flow": Flow(directions=(-1.0, 0.0, 1.0), switch_rates=_FLOW_SWITCHING, imbalance=0.6, drift=10.0),
}
# The control: the same chain with a weak signal (ζ = 0.05, μ = 0.5), where knowing the state is worth little.
MARKET_PRESETS["informed_flow_weak"] = {
    **_FLOW_MARKET,
    "flow": Flow(directions=(-1.0, 0.0, 1.0), switch_rates=_FLOW_SWITCHING, imbalance=0.05, drift=0.5),
}


def make_market(preset: str, **overrides: Any) -> Market:
    """The ``envs.market.Market`` of any preset by name: a single-asset world's (``make_world``, its interface
    fields dropped; overrides are ``World`` fields) or a multi-asset one's (``MARKET_PRESETS``; overrides are
    ``Market`` fields). ``ValueError`` names an unknown preset or field."""
    if preset in MARKET_PRESETS:
        return Market(**MARKET_PRESETS[preset]).replace(**overrides)
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; accepted: {sorted([*PRESETS, *MARKET_PRESETS])}")
    return make_world(preset, **overrides).market


def resolve_any(world: str | World | Market | Interface | None, **overrides: Any) -> World | Market | Interface:
    """A single-asset ``World`` (``resolve_world``) or, for a ``Market`` or a multi-asset preset, a ``Market``
    (a preset name's ``make_market``), with overrides (the kind's fields); an ``envs.interface.Interface`` as it is
    (its market's fields are overridden through the market, before the interface is made)."""
    if isinstance(world, Interface):
        if overrides:
            raise ValueError("an interface's market takes no overrides: override the market, then derive its interface")
        return world
    if isinstance(world, Market):
        return world.replace(**overrides) if overrides else world
    return make_market(world, **overrides) if is_market_preset(world) else resolve_world(world, **overrides)


def read_market_file(path: str | Path) -> Market:
    """The market of a YAML market file: its ``market`` mapping (as ``python -m eval.calibrate`` writes it, beside its
    provenance and estimates) or a bare mapping of ``Market`` fields; ``ValueError`` names the file and the problem."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as error:
        raise ValueError(f"market file {path} cannot be read: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise ValueError(f"market file {path} is not valid YAML: {error}") from None
    if isinstance(document, dict) and "market" in document:
        document = document["market"]
    try:
        return Market.from_document(document)
    except ValueError as error:
        raise ValueError(f"market file {path}: {error}") from None


def preset_names() -> list[str]:
    """Every preset, the single-asset worlds' then the multi-asset markets'."""
    return list_presets() + sorted(MARKET_PRESETS)


def preset_fields(preset: str) -> list[str]:
    """The fields a preset's overrides may set: ``World``'s for a single-asset world, ``Market``'s for a
    multi-asset one."""
    return [field.name for field in dataclasses.fields(Market)] if is_market_preset(preset) else field_names()


def is_market_preset(world: Any) -> bool:
    """Whether ``world`` (a preset name, a ``World``, a ``Market`` or ``None``) is simulated by the multi-asset core:
    a ``Market``, or the name of one of ``MARKET_PRESETS``."""
    return isinstance(world, Market) or (isinstance(world, str) and world in MARKET_PRESETS)
