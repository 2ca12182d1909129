"""The dealer's world: d correlated quoted assets with RFQ fill curves and trade sizes (rung 3, second half).

A dealer quotes a bid and an ask on each of d assets. Units as in ``envs.world``: prices in currency, time
in the model's unit, inventory in lots. Each asset's mid is an arithmetic Brownian motion with drift,
``dS_i = μ_i·dt + σ_i·dW_i``, the shocks correlated by ``correlation`` (covariance
``Σ = diag(σ)·C·diag(σ)``). On each side of each asset, requests (RFQs) arrive as a Poisson process; a
request is for ``z`` lots with probability ``p_z`` (the size ladder) and is filled with probability
``f(δ)`` at the dealer's offset δ, so fills of size z come at intensity ``λ·p_z·f(δ)``:

- ``"exponential"``: ``f(δ) = e^(−k·δ)`` (``λ = A``: today's ``A·e^(−kδ)``, Avellaneda & Stoikov 2008);
- ``"logistic"``: ``f(δ) = 1 / (1 + e^(α + β·δ))`` (Guéant 2017, "Optimal market making", §2; Bergault,
  Evangelista, Guéant & Vieira 2021, §5).

The quote rule: one offset per side per asset, in price per lot, for every size (a fill of z lots
pays ``z·δ``); see ``envs.dealer_core`` for the step. The reward is wealth marked to all mids minus
``dt·xᵀΦx`` with ``Φ = (γ/2)·Σ`` (γ the ``risk_aversion``), x every position held.

Hedge-only instruments (``hedges``, the hedging issue's instrument, any number of them): mids the dealer
never quotes but trades at, correlated with the quoted assets through the same correlation matrix (quoted
assets first, then the hedges). A trade of u lots pays the mid plus ``ψ·|u| + η·u²/dt`` (and a ticket fee
if ``u ≠ 0``), is at most ``U`` lots a step, and keeps the position within ``±Q₂``.
"""

from __future__ import annotations

import dataclasses
from functools import cached_property
from typing import Any

import numpy as np

from envs.interface import hedge_units, natural_scales
from envs.market import Asset, HedgeInstrument, Market, Penalty
from envs.world import _real, _set, check_fields

# Asset fields the dealer's core does not simulate yet: each must stay at its default in a dealer's book (a
# one-asset ``World`` simulates them).
_SINGLE_ASSET_ONLY = ("sell_share", "fee", "adverse_jump")


@dataclasses.dataclass(frozen=True)
class Dealer:
    """A dealer's book over d quoted assets (``assets``), validated at construction.

    - ``assets``: the quoted assets, one ``Asset`` each (d ≥ 1).
    - ``hedges``: hedge-only instruments, one ``HedgeInstrument`` each (m ≥ 0, none by default).
    - ``correlation``: (d+m)×(d+m) correlation matrix of the mids' shocks, quoted assets first, then the
      hedges; symmetric positive semi-definite with a unit diagonal (``None``: uncorrelated).
    - ``risk_aversion`` [1/price]: γ; the reward pays ``dt·xᵀΦx`` each step with ``Φ = (γ/2)·Σ`` over every
      position x (inventories, then hedge positions).
    - ``horizon`` [time], ``dt`` [time]: session length and step, ``horizon/dt`` a whole number.
    - ``fill_rule``: how an intensity becomes a per-step fill chance, as ``World.fill_rule``.
    """

    assets: tuple[Asset, ...] = (Asset(),)
    hedges: tuple[HedgeInstrument, ...] = ()
    correlation: tuple[tuple[float, ...], ...] | None = None
    risk_aversion: float = 0.5
    horizon: float = 1.0
    dt: float = 0.005
    fill_rule: str = "poisson"

    def __post_init__(self) -> None:
        _set(self, "risk_aversion", _real("risk_aversion", self.risk_aversion))
        check_fields(self, [("risk_aversion", self.risk_aversion >= 0, "must be ≥ 0")])
        # The market validates the rest (assets and hedges given as mappings of their fields, as YAML gives them).
        market = Market(
            assets=self.assets,
            hedges=self.hedges,
            correlation=self.correlation,
            horizon=self.horizon,
            dt=self.dt,
            fill_rule=self.fill_rule,
        )
        for name in ("assets", "hedges", "correlation", "horizon", "dt"):
            _set(self, name, getattr(market, name))
        for index, asset in enumerate(self.assets):
            defaults = Asset()
            for name in _SINGLE_ASSET_ONLY:
                if getattr(asset, name) != getattr(defaults, name):
                    raise ValueError(
                        f"assets[{index}].{name} is not simulated in a dealer's book yet; leave it at "
                        f"{getattr(defaults, name)!r} or use a one-asset world (got {getattr(asset, name)!r})"
                    )
            if not isinstance(asset.initial_inventory, int):
                raise ValueError(
                    f"assets[{index}].initial_inventory must be an integer in a dealer's book (a range is drawn in "
                    f"a one-asset world only); got {asset.initial_inventory!r}"
                )

    @cached_property
    def market(self) -> Market:
        """This book as a ``Market``: its penalty ``(γ/2)·xᵀΣx`` written as ``φ·xᵀRx`` with ``φ = γσ₁²/2``."""
        return Market(
            assets=self.assets,
            hedges=self.hedges,
            correlation=self.correlation,
            penalty=Penalty(running=0.5 * self.risk_aversion * self.assets[0].sigma ** 2),
            horizon=self.horizon,
            dt=self.dt,
            fill_rule=self.fill_rule,
        )

    @property
    def n_assets(self) -> int:
        return self.market.n_assets

    @property
    def n_hedges(self) -> int:
        return self.market.n_hedges

    @property
    def n_steps(self) -> int:
        """Steps in a session, ``horizon / dt``."""
        return self.market.n_steps

    def column(self, name: str) -> np.ndarray:
        """One asset field across the assets, shape ``(d,)`` (``Market.column``)."""
        return self.market.column(name)

    def instrument_column(self, name: str) -> np.ndarray:
        """A field both assets and hedges have across every instrument, ``(d+m,)`` (``Market.instrument_column``)."""
        return self.market.instrument_column(name)

    def hedge_column(self, name: str) -> np.ndarray:
        """One hedge-instrument field across the hedges, shape ``(m,)`` (``Market.hedge_column``)."""
        return self.market.hedge_column(name)

    @property
    def instrument_covariance(self) -> np.ndarray:
        """``Σ = diag(σ)·C·diag(σ)`` [price²/time] over every instrument, quoted assets first (``Market.covariance``)."""
        return self.market.covariance

    @property
    def covariance(self) -> np.ndarray:
        """The quoted assets' block of ``instrument_covariance``, ``(d, d)`` [price²/time]."""
        return self.instrument_covariance[: self.n_assets, : self.n_assets]

    @cached_property
    def penalty_matrix(self) -> np.ndarray:
        """``Φ = (γ/2)·Σ`` [price/(lot²·time)] over every instrument: the reward pays ``dt·xᵀΦx`` each step."""
        return 0.5 * self.risk_aversion * self.instrument_covariance

    @property
    def min_variance_hedge(self) -> np.ndarray:
        """``H = −Σ_hh⁺·Σ_hq``, ``(m, d)`` [lots of hedge per lot of inventory] (``Market.min_variance_hedge``)."""
        return self.market.min_variance_hedge

    @cached_property
    def residual_covariance(self) -> np.ndarray:
        """``Σ_qq − Σ_qh·Σ_hh⁺·Σ_hq`` ``(d, d)``: the quoted inventories' risk left after the minimum-variance hedge."""
        d, sigma = self.n_assets, self.instrument_covariance
        return sigma[:d, :d] + sigma[:d, d:] @ self.min_variance_hedge

    @cached_property
    def shock_loading(self) -> np.ndarray:
        """L with ``L·Lᵀ = C``: correlated shocks from independent normals (a symmetric square root, so a
        semi-definite C is fine)."""
        values, vectors = np.linalg.eigh(np.asarray(self.correlation))
        return vectors * np.sqrt(np.clip(values, 0.0, None))[None, :]

    @cached_property
    def size_table(self) -> tuple[np.ndarray, np.ndarray]:
        """``(sizes, probabilities)``, each ``(d, m)`` with m the longest ladder; shorter ladders are padded
        with zero-probability entries of their last size."""
        m = max(len(asset.sizes) for asset in self.assets)
        sizes = np.array([asset.sizes + (asset.sizes[-1],) * (m - len(asset.sizes)) for asset in self.assets])
        probabilities = np.array(
            [asset.size_probabilities + (0.0,) * (m - len(asset.sizes)) for asset in self.assets], dtype=np.float64
        )
        return sizes.astype(np.int64), probabilities

    @cached_property
    def natural_scales(self) -> dict[str, np.ndarray]:
        """Each asset's own scales, shape ``(d,)`` each, from which the env's ranges come: ``envs.interface.
        natural_scales`` of its market."""
        return natural_scales(self.market)

    @property
    def offset_range(self) -> np.ndarray:
        """``(d, 2)`` [price]: each asset's ``(min_offset, max_offset)``, the span of its normalized actions."""
        scales = self.natural_scales
        return np.stack([scales["min_offset"], scales["max_offset"]], axis=1)

    @property
    def inventory_unit(self) -> np.ndarray:
        """``(d,)`` [lots]: lots per unit of each asset's observed inventory."""
        return self.natural_scales["inventory_scale"]

    @cached_property
    def hedge_unit(self) -> np.ndarray:
        """``(m,)`` [lots]: lots per unit of each observed hedge position: the minimum-variance hedge of a book
        holding every asset's inventory unit, ``Σᵢ |Hⱼᵢ|·unitᵢ``, between the hedge's lot and Q₂."""
        return hedge_units(self.market, self.inventory_unit)

    def resolved(self) -> Dealer:
        """This dealer, as ``World.resolved``: it has no settable scales, every one is derived from its fields."""
        return self

    def replace(self, **overrides: Any) -> Dealer:
        """A copy with some fields changed (validated like any dealer)."""
        unknown = sorted(set(overrides) - {f.name for f in dataclasses.fields(Dealer)})
        if unknown:
            raise ValueError(
                f"unknown dealer field(s) {unknown}; accepted: {[f.name for f in dataclasses.fields(Dealer)]}"
            )
        return dataclasses.replace(self, **overrides)


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

DEALER_PRESETS: dict[str, dict[str, Any]] = {
    "two_assets": {
        "assets": (_TWO_ASSETS_ASSET, _TWO_ASSETS_ASSET),
        "correlation": ((1.0, 0.5), (0.5, 1.0)),
        "risk_aversion": 0.5,
        "horizon": 1.0,
        "dt": 0.005,
    },
    "two_assets_hedged": {
        "assets": (_TWO_ASSETS_ASSET, _TWO_ASSETS_ASSET),
        "hedges": (_INDEX,),
        "correlation": ((1.0, 0.5, 0.8), (0.5, 1.0, 0.8), (0.8, 0.8, 1.0)),
        "risk_aversion": 0.5,
        "horizon": 1.0,
        "dt": 0.005,
    },
    "dealer": {
        "assets": (
            Asset(sigma=0.3, drift=0.05, **_BOND, **_BOND_LADDER),
            Asset(sigma=0.2, drift=-0.03, **_BOND, **_BOND_LADDER),
        ),
        "correlation": ((1.0, 0.7), (0.7, 1.0)),
        "risk_aversion": 1.0,
        "horizon": 1.0,
        "dt": 0.01,
    },
}


def make_dealer(preset: str, **overrides: Any) -> Dealer:
    """A validated dealer from a preset name and field overrides (``ValueError`` names a bad one)."""
    if preset not in DEALER_PRESETS:
        raise ValueError(f"unknown dealer preset {preset!r}; accepted: {sorted(DEALER_PRESETS)}")
    return Dealer(**DEALER_PRESETS[preset]).replace(**overrides)
