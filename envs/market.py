"""The market: one frozen specification of the physics, for one asset or many.

Units: prices in currency, time in the model's unit (the A–S session is ``horizon = 1``), inventory in lots.
A ``Market`` holds quoted ``assets`` (each with its mid, volatility, drift, fill curve, flow, size ladder,
limit, fee and adverse jump), hedge-only ``hedges`` (instruments traded but never quoted), one ``correlation``
matrix over every instrument (quoted assets first), volatility ``regimes`` acting on every instrument, the
``penalty`` on the book's risk, the session (``horizon``, ``dt``) and the simulation's rules (``fill_rule``,
``mid_process``). Every field declares its unit and what it accepts (``envs.validation``); a bad value raises
``ValueError`` naming it.

What the agent sees of a market (offset ranges, units of inventory and time, observation features) is not part
of it: it is derived from the physics (``envs.interface``, which reads the market; the market does not read it).

Today's single-asset ``envs.world.World`` and the dealer's ``envs.market.Market`` are both views of a market
(``World.market``, ``Market.market``); a one-asset market with a hedge and regimes and a two-asset book with a
size ladder are the same kind of object.
"""

from __future__ import annotations

import dataclasses
import math
from functools import cached_property
from typing import Any

import numpy as np
import scipy.linalg
import scipy.special

from envs.validation import (
    check_fields,
    choice,
    declared,
    either,
    flag,
    instances,
    integer,
    matrix,
    nested,
    nothing,
    real,
    sequence_of,
    validate,
    whole_steps,
)

FILL_RULES = ("poisson", "as2008", "arrival")
MID_PROCESSES = ("gaussian", "binomial")
FILL_CURVES = ("exponential", "logistic")
QUOTE_RULES = ("per_side", "per_size")
_PROBABILITY_TOLERANCE = 1e-9
# The dtype the core counts a step's fills in [lots] (half int64's memory traffic), and so the largest size a request
# may be for.
FILL_DTYPE = np.int32
_MAX_SIZE = int(np.iinfo(FILL_DTYPE).max)
_SPD_TOLERANCE = 1e-10


@dataclasses.dataclass(frozen=True)
class Asset:
    """One quoted asset. Market orders (requests) reach each side as a Poisson process; a request is for ``z``
    lots with probability ``p_z`` (the size ladder) and fills a quote at offset δ with probability ``f(δ)``:

    - ``"exponential"``: ``f(δ) = e^(−k·δ)``, so fills come at ``A·e^(−kδ)`` (Avellaneda & Stoikov 2008, eq. 2.12);
    - ``"logistic"``: ``f(δ) = 1 / (1 + e^(α + β·δ))`` (Guéant 2017, §2; Bergault, Evangelista, Guéant & Vieira
      2021, §5).
    """

    s0: float = declared(100.0, real(), "price", "mid at the open")
    sigma: float = declared(2.0, real(0.0), "price/√time", "volatility σ of the mid, dS = μ·dt + σ·dW")
    drift: float = declared(0.0, real(), "price/time", "μ, the mid's expected change per unit time")
    fill_curve: str = declared("exponential", choice(FILL_CURVES), "", "the fill curve f(δ)")
    arrival_intensity: float = declared(
        140.0, real(0.0), "1/time", "A, requests per side per unit time when flow is balanced"
    )
    sell_share: float = declared(
        0.5, real(0.0, 1.0), "", "share of requests that are sells (they hit the bid): bid 2A·share, ask 2A·(1 − share)"
    )
    fill_decay: float = declared(1.5, real(0.0, open_low=True), "1/price", "k of the exponential curve")
    fill_shift: float = declared(0.7, real(), "", "α of the logistic curve (f(0) = 1/(1 + e^α))")
    fill_slope: float = declared(150.0, real(0.0, open_low=True), "1/price", "β of the logistic curve")
    sizes: tuple[int, ...] = declared(
        (1,),
        sequence_of(integer(1, _MAX_SIZE), what=f"integers from 1 to {_MAX_SIZE:,} (a step's fills are int32)"),
        "lots",
        "the size ladder, distinct",
    )
    size_probabilities: tuple[float, ...] = declared(
        (1.0,), sequence_of(real(0.0), what="numbers ≥ 0"), "", "chance a request is for each size; they sum to 1"
    )
    max_inventory: int = declared(
        10, integer(1), "lots", "Q, a multiple of every size; a fill that would take |q| past Q is refused"
    )
    initial_inventory: int | tuple[int, int] = declared(
        0,
        either(integer(), sequence_of(integer(), min_length=2, what="integers (low, high)")),
        "lots",
        "the opening inventory, or (low, high) drawn uniformly (inclusive)",
    )
    fee: float = declared(0.0, real(), "price/lot", "paid per lot filled; negative is a rebate")
    adverse_jump: float = declared(
        0.0, real(0.0), "price/lot", "ξ, the mid moves against the maker by ξ per lot filled"
    )

    def __post_init__(self) -> None:
        validate(self)
        low, high = self.inventory_bounds
        check_fields(
            self,
            [
                ("sizes", len(set(self.sizes)) == len(self.sizes), "must be distinct"),
                ("size_probabilities", len(self.size_probabilities) == len(self.sizes), "must have one per size"),
                (
                    "size_probabilities",
                    abs(sum(self.size_probabilities) - 1.0) <= _PROBABILITY_TOLERANCE,
                    "must sum to 1",
                ),
                (
                    "max_inventory",
                    all(self.max_inventory % size == 0 for size in self.sizes),
                    f"must be a multiple of every size in {self.sizes}",
                ),
                (
                    "initial_inventory",
                    isinstance(self.initial_inventory, int) or len(self.initial_inventory) == 2,
                    "must be an integer or a (low, high) pair",
                ),
                (
                    "initial_inventory",
                    -self.max_inventory <= low <= high <= self.max_inventory,
                    f"must lie within ±max_inventory = ±{self.max_inventory} with low ≤ high",
                ),
            ],
        )

    @property
    def inventory_bounds(self) -> tuple[int, int]:
        """Inclusive range the opening inventory is drawn from [lots]."""
        if isinstance(self.initial_inventory, tuple):
            return self.initial_inventory[0], self.initial_inventory[-1]
        return self.initial_inventory, self.initial_inventory

    @property
    def inventory_unit(self) -> int:
        """The step of every inventory the book can reach [lots]: the greatest common divisor of the limit, the sizes
        and the opening inventories (1 where the opening is drawn from a range). The exact optimum's grid step."""
        low, high = self.inventory_bounds
        return math.gcd(self.max_inventory, *self.sizes, low, high, *((1,) if high > low else ()))

    @property
    def side_intensities(self) -> tuple[float, float]:
        """``(2A·sell_share, 2A·(1 − sell_share))`` [1/time]: requests reaching the bid and the ask."""
        return 2.0 * self.arrival_intensity * self.sell_share, 2.0 * self.arrival_intensity * (1.0 - self.sell_share)

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
    def second_size_moment(self) -> float:
        """``Σ p_z·z²`` [lots² per request]."""
        return float(np.dot(self.size_probabilities, np.square(self.sizes)))

    @property
    def size_weighted_size(self) -> float:
        """``Σ p_z·z² / Σ p_z·z`` [lots]: the size a lot of filled flow comes in, on average."""
        return self.second_size_moment / self.mean_size

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

    @property
    def myopic_fill_chance(self) -> float:
        """``f(δ̃(0))``, the chance a request fills the risk-neutral quote: ``e^(−1)`` for the exponential curve."""
        if self.fill_curve == "exponential":
            return math.exp(-1.0)
        return float(self.fill_shape(self.best_response(0.0)))

    @property
    def effective_decay(self) -> float:
        """``H''(0) / f(δ̃(0))`` [1/price]: how fast fills fall off with the offset at the myopic quote; k for the
        exponential curve (exactly), the k an exponential curve with the same curvature would have otherwise."""
        if self.fill_curve == "exponential":
            return self.fill_decay
        return self.hamiltonian_curvature() / self.myopic_fill_chance

    def _lambert(self, marginal: np.ndarray | float) -> np.ndarray:
        argument = np.exp(-1.0 - self.fill_shift - self.fill_slope * np.asarray(marginal, dtype=np.float64))
        return np.real(scipy.special.lambertw(argument, 0))


@dataclasses.dataclass(frozen=True)
class HedgeInstrument:
    """An instrument the maker trades but never quotes (the source documents' "offset the residual inventory in
    a correlated, more liquid instrument"). A trade of u lots pays the start-of-step mid plus ``ψ·|u| + η·u²/dt``
    (the per-step form of ``L(v) = η·v² + ψ·|v|``, Barzykin, Bergault & Guéant 2023) and the ticket fee if
    ``u ≠ 0``; it is at most ``max_trade`` lots and keeps ``|position| ≤ max_position``."""

    s0: float = declared(100.0, real(), "price", "mid at the open")
    sigma: float = declared(2.0, real(0.0, open_low=True), "price/√time", "volatility of the mid")
    drift: float = declared(0.0, real(), "price/time", "the mid's expected change per unit time")
    spread_cost: float = declared(0.0, real(0.0), "price/lot", "ψ, half-spread and fee paid per lot traded")
    impact: float = declared(0.0, real(0.0), "price·time/lot²", "η, a trade of u lots in a step pays η·u²/dt")
    ticket_fee: float = declared(0.0, real(0.0), "price/trade", "paid once per step with a trade")
    max_trade: int = declared(10, integer(0), "lots/step", "U, the largest trade a step, a multiple of lot")
    lot: int = declared(1, integer(1), "lots", "trades are whole multiples of it")
    max_position: int = declared(20, integer(1), "lots", "Q₂, trades keep |position| ≤ Q₂; a multiple of lot")

    def __post_init__(self) -> None:
        validate(self)
        multiple = f"must be a multiple of lot={self.lot}"
        check_fields(
            self,
            [
                ("max_position", self.max_position % self.lot == 0, multiple),
                ("max_trade", self.max_trade % self.lot == 0, multiple),
            ],
        )


def check_generator(owner: Any, count: int, what: str) -> None:
    """``ValueError`` unless ``owner.switch_rates`` is a ``count × count`` generator matrix (one row per ``what``):
    off-diagonal rates ≥ 0 and rows summing to 0."""
    rates = np.asarray(owner.switch_rates)
    generator = rates.shape == (count, count) and np.all(rates[~np.eye(count, dtype=bool)] >= 0)
    check_fields(
        owner,
        [
            ("switch_rates", rates.shape == (count, count), f"must be a {count}×{count} matrix (one row per {what})"),
            (
                "switch_rates",
                generator and np.all(np.abs(rates.sum(axis=1)) <= 1e-9),
                "must be a generator matrix: off-diagonal rates ≥ 0 and each row summing to 0",
            ),
        ],
    )


def step_transition(switch_rates: Any, dt: float) -> np.ndarray:
    """One-step transition matrix of a Markov chain with generator ``switch_rates`` [1/time], ``expm(G·dt)``
    (row-stochastic)."""
    transition = np.clip(scipy.linalg.expm(np.asarray(switch_rates, dtype=np.float64) * dt), 0.0, None)
    return transition / transition.sum(axis=1, keepdims=True)


def stationary_distribution(transition: np.ndarray) -> np.ndarray:
    """Stationary law of a chain's transition matrix (uniform over its states if it is not unique)."""
    values, vectors = np.linalg.eig(transition.T)
    close_to_one = np.isclose(values, 1.0)
    if close_to_one.sum() != 1:
        return np.full(len(transition), 1.0 / len(transition))
    weights = np.abs(np.real(vectors[:, close_to_one][:, 0]))
    return weights / weights.sum()


@dataclasses.dataclass(frozen=True)
class Regimes:
    """Volatility regimes: a Markov chain whose state scales every instrument's σ. One regime (the default) is
    constant volatility; the chain starts in its stationary distribution."""

    scales: tuple[float, ...] = declared(
        (1.0,), sequence_of(real(0.0, open_low=True), what="numbers > 0"), "", "each regime's σ as a multiple of σ"
    )
    switch_rates: tuple[tuple[float, ...], ...] = declared(
        ((0.0,),), matrix(), "1/time", "generator of the chain: off-diagonal rates ≥ 0, rows summing to 0"
    )

    def __post_init__(self) -> None:
        validate(self)
        check_generator(self, len(self.scales), "regime in scales")

    @property
    def count(self) -> int:
        return len(self.scales)


@dataclasses.dataclass(frozen=True)
class Flow:
    """Informed flow: a hidden Markov chain over flow states, each with a direction ``z`` (−1 sellers informed, 0
    uninformed, +1 buyers informed). In state z every quoted asset's requests arrive at its bid at ``λ_b·(1 − ζ·z)``
    and at its ask at ``λ_a·(1 + ζ·z)`` (ζ the ``imbalance``), and its mid drifts by ``μ·z`` per unit time (μ the
    ``drift``), on top of the market's other dynamics. The maker never observes z; it sees the public prints (the
    requests that arrived on each side, filled or not) and the mids' moves, from which ``envs.flow`` filters its
    belief. One state (the default) is uninformed flow. The chain starts in its stationary distribution."""

    directions: tuple[float, ...] = declared(
        (0.0,), sequence_of(real(), what="numbers"), "", "z of each flow state: −1 sellers informed, +1 buyers"
    )
    switch_rates: tuple[tuple[float, ...], ...] = declared(
        ((0.0,),), matrix(), "1/time", "generator of the chain: off-diagonal rates ≥ 0, rows summing to 0"
    )
    imbalance: float = declared(0.0, real(0.0), "", "ζ: requests arrive at λ_b·(1 − ζz) and λ_a·(1 + ζz)")
    drift: float = declared(0.0, real(), "price/time", "μ: the mids drift μ·z per unit time in state z")

    def __post_init__(self) -> None:
        validate(self)
        check_generator(self, len(self.directions), "flow state in directions")
        largest = max(abs(z) for z in self.directions)
        check_fields(
            self,
            [
                (
                    "imbalance",
                    self.imbalance * largest <= 1.0,
                    f"must keep every intensity ≥ 0: ζ·max|z| ≤ 1, so ζ ≤ {1.0 / largest if largest else math.inf:g}",
                )
            ],
        )

    @property
    def count(self) -> int:
        return len(self.directions)

    def tilts(self) -> np.ndarray:
        """``(2, S)``: each side's intensity multiplier in each state, ``1 − ζz`` (bid) and ``1 + ζz`` (ask)."""
        z = np.asarray(self.directions, dtype=np.float64)
        return np.stack([1.0 - self.imbalance * z, 1.0 + self.imbalance * z])


@dataclasses.dataclass(frozen=True)
class Penalty:
    """The penalty on the book's risk, in one form: ``φ·dt·xᵀRx`` each step and ``α·xᵀRx`` at the close, x every
    position (the quoted inventories, then the hedge positions) and ``R = Σ/σ₁²`` the instruments' covariance in
    units of the first quoted asset's variance (``Market.risk_matrix``). With one asset that is ``φ·q²``; in
    general it is the mean-variance ``(γ/2)·xᵀΣx`` with ``γ = 2φ/σ₁²`` (``Market.risk_aversion``; Cartea,
    Jaimungal & Penalva 2015, §10.2)."""

    running: float = declared(0.0, real(0.0), "price/(lot²·time)", "φ, per lot² of the first asset's risk")
    terminal: float = declared(0.0, real(0.0), "price/lot²", "α, charged once at the close")
    volatility_scaled: bool = declared(
        False, flag(), "", "the running penalty scales with the regime's σ², φ·(σ_t/σ)² (mean-variance)"
    )

    def __post_init__(self) -> None:
        validate(self)


@dataclasses.dataclass(frozen=True)
class Market:
    """A market: quoted assets, hedge instruments, their correlation, regimes, the penalty and the session."""

    assets: tuple[Asset, ...] = declared((Asset(),), instances(Asset, min_length=1), "", "the quoted assets")
    hedges: tuple[HedgeInstrument, ...] = declared((), instances(HedgeInstrument), "", "hedge-only instruments")
    correlation: tuple[tuple[float, ...], ...] | None = declared(
        None,
        either(matrix(), nothing()),
        "",
        "correlation of every instrument's shocks (assets first, then hedges); null: uncorrelated",
    )
    regimes: Regimes = declared(Regimes(), nested(Regimes), "", "volatility regimes, acting on every instrument")
    flow: Flow = declared(Flow(), nested(Flow), "", "the hidden flow state, tilting every quoted asset's flow")
    penalty: Penalty = declared(Penalty(), nested(Penalty), "", "the penalty on the book's risk")
    horizon: float = declared(1.0, real(0.0, open_low=True), "time", "T, the session; it terminates at the close")
    dt: float = declared(0.005, real(0.0, open_low=True), "time", "the step; horizon/dt a whole number")
    fill_rule: str = declared(
        "poisson",
        choice(FILL_RULES),
        "",
        "a side fills with 1 − e^(−λ·dt) (poisson), clip(λ·dt, 0, 1) (as2008) or, a request having arrived with "
        "1 − e^(−λ_side·dt), with f(δ) (arrival)",
    )
    mid_process: str = declared(
        "gaussian", choice(MID_PROCESSES), "", "mid shocks σ√dt·Z (gaussian) or ±σ√dt (binomial, A–S 2008)"
    )
    quote_rule: str = declared(
        "per_side",
        choice(QUOTE_RULES),
        "",
        "one offset per side of each asset (per_side), or one per side, asset and size of its ladder (per_size: "
        "the dealer answers a request knowing its size, as in an RFQ market; BEGV 2021 §6)",
    )

    def __post_init__(self) -> None:
        if isinstance(self.correlation, np.ndarray):
            object.__setattr__(self, "correlation", self.correlation.tolist())
        validate(self)
        n = self.n_instruments
        correlation = np.eye(n) if self.correlation is None else np.asarray(self.correlation)
        if correlation.shape != (n, n):
            raise ValueError(
                f"correlation must be a {n}×{n} matrix (one row per quoted asset, then per hedge instrument); "
                f"got shape {correlation.shape}"
            )
        eigenvalues = np.linalg.eigvalsh(correlation)
        check_fields(
            self,
            [
                (
                    "correlation",
                    np.allclose(correlation, correlation.T, atol=_SPD_TOLERANCE, rtol=0.0),
                    "must be symmetric",
                ),
                (
                    "correlation",
                    np.allclose(np.diag(correlation), 1.0, atol=_SPD_TOLERANCE, rtol=0.0),
                    "must have a unit diagonal",
                ),
                (
                    "correlation",
                    eigenvalues.min() >= -_SPD_TOLERANCE,
                    f"must be positive semi-definite (eigenvalues {np.round(eigenvalues, 6).tolist()})",
                ),
                ("dt", self.dt <= self.horizon, f"must be in (0, horizon={self.horizon}]"),
                (
                    "dt",
                    whole_steps(self.horizon, self.dt),
                    f"must divide horizon={self.horizon} into a whole number of steps",
                ),
            ],
        )
        object.__setattr__(self, "correlation", tuple(tuple(float(v) for v in row) for row in correlation))
        if self.flow.count > 1:
            check_fields(
                self,
                [
                    (
                        "fill_rule",
                        self.fill_rule == "arrival",
                        "must be 'arrival' with informed flow (a request arrives, then fills the quote with f(δ): the "
                        "fills then tell nothing of the flow state beyond the public prints)",
                    ),
                    ("mid_process", self.mid_process == "gaussian", "must be 'gaussian' with informed flow"),
                ],
            )
            if not all(asset.sigma > 0 for asset in self.assets):
                raise ValueError("assets' sigma must be > 0 with informed flow (the mids' moves are its evidence)")
        if n > 1 and self.assets[0].sigma <= 0:
            raise ValueError(
                "assets[0].sigma must be > 0 in a market of several instruments (the penalty's risk is in units of "
                f"its variance); got {self.assets[0].sigma!r}"
            )

    @property
    def n_assets(self) -> int:
        return len(self.assets)

    @property
    def n_hedges(self) -> int:
        return len(self.hedges)

    @property
    def n_instruments(self) -> int:
        return len(self.assets) + len(self.hedges)

    @cached_property
    def n_steps(self) -> int:
        """Steps in a session, ``horizon / dt``."""
        return int(round(self.horizon / self.dt))

    def column(self, name: str) -> np.ndarray:
        """One asset field across the assets, ``(d,)``."""
        return np.array([getattr(asset, name) for asset in self.assets], dtype=np.float64)

    def hedge_column(self, name: str) -> np.ndarray:
        """One hedge field across the hedges, ``(m,)``."""
        return np.array([getattr(hedge, name) for hedge in self.hedges], dtype=np.float64)

    def instrument_column(self, name: str) -> np.ndarray:
        """A field assets and hedges share (``s0``, ``sigma``, ``drift``) across every instrument, ``(d+m,)``."""
        return np.concatenate([self.column(name), self.hedge_column(name)])

    @cached_property
    def instrument_covariance(self) -> np.ndarray:
        """``Σ = diag(σ)·C·diag(σ)`` [price²/time] over every instrument, ``(d+m, d+m)``, quoted assets first, at
        the base volatility."""
        sigma = self.instrument_column("sigma")
        return sigma[:, None] * np.asarray(self.correlation) * sigma[None, :]

    @property
    def covariance(self) -> np.ndarray:
        """The quoted assets' block of ``instrument_covariance``, ``(d, d)`` [price²/time]."""
        return self.instrument_covariance[: self.n_assets, : self.n_assets]

    @cached_property
    def risk_matrix(self) -> np.ndarray:
        """``R = Σ/σ₁²`` [dimensionless], the penalty's risk per lot² of the first asset (``[[1]]`` for one
        instrument, whatever its σ)."""
        if self.n_instruments == 1:
            return np.ones((1, 1))
        return self.instrument_covariance / self.assets[0].sigma ** 2

    @cached_property
    def penalty_matrix(self) -> np.ndarray:
        """``Φ = φ·R`` [price/(lot²·time)] over every instrument, at the base volatility: the running penalty pays
        ``dt·xᵀΦx`` each step (the mean-variance ``(γ/2)·Σ``)."""
        return self.penalty.running * self.risk_matrix

    @property
    def risk_aversion(self) -> float:
        """γ = 2φ/σ₁² [1/price]: the penalty as the mean-variance ``(γ/2)·xᵀΣx`` (``nan`` where σ₁ = 0)."""
        sigma = self.assets[0].sigma
        return 2.0 * self.penalty.running / sigma**2 if sigma > 0 else math.nan

    @cached_property
    def min_variance_hedge(self) -> np.ndarray:
        """``H = −Σ_hh⁺·Σ_hq``, ``(m, d)`` [lots of hedge per lot of inventory]: the hedge positions ``H·q`` that
        minimize the book's variance given the inventories q (a pseudo-inverse where hedges coincide)."""
        d, sigma = self.n_assets, self.instrument_covariance
        return -np.linalg.pinv(sigma[d:, d:]) @ sigma[d:, :d]

    @cached_property
    def triangular_loading(self) -> np.ndarray:
        """Lower-triangular L with ``L·Lᵀ = C`` (Cholesky, pivots of a semi-definite C left at 0): instrument i's
        shock mixes the first i + 1 independent draws only, so under the binomial mid the first asset moves by
        exactly ``±σ√dt`` and a hedge by ``ρ·s ± √(1 − ρ²)·o``, as in the single-asset core."""
        correlation = np.asarray(self.correlation)
        n = correlation.shape[0]
        loading = np.zeros((n, n))
        for j in range(n):
            pivot = correlation[j, j] - loading[j, :j] @ loading[j, :j]
            loading[j, j] = np.sqrt(max(pivot, 0.0))
            if loading[j, j] > _SPD_TOLERANCE:
                loading[j + 1 :, j] = (correlation[j + 1 :, j] - loading[j + 1 :, :j] @ loading[j, :j]) / loading[j, j]
        return loading

    @cached_property
    def size_table(self) -> tuple[np.ndarray, np.ndarray]:
        """``(sizes, probabilities)``, each ``(d, l)`` with l the longest ladder; shorter ladders are padded with
        zero-probability entries of their last size."""
        longest = max(len(asset.sizes) for asset in self.assets)
        sizes = np.array([a.sizes + (a.sizes[-1],) * (longest - len(a.sizes)) for a in self.assets])
        probabilities = np.array(
            [a.size_probabilities + (0.0,) * (longest - len(a.sizes)) for a in self.assets], dtype=np.float64
        )
        return sizes.astype(np.int64), probabilities

    @property
    def quote_buckets(self) -> int:
        """Offsets quoted per side and asset: the longest size ladder under the per-size rule, else 1."""
        return max(len(asset.sizes) for asset in self.assets) if self.quote_rule == "per_size" else 1

    def resolved(self) -> Market:
        """This market, as ``World.resolved``: its agent's scales are all derived from its fields."""
        return self

    @cached_property
    def regime_step_transition(self) -> np.ndarray:
        """One-step transition matrix of the regime chain, ``expm(G·dt)`` (row-stochastic)."""
        return step_transition(self.regimes.switch_rates, self.dt)

    @cached_property
    def stationary_regime_distribution(self) -> np.ndarray:
        """Stationary law of the regime chain (uniform over regimes if it is not unique)."""
        return stationary_distribution(self.regime_step_transition)

    @cached_property
    def flow_step_transition(self) -> np.ndarray:
        """One-step transition matrix of the flow chain, ``expm(G·dt)`` (row-stochastic)."""
        return step_transition(self.flow.switch_rates, self.dt)

    @cached_property
    def stationary_flow_distribution(self) -> np.ndarray:
        """Stationary law of the flow chain: the law of the opening state and the maker's belief at the open."""
        return stationary_distribution(self.flow_step_transition)

    @cached_property
    def running_penalty_levels(self) -> np.ndarray:
        """φ in each regime [price/(lot²·time)]: φ, or φ·scale² when volatility-scaled."""
        scales = np.asarray(self.regimes.scales, dtype=np.float64)
        levels = scales**2 if self.penalty.volatility_scaled else np.ones_like(scales)
        return self.penalty.running * levels

    def asset_alone(self, index: int) -> Market:
        """Quoted asset ``index`` as a market of its own: no other asset or hedge, the same regimes, session and
        rules, and the penalty on its own risk, ``φ·Rᵢᵢ`` and ``α·Rᵢᵢ`` (the asset's part of ``xᵀRx``)."""
        share = float(self.risk_matrix[index, index])
        penalty = dataclasses.replace(
            self.penalty, running=self.penalty.running * share, terminal=self.penalty.terminal * share
        )
        return self.replace(assets=(self.assets[index],), hedges=(), correlation=None, penalty=penalty)

    def without_flow(self, direction: float | None = None) -> Market:
        """The market with the flow state fixed at a mean direction m (by default the stationary mean, as a maker
        blind to the flow models it): one uninformed state, m folded into every asset's flow (bid ``λ_b·(1 − ζm)``,
        ask ``λ_a·(1 + ζm)``) and drift (``+ μ·m``). The market itself where the flow has one state."""
        if self.flow.count == 1:
            return self
        mean = float(self.stationary_flow_distribution @ np.asarray(self.flow.directions))
        mean = 0.0 if abs(mean) < 1e-12 else mean  # a symmetric chain's, exactly
        mean = mean if direction is None else float(direction)
        bid, ask = 1.0 - self.flow.imbalance * mean, 1.0 + self.flow.imbalance * mean
        assets = []
        for asset in self.assets:
            total = asset.sell_share * bid + (1.0 - asset.sell_share) * ask  # A' / A
            assets.append(
                dataclasses.replace(
                    asset,
                    arrival_intensity=asset.arrival_intensity * total,
                    sell_share=asset.sell_share * bid / total if total > 0 else 0.5,
                    drift=asset.drift + self.flow.drift * mean,
                )
            )
        return self.replace(assets=tuple(assets), flow=Flow())

    def replace(self, **overrides: Any) -> Market:
        """A copy with some fields changed (validated like any market; ``ValueError`` names an unknown field).

        A mapping given for ``regimes`` or ``penalty`` changes only the fields it names (``penalty={"running": 2}``
        keeps the terminal penalty), as ``--set world.overrides.penalty.running=2`` means."""
        accepted = [f.name for f in dataclasses.fields(Market)]
        unknown = sorted(set(overrides) - set(accepted))
        if unknown:
            raise ValueError(f"unknown market field(s) {unknown}; accepted: {accepted}")
        for name, value in overrides.items():
            current = getattr(self, name)
            if isinstance(value, dict) and isinstance(current, (Regimes, Flow, Penalty)):
                fields = [f.name for f in dataclasses.fields(current)]
                if set(value) - set(fields):
                    raise ValueError(
                        f"{name}: unknown {type(current).__name__} field(s) {sorted(set(value) - set(fields))}; "
                        f"accepted: {fields}"
                    )
                try:
                    overrides[name] = dataclasses.replace(current, **value)
                except ValueError as error:
                    raise ValueError(f"{name}: {error}") from None
        return dataclasses.replace(self, **overrides)

    def document(self) -> dict[str, Any]:
        """Every field as plain data (lists and mappings), which ``Market.from_document`` reads back."""
        return _plain(dataclasses.asdict(self))

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Market:
        """A market from plain data (as ``document`` writes it, or YAML): nested mappings for the assets, hedges,
        regimes and penalty; ``ValueError`` names an unknown or bad field."""
        if not isinstance(document, dict):
            raise ValueError(f"a market must be a mapping of its fields; got {document!r}")
        return Market().replace(**document)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(entry) for key, entry in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(entry) for entry in value]
    return value
