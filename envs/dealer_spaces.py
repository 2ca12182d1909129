"""The dealer's observation and action layouts, and the maps between normalized actions and quotes.

Observation, float32 ``(d + m + 1,)``, and ``(d + m + 2,)`` in a market with regimes: each asset's inventory in
units of its ``envs.interface.inventory_unit`` (three times its natural standard deviation, between 1 and Q; bounds
``±Q/unit``), each hedge instrument's position in units of its ``envs.interface.hedge_unit`` (bounds ``±Q₂/unit``), the
time to close as a fraction of the session, then, with regimes, the ``volatility``: the current regime's scale
over the largest (in (0, 1]; it scales every instrument's σ).

Action, ``Box([−1, 1]^(2·d + m), float32)``, in the core's column order: each asset's bid, then each asset's
ask, then each hedge's trade. Entry a of asset i maps linearly onto the asset's offset range
(``envs.interface.offset_range``, derived from its scales, ``envs.interface.natural_scales``): ``δ = low + (a + 1)/2 ·
(high − low)`` [price per lot, every size]; ``a = +1`` (the far end, where finite actions beyond the box are
clipped) pulls the side. Hedge entry a asks for ``round(a·U/lot)·lot`` lots (the core clips it to ``±Q₂``).
NaN or inf is an error.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from envs.core import MarketState, StepOutcome, round_to_lot
from envs.interface import hedge_unit, inventory_unit, offset_range
from envs.market import Market


def observation_names(dealer: Market) -> tuple[str, ...]:
    """``inventory_0 … inventory_{d−1}, hedge_position_0 … hedge_position_{m−1}, time_to_close`` and, in a market
    with regimes, ``volatility``."""
    return (
        *(f"inventory_{i}" for i in range(dealer.n_assets)),
        *(f"hedge_position_{j}" for j in range(dealer.n_hedges)),
        "time_to_close",
        *(("volatility",) if dealer.regimes.count > 1 else ()),
    )


def action_names(dealer: Market) -> tuple[str, ...]:
    """``bid_0 … bid_{d−1}, ask_0 … ask_{d−1}, hedge_0 … hedge_{m−1}`` (the core's columns)."""
    d = dealer.n_assets
    return (
        *(f"bid_{i}" for i in range(d)),
        *(f"ask_{i}" for i in range(d)),
        *(f"hedge_{j}" for j in range(dealer.n_hedges)),
    )


def dealer_observation_space(dealer: Market) -> gym.spaces.Box:
    """Finite float32 box over ``observation_names``."""
    reach = np.concatenate(
        [
            dealer.column("max_inventory") / inventory_unit(dealer),
            dealer.hedge_column("max_position") / hedge_unit(dealer),
        ]
    )
    regimes = dealer.regimes.count > 1
    low = np.concatenate([-reach, [0.0], [min(dealer.regimes.scales) / max(dealer.regimes.scales)] * regimes])
    high = np.concatenate([reach, [1.0], [1.0] * regimes])
    low, high = low.astype(np.float32), high.astype(np.float32)
    return gym.spaces.Box(low, high, dtype=np.float32)


def dealer_action_space(dealer: Market) -> gym.spaces.Box:
    """``Box(−1, 1, (2·d + m,), float32)``."""
    return gym.spaces.Box(-1.0, 1.0, shape=(2 * dealer.n_assets + dealer.n_hedges,), dtype=np.float32)


def observation_at(
    dealer: Market,
    inventory: np.ndarray,
    time_to_close: np.ndarray,
    hedge_position: np.ndarray | None = None,
    regime: np.ndarray | None = None,
) -> np.ndarray:
    """Observations ``(n, len(observation_names))`` of books at ``inventory`` ``(n, d)`` [lots], ``time_to_close``
    ``(n,)`` [time], ``hedge_position`` ``(n, m)`` [lots] (``None``: flat) and, in a market with regimes, ``regime``
    ``(n,)`` (the regime's index; required there)."""
    inventory = np.asarray(inventory, dtype=np.float64)
    d, m = dealer.n_assets, dealer.n_hedges
    observation = np.empty((inventory.shape[0], len(observation_names(dealer))), dtype=np.float32)
    if dealer.regimes.count > 1:
        if regime is None:
            raise ValueError("regime is required to observe a market with regimes (its volatility is observed)")
        scales = np.asarray(dealer.regimes.scales)
        observation[:, -1] = scales[np.asarray(regime)] / scales.max()
        time_column = -2
    else:
        time_column = -1
    observation[:, :d] = inventory / inventory_unit(dealer)
    if m:
        position = np.zeros((inventory.shape[0], m)) if hedge_position is None else np.asarray(hedge_position)
        observation[:, d : d + m] = position / hedge_unit(dealer)
    observation[:, time_column] = np.asarray(time_to_close, dtype=np.float64) / dealer.horizon
    return observation


def observe(dealer: Market, state: MarketState) -> np.ndarray:
    """The books' observations, ``(n, len(observation_names))``."""
    time_to_close = (dealer.n_steps - state.step) * dealer.dt
    return observation_at(dealer, state.inventory.T, time_to_close, state.hedge_position.T, state.regime)


def action_to_deal(dealer: Market, action: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(bid_offset, ask_offset, hedge_trade)`` from actions ``(n, 2·d + m)``: offsets ``(n, d)`` [price, ``+inf``
    pulled], and the hedge trades asked for ``(n, m)`` [lots, int64, whole lots] (``None`` without hedges)."""
    action = np.asarray(action, dtype=np.float64)
    d, width = dealer.n_assets, 2 * dealer.n_assets + dealer.n_hedges
    if action.ndim != 2 or action.shape[1] != width:
        raise ValueError(f"action must have shape (n, {width}) {action_names(dealer)}; got {action.shape}")
    if not np.isfinite(action).all():
        raise ValueError(
            "action must be finite (no NaN or inf); accepted: values in [-1, 1], finite values outside are clipped"
        )
    action = np.clip(action, -1.0, 1.0)
    low, high = _column_ranges(dealer)
    quote = action[:, : 2 * d]
    offset = np.where(quote < 1.0, low + 0.5 * (high - low) * (quote + 1.0), np.inf)
    trade = None
    if dealer.n_hedges:
        requested = action[:, 2 * d :] * dealer.hedge_column("max_trade")
        trade = round_to_lot(requested, dealer.hedge_column("lot").astype(np.int64))
    return offset[:, :d], offset[:, d:], trade


def action_to_quotes(dealer: Market, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(bid_offset, ask_offset)`` of ``action_to_deal``."""
    return action_to_deal(dealer, action)[:2]


def quotes_to_action(
    dealer: Market, bid_offset: np.ndarray, ask_offset: np.ndarray, hedge_trade: np.ndarray | None = None
) -> np.ndarray:
    """Inverse of ``action_to_deal``: offsets ``(n, d)`` [price] and hedge trades
    ``(n, m)`` [lots] (``None``: none) to float32 actions ``(n, 2·d + m)``; an offset at or beyond the range's
    top (``+inf`` included) pulls, one below its bottom is clipped to it; a trade is ``u/U``, clipped to ±1."""
    offset = np.concatenate([np.asarray(bid_offset, np.float64), np.asarray(ask_offset, np.float64)], axis=-1)
    low, high = _column_ranges(dealer)
    action = np.clip(2.0 * (np.minimum(offset, high) - low) / (high - low) - 1.0, -1.0, 1.0)
    if dealer.n_hedges:
        most = dealer.hedge_column("max_trade")
        trade = np.zeros((offset.shape[0], dealer.n_hedges)) if hedge_trade is None else np.asarray(hedge_trade)
        hedge = np.clip(np.divide(trade, most, out=np.zeros(trade.shape), where=most > 0), -1.0, 1.0)
        action = np.concatenate([action, hedge], axis=-1)
    return action.astype(np.float32)


def _column_ranges(dealer: Market) -> tuple[np.ndarray, np.ndarray]:
    """Each action column's offset range [price], ``(2·d,)`` each: the bids' assets, then the asks'."""
    return np.tile(offset_range(dealer)[:, 0], 2), np.tile(offset_range(dealer)[:, 1], 2)


def step_info(dealer: Market, state: MarketState, outcome: StepOutcome) -> dict[str, np.ndarray]:
    """The per-step decomposition, one array entry per book: the reward's parts [price] (``spread_captured +
    inventory_pnl − fees − penalty`` is the ``pnl`` reward, exactly; with hedge instruments ``+ hedge_pnl −
    hedge_cost``), ``wealth``, per asset i ``inventory_i``, ``bid_fills_i`` and ``ask_fills_i`` [lots], and per
    hedge j ``hedge_position_j`` and ``hedge_trade_j`` [lots]."""
    info = {
        "spread_captured": outcome.spread_captured,
        "inventory_pnl": outcome.inventory_pnl,
        "penalty": outcome.penalty,
        "fees": outcome.fees,
        "wealth": state.wealth,
    }
    for i in range(dealer.n_assets):
        info[f"inventory_{i}"] = state.inventory[i]
        info[f"bid_fills_{i}"] = outcome.bid_fills[i]
        info[f"ask_fills_{i}"] = outcome.ask_fills[i]
    if dealer.n_hedges:
        info.update(hedge_pnl=outcome.hedge_pnl, hedge_cost=outcome.hedge_cost)
    for j in range(dealer.n_hedges):
        info[f"hedge_position_{j}"] = state.hedge_position[j]
        info[f"hedge_trade_{j}"] = outcome.hedge_trade[j]
    return info
