"""The agent's interface to a market, apart from its physics: the offset range each quote's action spans, the units
of the observed inventories and hedge positions, the unit of the observed time to close and the observed features
(``Interface``), each derived from the market's physics unless given (``derived_interface``).

One definition for every market, one asset or many (a single-asset ``World`` sets its interface fields or leaves
them derived, ``World.interface``). A world nobody tuned for is still learnable: its actions and observations are
of order one wherever the optimum takes them. A learned policy carries its market and its interface.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from functools import cached_property
from typing import Any

import numpy as np

from envs.market import Market

# Observations beyond the base entries (inventory, time to close, volatility, hedge positions), by name.
OBSERVATION_FEATURES = (
    "mid_return",
    "last_fills",
    "fill_imbalance",
    "close_proximity",
    "close_relaxation",
    "prints",
    "flow_signals",
    "flow_belief",
)

# Relaxation times of the optimal skew after which the close no longer moves the quotes.
CLOSE_RELAXATIONS = 20.0


def natural_scales(market: Market) -> dict[str, np.ndarray | float]:
    """Natural scales of a market (``_natural_scales``), a fresh dict of its cached read-only arrays."""
    return dict(_natural_scales(market))


@functools.lru_cache(maxsize=256)
def _natural_scales(market: Market) -> dict[str, np.ndarray | float]:
    """Natural scales of a market, from its physics alone: per quoted asset (read-only arrays of shape ``(d,)``)
    unless noted.

    Each asset i is taken alone, with its own share of the penalty, ``φᵢ = φ·Rᵢᵢ`` (``Market.risk_matrix``), and
    ``φ̄ᵢ = max(largest regime φᵢ, αᵢ/T)`` so that a terminal-only penalty counts.

    - ``myopic_offset`` [price]: the risk-neutral quote ``δ̃(0)`` (``Asset.best_response``), 1/k for the exponential
      curve.
    - ``fill_rate`` λ = A·f(δ̃(0)) [1/time]: requests filled per side per unit time at the myopic quote, ``A·e^(−1)``
      for the exponential curve.
    - ``skew_per_lot`` c = √(φ̄ / (κ·λ·E[z])) [price/lot], κ = ``Asset.effective_decay`` (k for the exponential
      curve): the asymptotic optimal centre shift per lot, the Guéant–Lehalle–Fernandez-Tapia (2013, eq. 4.6)
      constant with γσ²/2 → φ̄ (Cartea, Jaimungal & Penalva 2015, §10.2; with a fill curve and sizes, Bergault,
      Evangelista, Guéant & Vieira 2021: ``√(γσ²/D)``, ``D = 2·A·H''(0)·E[z]``).
    - ``inventory_std`` [lots]: the smaller of the stationary spread of inventory under that skew,
      ``√(E[z²] / (2κc·E[z]))`` (drift ``−2κλc·E[z]·q``, variance rate ``2λ·E[z²]``), and the unskewed random walk
      over the session, ``√(2λ·E[z²]·T)``.
    - ``inventory_scale`` [lots]: 3 × ``inventory_std``, between 1 and Q.
    - ``reach`` [price]: ``δ̃(0) + c·(inventory_scale + z̄ − 1) + |μ|·T + ξ + |fee|``, the distance from the mid
      that the quotes of visited states span, z̄ the size-weighted size (a ladder's fills overshoot the visited
      inventories by z̄ − 1 lots more than unit fills); the offset range is ``δ̃(0) − 1.5·reach`` to
      ``δ̃(0) + 2·reach`` (``min_offset``, ``max_offset``).
    - ``close_time`` τ [time, a number]: the longest relaxation time of the optimal skew over the assets,
      ``1/(2√(φᵢ,min·κ·λ·E[z]))`` with the calmest regime's penalty ``φᵢ,min = max(smallest regime φᵢ, αᵢ/T)``
      (the GLFT/CJP Riccati's ``1/(2κc)``); ∞ without a penalty.
    - ``time_scale`` [time, a number]: ``min(T, CLOSE_RELAXATIONS·τ)``, the span in which the close moves the
      optimal quotes (they have relaxed by ``e^(−CLOSE_RELAXATIONS)`` beyond it).
    """
    horizon = market.horizon
    risk = np.diag(market.risk_matrix)
    scales: dict[str, list[float]] = {
        name: [] for name in ("myopic_offset", "fill_rate", "skew_per_lot", "inventory_std", "inventory_scale", "reach")
    }
    close_times = []
    for index, asset in enumerate(market.assets):
        decay = asset.effective_decay
        myopic = float(asset.best_response(0.0))
        fill_rate = asset.arrival_intensity * asset.myopic_fill_chance
        mean, second = asset.mean_size, asset.second_size_moment
        levels = market.running_penalty_levels * risk[index]
        terminal = market.penalty.terminal * risk[index] / horizon
        penalty = max(float(levels.max()), terminal)
        skew = math.sqrt(penalty / (decay * fill_rate * mean)) if penalty > 0 and fill_rate > 0 else 0.0
        random_walk = math.sqrt(2.0 * fill_rate * second * horizon)
        stationary = math.sqrt(second / (2.0 * decay * skew * mean)) if skew > 0 else math.inf
        inventory_std = min(stationary, random_walk)
        inventory_scale = min(max(3.0 * inventory_std, 1.0), float(asset.max_inventory))
        overshoot = asset.size_weighted_size - 1.0
        reach = myopic + skew * (inventory_scale + overshoot) + abs(asset.drift) * horizon
        reach = reach + asset.adverse_jump + abs(asset.fee)
        calmest = max(float(levels.min()), terminal)
        relaxing = calmest > 0 and fill_rate > 0
        close_times.append(0.5 / math.sqrt(calmest * decay * fill_rate * mean) if relaxing else math.inf)
        values = (myopic, fill_rate, skew, inventory_std, inventory_scale, reach)
        for name, value in zip(scales, values, strict=True):
            scales[name].append(value)
    result: dict[str, np.ndarray | float] = {name: np.array(values) for name, values in scales.items()}
    result["min_offset"] = result["myopic_offset"] - 1.5 * result["reach"]
    result["max_offset"] = result["myopic_offset"] + 2.0 * result["reach"]
    close_time = max(close_times)
    result["close_time"] = close_time
    result["time_scale"] = min(horizon, CLOSE_RELAXATIONS * close_time)
    for value in result.values():  # cached and shared: read-only
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
    return result


def hedge_units(market: Market, inventory_unit: np.ndarray) -> np.ndarray:
    """``(m,)`` [lots]: lots per unit of each observed hedge position, the minimum-variance hedge of a book holding
    every asset's inventory unit [lots, ``(d,)``], ``Σᵢ |Hⱼᵢ|·unitᵢ`` (``Market.min_variance_hedge``; ``|ρ|·σ₁/σ₂``
    per lot for one asset and one hedge), between the hedge's lot and Q₂."""
    reach = np.abs(market.min_variance_hedge) @ np.asarray(inventory_unit, dtype=np.float64)
    return np.clip(reach, market.hedge_column("lot"), market.hedge_column("max_position"))


@dataclasses.dataclass(frozen=True)
class Interface:
    """What an agent's observations and actions are relative to in ``market`` (the observation table
    ``envs.observation``, the action layout ``envs.spaces``). Validated at construction (``ValueError`` names the
    field).

    - ``offset_range`` [price]: per quoted asset, ``(low, high)``, the offsets a quote's action spans from −1 to
      +1 (``high`` > 0 and > ``low``; an action at +1 pulls the side; ``low`` may be negative, through the mid).
    - ``inventory_unit`` [lots]: per quoted asset, lots per unit of observed inventory (> 0).
    - ``time_unit`` [time]: time per unit of the observed time to close (> 0).
    - ``features``: the observed features after the base entries, distinct names from ``OBSERVATION_FEATURES``.

    Hedge positions are observed in ``hedge_unit`` (the minimum-variance hedge of ``inventory_unit``).
    """

    market: Market
    offset_range: tuple[tuple[float, float], ...]
    inventory_unit: tuple[float, ...]
    time_unit: float
    features: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        d = self.market.n_assets
        if len(self.offset_range) != d or any(len(pair) != 2 for pair in self.offset_range):
            raise ValueError(f"offset_range must hold one (low, high) pair per asset ({d}); got {self.offset_range!r}")
        for low, high in self.offset_range:
            if not (math.isfinite(low) and math.isfinite(high) and high > 0 and high > low):
                raise ValueError(f"offset_range must hold finite pairs with high > 0 and high > low; got {(low, high)}")
        if len(self.inventory_unit) != d or not all(math.isfinite(u) and u > 0 for u in self.inventory_unit):
            raise ValueError(f"inventory_unit must hold one number > 0 per asset ({d}); got {self.inventory_unit!r}")
        if not (math.isfinite(self.time_unit) and self.time_unit > 0):
            raise ValueError(f"time_unit must be a number > 0 [time]; got {self.time_unit!r}")
        unknown = [name for name in self.features if name not in OBSERVATION_FEATURES]
        if unknown or len(set(self.features)) != len(self.features):
            raise ValueError(f"features must be distinct names from {OBSERVATION_FEATURES}; got {self.features!r}")
        if "flow_belief" in self.features and self.market.flow.count == 1:
            raise ValueError("features: 'flow_belief' needs a market with informed flow (a flow of several states)")

    @cached_property
    def hedge_unit(self) -> np.ndarray:
        """``(m,)`` [lots]: lots per unit of each observed hedge position (``hedge_units`` of ``inventory_unit``)."""
        return hedge_units(self.market, np.array(self.inventory_unit))

    def resolved(self) -> Interface:
        """This interface (every part is set), as ``World.resolved``."""
        return self

    def document(self) -> dict[str, Any]:
        """The interface as plain data (its market apart), ``derived_interface``'s keywords."""
        return {
            "offset_range": [list(pair) for pair in self.offset_range],
            "inventory_unit": list(self.inventory_unit),
            "time_unit": self.time_unit,
            "features": list(self.features),
        }


def default_features(market: Market) -> tuple[str, ...]:
    """The features observed unless chosen: ``close_proximity``, and ``close_relaxation`` where the session outlasts
    its close (the natural time scale is shorter than the session), so that the close is an event in time the
    policy can tell from the body; with informed flow, its public evidence: the ``prints`` and the ``mid_return`` of
    the last step and their EWMAs (``flow_signals``), from which a memoryless policy can read the flow's lean."""
    long_session = natural_scales(market)["time_scale"] < market.horizon
    features = ("close_proximity", "close_relaxation") if long_session else ("close_proximity",)
    return features + (("prints", "mid_return", "flow_signals") if market.flow.count > 1 else ())


def derived_interface(
    market: Market,
    offset_range: Any = None,
    inventory_unit: Any = None,
    time_unit: float | None = None,
    features: Any = None,
) -> Interface:
    """The market's interface: each part as given, or derived from the market's physics (``None``):
    ``offset_range`` and ``inventory_unit`` from ``natural_scales`` (per asset), ``time_unit`` its ``time_scale``,
    ``features`` ``default_features``."""
    scales = natural_scales(market)
    if offset_range is None:
        offset_range = zip(scales["min_offset"].tolist(), scales["max_offset"].tolist(), strict=True)
    if inventory_unit is None:
        inventory_unit = scales["inventory_scale"].tolist()
    return Interface(
        market,
        tuple((float(low), float(high)) for low, high in offset_range),
        tuple(float(unit) for unit in inventory_unit),
        float(scales["time_scale"] if time_unit is None else time_unit),
        tuple(default_features(market) if features is None else features),
    )


@functools.lru_cache(maxsize=256)
def market_interface(market: Market) -> Interface:
    """``derived_interface`` with every part derived (cached per market)."""
    return derived_interface(market)


def interface_of(world: Any) -> Interface:
    """The interface of a ``Market`` (derived), a ``World`` (its fields, ``World.interface``) or an ``Interface``
    (itself); ``ValueError`` for anything else."""
    if isinstance(world, Interface):
        return world
    if isinstance(world, Market):
        return market_interface(world)
    view = getattr(world, "interface", None)
    if isinstance(view, Interface):
        return view
    raise ValueError(
        "world must be an envs.World, an envs.Market or an envs.interface.Interface (see make_world, make_market); "
        f"got {type(world).__name__}"
    )
