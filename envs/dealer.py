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
import math
from functools import cached_property
from typing import Any

import numpy as np
import scipy.special

from envs.world import (
    FILL_RULES,
    _integer,
    _matrix,
    _real,
    _real_tuple,
    _set,
    check_fields,
    check_whole_steps,
    trading_term_checks,
)

FILL_CURVES = ("exponential", "logistic")
_PROBABILITY_TOLERANCE = 1e-9
_SPD_TOLERANCE = 1e-10


@dataclasses.dataclass(frozen=True)
class Asset:
    """One quoted asset. Every field is validated at construction (``ValueError`` names it).

    - ``s0`` [price]: mid at the open.
    - ``sigma`` [price / √time]: volatility σ of the mid.
    - ``drift`` [price / time]: μ, the mid's expected change per unit time.
    - ``fill_curve``: ``"exponential"`` or ``"logistic"``.
    - ``arrival_intensity`` [1/time]: λ, requests per side per unit time (for the exponential curve the
      intensity at zero offset, A).
    - ``fill_decay`` [1/price]: k of the exponential curve.
    - ``fill_shift``: α of the logistic curve (the fill probability at δ = 0 is ``1/(1 + e^α)``).
    - ``fill_slope`` [1/price]: β > 0 of the logistic curve.
    - ``sizes`` [lots]: the size ladder, distinct positive integers.
    - ``size_probabilities``: the chance a request is for each size; they sum to 1.
    - ``max_inventory`` [lots]: Q, a multiple of every size; a fill that would take ``|q|`` past Q is refused.
    - ``initial_inventory`` [lots]: the opening inventory, within ±Q.
    """

    s0: float = 100.0
    sigma: float = 2.0
    drift: float = 0.0
    fill_curve: str = "exponential"
    arrival_intensity: float = 140.0
    fill_decay: float = 1.5
    fill_shift: float = 0.7
    fill_slope: float = 150.0
    sizes: tuple[int, ...] = (1,)
    size_probabilities: tuple[float, ...] = (1.0,)
    max_inventory: int = 10
    initial_inventory: int = 0

    def __post_init__(self) -> None:
        for name in ("s0", "sigma", "drift", "arrival_intensity", "fill_decay", "fill_shift", "fill_slope"):
            _set(self, name, _real(name, getattr(self, name)))
        for name in ("max_inventory", "initial_inventory"):
            _set(self, name, _integer(name, getattr(self, name)))
        if not isinstance(self.sizes, (tuple, list)) or not self.sizes:
            raise ValueError(f"sizes must be a non-empty list of integers [lots]; got {self.sizes!r}")
        _set(self, "sizes", tuple(_integer("sizes", size) for size in self.sizes))
        _set(self, "size_probabilities", _real_tuple("size_probabilities", self.size_probabilities))
        checks = [
            ("sigma", self.sigma >= 0, "must be ≥ 0"),
            ("fill_curve", self.fill_curve in FILL_CURVES, f"must be one of {FILL_CURVES}"),
            ("arrival_intensity", self.arrival_intensity >= 0, "must be ≥ 0"),
            ("fill_decay", self.fill_decay > 0, "must be > 0"),
            ("fill_slope", self.fill_slope > 0, "must be > 0"),
            ("sizes", all(size >= 1 for size in self.sizes), "must all be integers ≥ 1"),
            ("sizes", len(set(self.sizes)) == len(self.sizes), "must be distinct"),
            ("size_probabilities", len(self.size_probabilities) == len(self.sizes), "must have one entry per size"),
            ("size_probabilities", all(p >= 0 for p in self.size_probabilities), "must all be ≥ 0"),
            (
                "size_probabilities",
                abs(sum(self.size_probabilities) - 1.0) <= _PROBABILITY_TOLERANCE,
                "must sum to 1",
            ),
            ("max_inventory", self.max_inventory >= 1, "must be an integer ≥ 1"),
            (
                "max_inventory",
                all(size >= 1 and self.max_inventory % size == 0 for size in self.sizes),
                f"must be a multiple of every size in {self.sizes}",
            ),
            ("initial_inventory", abs(self.initial_inventory) <= self.max_inventory, "must lie within ±max_inventory"),
        ]
        check_fields(self, checks)

    def fill_shape(self, offset: np.ndarray | float) -> np.ndarray:
        """``f(δ)``: the chance a request is filled at offset δ [price] (exponential: may exceed 1 below 0)."""
        offset = np.asarray(offset, dtype=np.float64)
        if self.fill_curve == "exponential":
            return np.exp(-self.fill_decay * offset)
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(self.fill_shift + self.fill_slope * offset))

    @property
    def mean_size(self) -> float:
        """``Σ p_z·z`` [lots per request]."""
        return float(np.dot(self.size_probabilities, self.sizes))

    @property
    def size_weighted_size(self) -> float:
        """``Σ p_z·z² / Σ p_z·z`` [lots]: the size a lot of filled flow comes in, on average."""
        return float(np.dot(self.size_probabilities, np.square(self.sizes))) / self.mean_size

    def best_response(self, marginal: np.ndarray | float) -> np.ndarray:
        """``δ̃(p) = argmax_δ f(δ)·(δ − p)`` [price], p the value a lot of inventory costs [price/lot].

        Exponential: ``p + 1/k``. Logistic: ``p + (1 + W₀(e^(−1−α−βp)))/β`` (Guéant 2017, Lemma 3.1),
        computed as ``p + (1 + w)/β`` with w from ``scipy.special.lambertw`` on the principal branch.
        """
        marginal = np.asarray(marginal, dtype=np.float64)
        if self.fill_curve == "exponential":
            return marginal + 1.0 / self.fill_decay
        return marginal + (1.0 + self._lambert(marginal)) / self.fill_slope

    def hamiltonian_curvature(self) -> float:
        """``H''(0)`` of ``H(p) = sup_δ f(δ)(δ − p)`` [1/price], the quadratic coefficient of the closed form.

        Exponential: ``H = e^(−1−kp)/k``, ``H''(0) = k/e``. Logistic: ``H = w/β`` with
        ``w = W₀(e^(−1−α−βp))``, so ``H''(0) = β·w₀/(1 + w₀)³`` (Bergault et al. 2021, §5).
        """
        if self.fill_curve == "exponential":
            return self.fill_decay / math.e
        w = float(self._lambert(0.0))
        return self.fill_slope * w / (1.0 + w) ** 3

    def _lambert(self, marginal: np.ndarray | float) -> np.ndarray:
        argument = np.exp(-1.0 - self.fill_shift - self.fill_slope * np.asarray(marginal, dtype=np.float64))
        return np.real(scipy.special.lambertw(argument, 0))


@dataclasses.dataclass(frozen=True)
class HedgeInstrument:
    """An instrument the dealer trades but never quotes (as ``World``'s hedge instrument). Every field is
    validated at construction (``ValueError`` names it).

    - ``s0`` [price]: mid at the open; ``sigma`` [price / √time] > 0; ``drift`` [price / time].
    - ``spread_cost`` [price / lot]: ψ, half the spread paid per lot traded.
    - ``impact`` [price·time / lot²]: η, the temporary impact; a trade of u lots in one step pays ``η·u²/dt``.
    - ``ticket_fee`` [price]: paid once per step with a trade.
    - ``max_trade`` [lots / step]: U, the largest trade a step; ``lot`` [lots]: trades are whole multiples of it;
      ``max_position`` [lots]: Q₂, trades are clipped so that ``|position| ≤ Q₂``. ``lot`` divides the other two.
    """

    s0: float = 100.0
    sigma: float = 2.0
    drift: float = 0.0
    spread_cost: float = 0.0
    impact: float = 0.0
    ticket_fee: float = 0.0
    max_trade: int = 10
    lot: int = 1
    max_position: int = 20

    def __post_init__(self) -> None:
        for name in ("s0", "sigma", "drift", "spread_cost", "impact", "ticket_fee"):
            _set(self, name, _real(name, getattr(self, name)))
        for name in ("max_trade", "lot", "max_position"):
            _set(self, name, _integer(name, getattr(self, name)))
        check_fields(self, [("sigma", self.sigma > 0, "must be > 0"), *trading_term_checks(self)])


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
        if isinstance(self.assets, Asset):
            _set(self, "assets", (self.assets,))
        if isinstance(self.hedges, HedgeInstrument):
            _set(self, "hedges", (self.hedges,))
        for name, kind in (("assets", Asset), ("hedges", HedgeInstrument)):  # YAML gives mappings of fields
            if isinstance(getattr(self, name), (tuple, list)):
                _set(self, name, tuple(_build(kind, name, entry) for entry in getattr(self, name)))
        if not isinstance(self.assets, (tuple, list)) or not self.assets:
            raise ValueError(f"assets must be a non-empty list of envs.dealer.Asset; got {self.assets!r}")
        if not all(isinstance(asset, Asset) for asset in self.assets):
            raise ValueError(f"assets must all be envs.dealer.Asset; got {[type(a).__name__ for a in self.assets]}")
        if not isinstance(self.hedges, (tuple, list)) or not all(isinstance(h, HedgeInstrument) for h in self.hedges):
            raise ValueError(f"hedges must be a list of envs.dealer.HedgeInstrument (or empty); got {self.hedges!r}")
        d = len(self.assets) + len(self.hedges)
        given = self.correlation.tolist() if isinstance(self.correlation, np.ndarray) else self.correlation
        correlation = np.eye(d) if given is None else np.asarray(_matrix("correlation", given))
        if correlation.shape != (d, d):
            raise ValueError(
                f"correlation must be a {d}×{d} matrix (one row per quoted asset, then per hedge instrument); "
                f"got shape {correlation.shape}"
            )
        if not np.allclose(correlation, correlation.T, atol=_SPD_TOLERANCE, rtol=0.0):
            raise ValueError(f"correlation must be symmetric; got {self.correlation!r}")
        if not np.allclose(np.diag(correlation), 1.0, atol=_SPD_TOLERANCE, rtol=0.0):
            raise ValueError(f"correlation must have a unit diagonal; got {self.correlation!r}")
        if np.linalg.eigvalsh(correlation).min() < -_SPD_TOLERANCE:
            raise ValueError(
                f"correlation must be positive semi-definite (no eigenvalue below 0); got {self.correlation!r}, "
                f"eigenvalues {np.round(np.linalg.eigvalsh(correlation), 6).tolist()}"
            )
        _set(self, "correlation", tuple(tuple(float(v) for v in row) for row in correlation))
        for name in ("risk_aversion", "horizon", "dt"):
            _set(self, name, _real(name, getattr(self, name)))
        checks = [
            ("risk_aversion", self.risk_aversion >= 0, "must be ≥ 0"),
            ("horizon", self.horizon > 0, "must be > 0"),
            ("dt", 0 < self.dt <= self.horizon, f"must be in (0, horizon={self.horizon}]"),
            ("fill_rule", self.fill_rule in FILL_RULES, f"must be one of {FILL_RULES}"),
        ]
        check_fields(self, checks)
        check_whole_steps(self.horizon, self.dt)

    @property
    def n_assets(self) -> int:
        return len(self.assets)

    @property
    def n_hedges(self) -> int:
        return len(self.hedges)

    @cached_property
    def n_steps(self) -> int:
        """Steps in a session, ``horizon / dt``."""
        return int(round(self.horizon / self.dt))

    def column(self, name: str) -> np.ndarray:
        """One asset field across the assets, shape ``(d,)``."""
        return np.array([getattr(asset, name) for asset in self.assets], dtype=np.float64)

    def instrument_column(self, name: str) -> np.ndarray:
        """A field both assets and hedges have (``sigma``, ``drift``, ``s0``) across every instrument, ``(d+m,)``:
        the quoted assets first."""
        return np.concatenate([self.column(name), self.hedge_column(name)])

    def hedge_column(self, name: str) -> np.ndarray:
        """One hedge-instrument field across the hedges, shape ``(m,)``."""
        return np.array([getattr(hedge, name) for hedge in self.hedges], dtype=np.float64)

    @cached_property
    def instrument_covariance(self) -> np.ndarray:
        """``Σ = diag(σ)·C·diag(σ)`` [price²/time] over every instrument, ``(d+m, d+m)``: quoted assets first."""
        sigma = self.instrument_column("sigma")
        return sigma[:, None] * np.asarray(self.correlation) * sigma[None, :]

    @property
    def covariance(self) -> np.ndarray:
        """The quoted assets' block of ``instrument_covariance``, ``(d, d)`` [price²/time]."""
        return self.instrument_covariance[: self.n_assets, : self.n_assets]

    @cached_property
    def penalty_matrix(self) -> np.ndarray:
        """``Φ = (γ/2)·Σ`` [price/(lot²·time)] over every instrument: the reward pays ``dt·xᵀΦx`` each step."""
        return 0.5 * self.risk_aversion * self.instrument_covariance

    @cached_property
    def min_variance_hedge(self) -> np.ndarray:
        """``H = −Σ_hh⁺·Σ_hq``, ``(m, d)`` [lots of hedge per lot of inventory]: the hedge positions ``H·q`` that
        minimize the book's variance ``xᵀΣx`` given the inventories q (a pseudo-inverse where hedges coincide)."""
        d, sigma = self.n_assets, self.instrument_covariance
        return -np.linalg.pinv(sigma[d:, d:]) @ sigma[d:, :d]

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
        """Each asset's own scales, shape ``(d,)`` each, from which the env's ranges come (``dealer_scales``)."""
        return dealer_scales(self)

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
        reach = np.abs(self.min_variance_hedge) @ self.inventory_unit
        return np.clip(reach, self.hedge_column("lot"), self.hedge_column("max_position"))

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


def _build(kind: type, name: str, entry: Any) -> Any:
    """An ``Asset`` or ``HedgeInstrument`` from a mapping of its fields (as YAML gives it); other entries pass."""
    if not isinstance(entry, dict):
        return entry
    accepted = [f.name for f in dataclasses.fields(kind)]
    unknown = sorted(set(entry) - set(accepted))
    if unknown:
        raise ValueError(f"{name}: unknown {kind.__name__} field(s) {unknown}; accepted: {accepted}")
    return kind(**entry)


def dealer_scales(dealer: Dealer) -> dict[str, np.ndarray]:
    """Natural scales of each asset, from the dealer's physics alone (``envs.world.derived_scales`` with an
    asset axis, a fill curve and a size ladder); every entry has shape ``(d,)``.

    - ``myopic_offset`` [price]: the risk-neutral quote ``δ̃(0)`` (``Asset.best_response``), 1/k for the
      exponential curve.
    - ``skew_per_lot`` c = √(γσ²/D) [price/lot], ``D = 2·λ·H''(0)·E[z]``: the asymptotic closed form's marginal
      cost of a lot of this asset held alone, ``2·A(∞)`` at d = 1 (Bergault et al. 2021; GLFT 2013, eq. 4.6).
    - ``inventory_std`` [lots]: the smaller of the stationary spread under that skew (fills at rates
      ``λ·f(δ̃(±c·q))``: drift ``−2·λ·H''(0)·c·E[z]·q``, variance rate ``2·λ·f(δ̃(0))·E[z²]``) and the
      unskewed random walk over the session.
    - ``inventory_scale`` [lots]: 3 × ``inventory_std``, between 1 and Q.
    - ``reach`` [price]: ``δ̃(0) + c·(inventory_scale + z̄) + |μ|·T``, the distance the quotes of visited
      states span (the drift term bounds the closed form's B); the offset range is ``δ̃(0) − 1.5·reach`` to
      ``δ̃(0) + 2·reach``.
    """
    scales: dict[str, list[float]] = {
        name: [] for name in ("myopic_offset", "skew_per_lot", "inventory_std", "inventory_scale", "reach")
    }
    for asset in dealer.assets:
        myopic = float(asset.best_response(0.0))
        curvature = asset.hamiltonian_curvature()
        mean_size = asset.mean_size
        second_moment = float(np.dot(asset.size_probabilities, np.square(asset.sizes)))
        weight = 2.0 * asset.arrival_intensity * curvature * mean_size
        skew = math.sqrt(dealer.risk_aversion * asset.sigma**2 / weight) if weight > 0 else 0.0
        fill_chance = float(asset.fill_shape(myopic))
        random_walk = 2.0 * asset.arrival_intensity * fill_chance * second_moment * dealer.horizon
        stationary = fill_chance * second_moment / (2.0 * curvature * skew * mean_size) if skew > 0 else math.inf
        inventory_std = math.sqrt(min(stationary, random_walk))
        inventory_scale = min(max(3.0 * inventory_std, 1.0), float(asset.max_inventory))
        reach = myopic + skew * (inventory_scale + asset.size_weighted_size) + abs(asset.drift) * dealer.horizon
        for name, value in zip(scales, (myopic, skew, inventory_std, inventory_scale, reach), strict=True):
            scales[name].append(value)
    result = {name: np.array(values) for name, values in scales.items()}
    result["min_offset"] = result["myopic_offset"] - 1.5 * result["reach"]
    result["max_offset"] = result["myopic_offset"] + 2.0 * result["reach"]
    return result


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
