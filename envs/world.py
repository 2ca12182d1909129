"""The market-making world: one frozen, validated dataclass read by env, baselines and eval alike.

Units: prices in currency, time in the model's unit (the A–S session is ``horizon = 1``), inventory in
lots. A quote's *offset* ``δ`` is its distance from the mid (bid at ``s − δ_b``, ask at ``s + δ_a``);
market orders reach a quote at offset ``δ`` with Poisson intensity ``λ(δ) = A_side·e^(−k·δ)``
(Avellaneda & Stoikov 2008, eq. 2.12).

Scales the world derives from its own physics when a field leaves them unset (``None``), so that a
world nobody tuned for is still learnable: the offset range actions map onto, and the inventory and time
units of the observation (``World.offset_range``, ``World.inventory_unit``, ``World.time_unit``; see
``envs.interface.natural_scales``).

A world is a view of a one-asset ``envs.market.Market`` (``World.market``) plus the agent's interface fields.
"""

from __future__ import annotations

import dataclasses
from functools import cached_property
from typing import Any

import numpy as np

from envs.interface import OBSERVATION_FEATURES, Interface, default_features, natural_scales
from envs.market import FILL_RULES, MID_PROCESSES, Asset, HedgeInstrument, Market, Penalty, Regimes
from envs.observation import observation_names
from envs.spaces import action_names
from envs.validation import (
    check_fields,
    choice,
    declared,
    either,
    flag,
    integer,
    matrix,
    nothing,
    real,
    sequence_of,
    validate,
    whole_steps,
)


@dataclasses.dataclass(frozen=True)
class World:
    """Parameters of one market. Every field is validated at construction (``ValueError`` names it).

    Fields (units in brackets):

    - ``s0`` [price]: mid at the open.
    - ``sigma`` [price / √time]: base volatility of the mid, ``dS = σ dW``.
    - ``horizon`` [time]: session length T; the episode terminates at the close.
    - ``dt`` [time]: step length; ``horizon / dt`` must be a whole number of steps.
    - ``arrival_intensity`` [1/time]: A, arrival rate per side at zero offset when flow is balanced.
    - ``fill_decay`` [1/price]: k in ``λ(δ) = A·e^(−k·δ)``.
    - ``sell_share``: fraction of arriving market orders that are sells (they hit the bid); the bid
      sees intensity ``2A·sell_share``, the ask ``2A·(1 − sell_share)``; 0.5 is balanced.
    - ``fill_rule``: ``"poisson"`` fills a side with probability ``1 − e^(−λ·dt)``; ``"as2008"`` with
      ``clip(λ·dt, 0, 1)``, the literal rule of the paper's simulation.
    - ``mid_process``: ``"gaussian"`` (``σ√dt·Z``) or ``"binomial"`` (``±σ√dt``, A–S 2008).
    - ``max_inventory`` [lots]: Q; at ``|q| ≥ Q`` the side that would grow ``|q|`` is never filled.
    - ``running_penalty`` [price / (lot²·time)]: φ, the reward pays ``φ·q²·dt`` each step.
    - ``volatility_scaled_penalty``: if true the running penalty is ``φ·(σ_t/σ)²·q²·dt``, σ_t the
      current regime's volatility: the mean-variance form ``φ = γσ²/2`` (Cartea et al. 2015), under
      which a stressed regime makes inventory dearer. Off by default.
    - ``terminal_penalty`` [price / lot²]: α, the reward pays ``α·q_T²`` at the close.
    - ``adverse_jump`` [price]: ξ, the mid moves against the maker by ξ after each fill.
    - ``fee`` [price / lot]: paid per lot filled; negative is a rebate.
    - ``initial_inventory`` [lots]: a fixed integer, or ``(low, high)`` drawn uniformly (inclusive).
    - ``regime_scales``: volatility regimes as multiples of ``sigma`` (one entry: constant volatility).
    - ``regime_switch_rates`` [1/time]: generator matrix of the regime Markov chain (off-diagonal
      rates ≥ 0, rows summing to 0); the chain starts in its stationary distribution.
    - ``min_offset``, ``max_offset`` [price]: the range actions map onto; ``min_offset`` may be
      negative (a quote through the mid); an offset at ``max_offset`` means the side is pulled.
      ``None`` (the default): derived from the world's scales, see ``World.offset_range``.
    - ``inventory_scale`` [lots]: the observation reports ``inventory / inventory_scale``. ``None``
      (the default): derived, three times the inventory's natural standard deviation, capped at Q;
      see ``World.inventory_unit``.
    - ``time_scale`` [time]: the observation reports ``time_to_close / time_scale``. ``None`` (the
      default): derived, the time over which the close still moves the optimal quotes, capped at the
      session; see ``World.time_unit``.
    - ``observation_features``: extra observations after the base three (and the hedge position), from
      ``"mid_return"``, ``"last_fills"``, ``"fill_imbalance"``, ``"close_proximity"`` (1 / steps left: the
      time input that tells the close's last steps apart, where ``time_to_close`` moves by ``dt/time_unit``),
      ``"close_relaxation"`` (``e^(−(T−t)/τ)``, τ the optimal skew's relaxation time: the shape in time of the
      close's pull on the optimal quotes). ``None`` (the default): derived, ``("close_proximity",)``, with
      ``"close_relaxation"`` after it where the session outlasts its close (see ``World.observed_features``);
      a list given replaces it (``[]``: the base entries alone).

    The hedge instrument (rung 3), absent unless ``hedge_sigma`` is set: a second, correlated mid the
    maker never quotes but trades (the source documents' "offset the residual inventory in a
    correlated, more liquid instrument"). Its fields:

    - ``hedge_sigma`` [price / √time]: σ₂, its volatility (scaled by the regimes like σ); ``None``: no
      hedge instrument, and every other ``hedge_*`` field must stay at its default.
    - ``hedge_correlation``: ρ ∈ [−1, 1], correlation of the two mids' Brownian shocks.
    - ``hedge_max_trade`` [lots / step]: U_max, the largest trade the hedge action can ask for.
    - ``hedge_lot`` [lots]: h, trades are rounded to multiples of it; it divides ``hedge_max_trade``
      and ``hedge_max_position``.
    - ``hedge_max_position`` [lots]: Q₂; trades are clipped so that ``|q₂| ≤ Q₂``.
    - ``hedge_spread_cost`` [price / lot]: ψ, half-spread and fee paid per lot traded.
    - ``hedge_impact`` [price·time / lot²]: η, temporary impact: a trade of u lots costs ``η·u²/dt``
      (the per-step form of ``L(v) = η·v² + ψ·|v|``, Barzykin, Bergault & Guéant 2023).
    - ``hedge_ticket_fee`` [price / trade]: a fixed fee for each step with a non-zero trade.

    With a hedge instrument the penalties apply to the net risk: ``φ·dt·qᵀRq`` and ``α·qᵀRq`` with
    ``q = (q₁, q₂)`` and ``R = Σ/σ₁²`` (``Market.risk_matrix``), i.e. ``Φ = (γ/2)·Σ`` with
    ``γ = 2φ/σ₁²``; a world without one is exactly the single-asset world.
    """

    s0: float = declared(100.0, real(), "price", "mid at the open")
    sigma: float = declared(2.0, real(0.0), "price/√time", "base volatility of the mid")
    horizon: float = declared(1.0, real(0.0, open_low=True), "time", "T, the session")
    dt: float = declared(0.005, real(0.0, open_low=True), "time", "the step; horizon/dt a whole number")
    arrival_intensity: float = declared(140.0, real(0.0), "1/time", "A, per side at zero offset, balanced flow")
    fill_decay: float = declared(1.5, real(0.0, open_low=True), "1/price", "k in A·e^(−k·δ)")
    sell_share: float = declared(0.5, real(0.0, 1.0), "", "share of market orders that are sells")
    fill_rule: str = declared("poisson", choice(FILL_RULES), "", "how an intensity becomes a step's fill chance")
    mid_process: str = declared("gaussian", choice(MID_PROCESSES), "", "σ√dt·Z or ±σ√dt")
    max_inventory: int = declared(50, integer(1), "lots", "Q, the position limit")
    running_penalty: float = declared(0.0, real(0.0), "price/(lot²·time)", "φ, paid as φ·q²·dt each step")
    volatility_scaled_penalty: bool = declared(False, flag(), "", "φ scaled by (σ_t/σ)²")
    terminal_penalty: float = declared(0.0, real(0.0), "price/lot²", "α, paid as α·q_T² at the close")
    adverse_jump: float = declared(0.0, real(0.0), "price", "ξ, the mid's move against the maker after a fill")
    fee: float = declared(0.0, real(), "price/lot", "paid per lot filled; negative is a rebate")
    initial_inventory: int | tuple[int, int] = declared(
        0,
        either(integer(), sequence_of(integer(), min_length=2, what="integers (low, high)")),
        "lots",
        "the opening inventory, or (low, high) drawn uniformly",
    )
    regime_scales: tuple[float, ...] = declared(
        (1.0,), sequence_of(real(0.0, open_low=True), what="numbers > 0"), "", "regimes' σ as multiples of σ"
    )
    regime_switch_rates: tuple[tuple[float, ...], ...] = declared(
        ((0.0,),), matrix(), "1/time", "generator matrix of the regime chain"
    )
    min_offset: float | None = declared(None, either(real(), nothing()), "price", "low end of the action range")
    max_offset: float | None = declared(None, either(real(), nothing()), "price", "high end of the action range")
    inventory_scale: float | None = declared(
        None, either(real(0.0, open_low=True), nothing()), "lots", "observed inventory unit"
    )
    time_scale: float | None = declared(None, either(real(0.0, open_low=True), nothing()), "time", "observed time unit")
    observation_features: tuple[str, ...] | None = declared(
        None,
        either(sequence_of(choice(OBSERVATION_FEATURES), min_length=0, what="names"), nothing()),
        "",
        f"extra observations from {OBSERVATION_FEATURES}",
    )
    hedge_sigma: float | None = declared(
        None, either(real(0.0, open_low=True), nothing()), "price/√time", "σ₂; null: no hedge instrument"
    )
    hedge_correlation: float = declared(0.0, real(-1.0, 1.0), "", "ρ of the two mids' shocks")
    hedge_max_trade: int = declared(0, integer(0), "lots/step", "U_max, the largest hedge trade")
    hedge_lot: int = declared(1, integer(1), "lots", "h, hedge trades are multiples of it")
    hedge_max_position: int = declared(0, integer(0), "lots", "Q₂, the hedge position limit")
    hedge_spread_cost: float = declared(0.0, real(0.0), "price/lot", "ψ, paid per lot traded")
    hedge_impact: float = declared(0.0, real(0.0), "price·time/lot²", "η, a trade of u lots pays η·u²/dt")
    hedge_ticket_fee: float = declared(0.0, real(0.0), "price/trade", "paid per step with a hedge trade")

    def __post_init__(self) -> None:
        validate(self)
        check_fields(
            self,
            [
                ("dt", self.dt <= self.horizon, f"must be in (0, horizon={self.horizon}]"),
                (
                    "dt",
                    whole_steps(self.horizon, self.dt),
                    f"must divide horizon={self.horizon} into a whole number of steps",
                ),
                (
                    "initial_inventory",
                    len(np.shape(self.initial_inventory)) == 0 or len(self.initial_inventory) == 2,
                    "must be an integer or a (low, high) pair",
                ),
            ],
        )
        low, high = self.inventory_bounds
        if not -self.max_inventory <= low <= high <= self.max_inventory:
            raise ValueError(
                f"initial_inventory must lie in [-max_inventory, max_inventory] = "
                f"[{-self.max_inventory}, {self.max_inventory}] with low ≤ high; "
                f"got {self.initial_inventory!r}"
            )
        try:  # the market's regimes validate them; their fields are this world's regime_* fields
            Regimes(self.regime_scales, self.regime_switch_rates)
        except ValueError as error:
            raise ValueError(f"regime_{error}".replace("per regime in scales", "per regime in regime_scales")) from None
        if (self.min_offset is None) != (self.max_offset is None):
            raise ValueError(
                "min_offset and max_offset must be set together (both numbers) or left out together (both "
                f"derived); got min_offset={self.min_offset!r}, max_offset={self.max_offset!r}"
            )
        if self.max_offset is not None:
            if self.max_offset <= self.min_offset:
                raise ValueError(f"max_offset must be > min_offset={self.min_offset}; got {self.max_offset!r}")
            if self.max_offset <= 0:
                raise ValueError(f"max_offset must be > 0; got {self.max_offset!r}")
        features = self.observation_features or ()
        if len(set(features)) != len(features):
            raise ValueError(f"observation_features must be distinct names; got {self.observation_features!r}")
        self._validate_hedge()

    def _validate_hedge(self) -> None:
        if self.hedge_sigma is None:
            changed = [name for name, default in HEDGE_DEFAULTS.items() if getattr(self, name) != default]
            if changed:
                raise ValueError(
                    f"{changed[0]} is set but the world has no hedge instrument; set hedge_sigma (> 0) to add "
                    f"one, or leave {changed} at their defaults"
                )
            return
        check_fields(
            self,
            [("sigma", self.sigma > 0, "must be > 0 in a world with a hedge instrument (its risk is relative to σ)")],
        )
        try:  # the market's hedge instrument validates its terms; its fields are this world's hedge_* fields
            self._hedge_instrument()
        except ValueError as error:
            raise ValueError(f"hedge_{error}".replace("of lot=", "of hedge_lot=")) from None

    # Derived quantities: properties, so they cannot drift from the fields.
    @cached_property
    def n_steps(self) -> int:
        """Steps in a session, ``horizon / dt``."""
        return int(round(self.horizon / self.dt))

    @property
    def inventory_bounds(self) -> tuple[int, int]:
        """Inclusive range the opening inventory is drawn from [lots]."""
        if isinstance(self.initial_inventory, tuple):
            return self.initial_inventory
        return (self.initial_inventory, self.initial_inventory)

    @cached_property
    def hedged(self) -> bool:
        """Whether the world has a hedge instrument (``hedge_sigma`` set)."""
        return self.hedge_sigma is not None

    @property
    def hedge_ratio(self) -> float:
        """The minimum-variance hedge per lot of inventory, ``−ρ·σ₁/σ₂`` [lots/lot] (0 without a hedge)."""
        return -self.hedge_correlation * self.sigma / self.hedge_sigma if self.hedged else 0.0

    @cached_property
    def market(self) -> Market:
        """The physics of this world as a one-asset ``Market`` (its hedge instrument a hedge-only instrument
        opening at ``s0``); the agent's interface fields (offset range, scales, features) are not part of it."""
        asset = Asset(
            s0=self.s0,
            sigma=self.sigma,
            arrival_intensity=self.arrival_intensity,
            sell_share=self.sell_share,
            fill_decay=self.fill_decay,
            max_inventory=self.max_inventory,
            initial_inventory=self.initial_inventory,
            fee=self.fee,
            adverse_jump=self.adverse_jump,
        )
        hedges, correlation = (), None
        if self.hedged:
            hedges = (self._hedge_instrument(),)
            correlation = ((1.0, self.hedge_correlation), (self.hedge_correlation, 1.0))
        return Market(
            assets=(asset,),
            hedges=hedges,
            correlation=correlation,
            regimes=Regimes(self.regime_scales, self.regime_switch_rates),
            penalty=Penalty(self.running_penalty, self.terminal_penalty, self.volatility_scaled_penalty),
            horizon=self.horizon,
            dt=self.dt,
            fill_rule=self.fill_rule,
            mid_process=self.mid_process,
        )

    def _hedge_instrument(self) -> HedgeInstrument:
        """The hedge instrument as the market's ``HedgeInstrument`` (opening at ``s0``), from the ``hedge_*`` fields."""
        return HedgeInstrument(
            s0=self.s0,
            sigma=self.hedge_sigma,
            spread_cost=self.hedge_spread_cost,
            impact=self.hedge_impact,
            ticket_fee=self.hedge_ticket_fee,
            max_trade=self.hedge_max_trade,
            lot=self.hedge_lot,
            max_position=self.hedge_max_position,
        )

    @cached_property
    def natural_scales(self) -> dict[str, float]:
        """The world's own scales, from which unset ranges are derived: ``envs.interface.natural_scales`` of its
        market, its one asset's entries as numbers."""
        scales = natural_scales(self.market)
        return {name: float(np.asarray(value).reshape(-1)[0]) for name, value in scales.items()}

    @cached_property
    def offset_range(self) -> tuple[float, float]:
        """``(min_offset, max_offset)`` [price]: as set, or derived (``natural_scales``)."""
        if self.min_offset is not None:
            return self.min_offset, self.max_offset
        scales = self.natural_scales
        return scales["min_offset"], scales["max_offset"]

    @cached_property
    def inventory_unit(self) -> float:
        """Lots per unit of the observed inventory: ``inventory_scale`` as set, or derived."""
        return self.inventory_scale if self.inventory_scale is not None else self.natural_scales["inventory_scale"]

    @cached_property
    def time_unit(self) -> float:
        """Time per unit of the observed time to close: ``time_scale`` as set, or derived."""
        return self.time_scale if self.time_scale is not None else self.natural_scales["time_scale"]

    def resolved(self) -> World:
        """This world with every derived scale written in, so that it survives a change of defaults."""
        low, high = self.offset_range
        return dataclasses.replace(
            self,
            min_offset=low,
            max_offset=high,
            inventory_scale=self.inventory_unit,
            time_scale=self.time_unit,
            observation_features=self.observed_features,
        )

    @cached_property
    def observed_features(self) -> tuple[str, ...]:
        """The extra observations: ``observation_features`` as set, or derived (``envs.interface.default_features``)."""
        if self.observation_features is not None:
            return self.observation_features
        return default_features(self.market)

    @cached_property
    def interface(self) -> Interface:
        """The agent's interface to this world's market: its offset range, inventory and time units and features,
        as set or derived."""
        return Interface(
            self.market, (self.offset_range,), (self.inventory_unit,), self.time_unit, self.observed_features
        )

    @cached_property
    def action_names(self) -> tuple[str, ...]:
        """The action's legs, in order (``envs.spaces.action_names``): ``bid``, ``ask`` and, hedged, ``hedge``."""
        return action_names(self.interface)

    @cached_property
    def observation_names(self) -> tuple[str, ...]:
        """Names of the observation's columns, in order (``envs.observation.observation_names``)."""
        return observation_names(self.interface)

    def without_hedge(self, risk_share: float = 1.0) -> World:
        """The quoted market alone: the hedge instrument removed, both penalties scaled by ``risk_share``
        (``1 − ρ²`` prices only the basis risk left by the minimum-variance hedge)."""
        return dataclasses.replace(
            self,
            **HEDGE_DEFAULTS,
            running_penalty=self.running_penalty * risk_share,
            terminal_penalty=self.terminal_penalty * risk_share,
        )

    def replace(self, **overrides: Any) -> World:
        """A copy with some fields changed (validated like any world)."""
        check_field_names(overrides)
        return dataclasses.replace(self, **overrides)


def world_of_market(market: Market) -> World:
    """The single-asset ``World`` whose ``World.market`` is ``market`` (its interface fields derived), where a World
    can hold it: one exponential asset with unit sizes and no drift, and at most one hedge opening at the asset's
    mid without drift. ``ValueError`` names the first field it cannot hold."""
    if market.n_assets != 1:
        raise ValueError(f"a single-asset World holds one quoted asset; this market has {market.n_assets}")
    asset = market.assets[0]
    checks = [
        ("assets[0].fill_curve", asset.fill_curve == "exponential", "'exponential'"),
        ("assets[0].sizes", tuple(asset.sizes) == (1,), "(1,)"),
        ("assets[0].drift", asset.drift == 0.0, "0.0"),
        ("hedges", market.n_hedges <= 1, "at most one"),
    ]
    if market.n_hedges == 1:
        hedge = market.hedges[0]
        checks += [
            ("hedges[0].s0", hedge.s0 == asset.s0, f"the asset's s0 ({asset.s0})"),
            ("hedges[0].drift", hedge.drift == 0.0, "0.0"),
        ]
    for field, holds, accepted in checks:
        if not holds:
            raise ValueError(f"a single-asset World cannot hold this market's {field}; it accepts {accepted}")
    hedge_fields = {}
    if market.n_hedges:
        hedge = market.hedges[0]
        hedge_fields = {
            f"hedge_{name}": getattr(hedge, name)
            for name in ("sigma", "spread_cost", "impact", "ticket_fee", "max_trade", "lot", "max_position")
        }
        hedge_fields["hedge_correlation"] = market.correlation[0][1]
    world = World(
        s0=asset.s0,
        sigma=asset.sigma,
        horizon=market.horizon,
        dt=market.dt,
        arrival_intensity=asset.arrival_intensity,
        fill_decay=asset.fill_decay,
        sell_share=asset.sell_share,
        fill_rule=market.fill_rule,
        mid_process=market.mid_process,
        max_inventory=asset.max_inventory,
        running_penalty=market.penalty.running,
        volatility_scaled_penalty=market.penalty.volatility_scaled,
        terminal_penalty=market.penalty.terminal,
        adverse_jump=asset.adverse_jump,
        fee=asset.fee,
        initial_inventory=asset.initial_inventory,
        regime_scales=tuple(market.regimes.scales),
        regime_switch_rates=tuple(tuple(row) for row in market.regimes.switch_rates),
        **hedge_fields,
    )
    if world.market != market:
        raise ValueError("a single-asset World cannot hold this market: its physics differ from the World's market")
    return world


HEDGE_DEFAULTS = {
    name: field.default for name, field in World.__dataclass_fields__.items() if name.startswith("hedge_")
}


def field_names() -> list[str]:
    """Names of every world field."""
    return [f.name for f in dataclasses.fields(World)]


def check_field_names(names: Any) -> None:
    """``ValueError`` naming any of ``names`` that is not a world field."""
    unknown = sorted(set(names) - set(field_names()))
    if unknown:
        raise ValueError(f"unknown world field(s) {unknown}; accepted: {field_names()}")
