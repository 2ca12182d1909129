"""The agent's view of a market, derived from its physics: the offset range each quote's action spans, the units
of the observed inventories and hedge positions, and the unit of the observed time to close.

One definition for every market, one asset or many (``World.natural_scales`` and the multi-asset stack read
it). A world nobody tuned for is still learnable: its actions and observations are of order one wherever the
optimum takes them.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from envs.market import Market

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


def offset_range(market: Market) -> np.ndarray:
    """``(d, 2)`` [price]: each asset's ``(min_offset, max_offset)``, the span of its normalized quote actions."""
    scales = natural_scales(market)
    return np.stack([scales["min_offset"], scales["max_offset"]], axis=1)


def inventory_unit(market: Market) -> np.ndarray:
    """``(d,)`` [lots]: lots per unit of each asset's observed inventory (``natural_scales``' ``inventory_scale``)."""
    return natural_scales(market)["inventory_scale"]


def hedge_unit(market: Market) -> np.ndarray:
    """``(m,)`` [lots]: lots per unit of each observed hedge position, ``hedge_units`` of the inventory units."""
    return hedge_units(market, inventory_unit(market))
