"""Action and observation spaces, and the maps between normalized actions and quotes, for every market.

Action: ``Box([−1, 1]^(2·d + m), float32)`` over ``action_names``: each quoted asset's bid and ask, then each hedge
instrument's trade. Each quote entry maps linearly onto its asset's offset range (``Interface.offset_range``),
``δ = low + (a + 1)/2 · (high − low)`` [price, every size]; ``a = +1`` (the far end, where finite actions beyond the
box are clipped) pulls that side. A hedge entry asks for a trade of ``round(a·U/lot)·lot`` lots (positive buys; the
core clips it to ``±Q₂``). NaN or inf is an error.

Arrays of quotes are per asset ``(..., d)`` [price] and of hedge trades per hedge ``(..., m)`` [lots], in every
market (one asset: ``(..., 1)``).

Under the per-size quote rule (``Market.quote_rule``, l = ``Market.quote_buckets`` sizes in the longest ladder) the
action is ``Box([−1, 1]^(2·d·l + m))``: each asset's bid and ask for each size of its ladder (``bid_0_z0, ask_0_z0,
bid_0_z1, …``; entries past a shorter ladder are unused), then the hedges; arrays of quotes are ``(..., d, l)``.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np

from envs.core import Action, round_to_lot
from envs.interface import interface_of
from envs.observation import observation_bounds

# ±1 as 0-d arrays: an array operand spares numpy converting a Python float on each call (a third of the
# call's cost at one market); the values are the same.
_MINUS_ONE, _ONE = np.array(-1.0), np.array(1.0)


def action_names(world) -> tuple[str, ...]:
    """The action's legs, in order: ``bid``, ``ask`` per asset (``bid_0, ask_0, bid_1, …`` in a market of several),
    then ``hedge`` per hedge instrument (``hedge_0, …`` with several)."""
    market = interface_of(world).market
    d, m, buckets = market.n_assets, market.n_hedges, market.quote_buckets
    if buckets > 1:
        quotes = tuple(f"{side}_{i}_z{k}" for i in range(d) for k in range(buckets) for side in ("bid", "ask"))
    elif d == 1:
        quotes = ("bid", "ask")
    else:
        quotes = tuple(f"{side}_{i}" for i in range(d) for side in ("bid", "ask"))
    return quotes + (("hedge",) if m == 1 else tuple(f"hedge_{j}" for j in range(m)))


def action_space(world) -> gym.spaces.Box:
    """``Box(−1, 1, (2·d + m,), float32)``: the market's action legs, normalized."""
    return gym.spaces.Box(-1.0, 1.0, shape=(len(action_names(world)),), dtype=np.float32)


def observation_space(world) -> gym.spaces.Box:
    """Finite float32 box over the observation's columns (``envs.observation``)."""
    low, high = observation_bounds(world)
    return gym.spaces.Box(low, high, dtype=np.float32)


def action_ranges(world) -> tuple[np.ndarray, np.ndarray]:
    """Each asset's quote mapping, ``(low, price per unit of action)``, each ``(d,)`` [price]: a quote leg's action
    ``a`` is the offset ``low + per_action·(a + 1)``, ``per_action = (max_offset − min_offset)/2``."""
    ranges = np.array(interface_of(world).offset_range, dtype=np.float64)
    return ranges[:, 0], 0.5 * (ranges[:, 1] - ranges[:, 0])


def quote_leg_assets(world) -> np.ndarray:
    """The asset of each of the action's quote legs, its first ``2·d·l`` entries (each asset's sizes' bid and ask;
    the hedges' trades follow): ``(2·d·l,)`` asset indices."""
    market = interface_of(world).market
    return np.repeat(np.arange(market.n_assets), 2 * market.quote_buckets)


def action_mapper(world) -> Callable[[np.ndarray], Action]:
    """The core's ``Action`` from a batch of actions ``(n, legs)``, or one unbatched book's ``(legs,)``, with the
    market's ranges looked up once (for a batch's every step); see the module docstring."""
    view = interface_of(world)
    market = view.market
    d, m, buckets = market.n_assets, market.n_hedges, market.quote_buckets
    legs = action_names(view)
    quote_legs = 2 * d * buckets
    probabilities = market.size_table[1]
    low, per_action = action_ranges(view)
    low_column, per_action_column = low[:, None], per_action[:, None]
    # One book's quotes (2, d) meet one asset's range as numpy scalars: cheaper than one-element arrays.
    low_row, per_action_row = (low[0], per_action[0]) if d == 1 else (low, per_action)
    max_trade, lot = market.hedge_column("max_trade").astype(np.float64), market.hedge_column("lot").astype(np.int64)
    max_trade_column, lot_column = max_trade[:, None], lot[:, None]

    def to_action(action: np.ndarray) -> Action:
        action = np.asarray(action)
        if action.dtype.kind not in "fiu":  # the clip below casts numbers to float64 (float32 exactly)
            action = np.asarray(action, dtype=np.float64)
        if action.ndim not in (1, 2) or action.shape[-1] != len(legs):
            raise ValueError(f"action must have a last dimension of {len(legs)} {legs}; got shape {action.shape}")
        if np.count_nonzero(np.isfinite(action)) != action.size:  # .all() costs twice as much at one book
            raise ValueError(
                "action must be finite (no NaN or inf); accepted: values in [-1, 1], finite values outside are clipped"
            )
        action = np.minimum(np.maximum(action, _MINUS_ONE), _ONE)  # np.clip's dispatch costs twice as much at one book
        if action.ndim == 1:
            trade = round_to_lot(action[quote_legs:] * max_trade, lot) if m else None
        else:
            trade = round_to_lot(action[:, quote_legs:].T * max_trade_column, lot_column) if m else None
        if buckets > 1:  # the core's per-size layout (l, 2, d, *M)
            batch = action.shape[:-1]
            quotes = np.moveaxis(action[..., :quote_legs].reshape(batch + (d, buckets, 2)), (-2, -1, -3), (0, 1, 2))
            ranges = (low, per_action) if action.ndim == 1 else (low_column, per_action_column)
            per_size = np.where(quotes < _ONE, ranges[0] + ranges[1] * (quotes + _ONE), np.inf)
            return Action.of_sizes(per_size, probabilities, trade)
        if action.ndim == 1:  # the core's layout (2, d): the sides' rows
            quotes = action[: 2 * d].reshape(d, 2).T
            offset = low_row + per_action_row * (quotes + _ONE)
        else:  # (2, d, n), contiguous over the books
            quotes = np.ascontiguousarray(action[:, : 2 * d].reshape(-1, d, 2).transpose(2, 1, 0))
            offset = low_column + per_action_column * (quotes + _ONE)
        return Action(offset, quotes < _ONE, trade)

    return to_action


def action_quotes(world, action: np.ndarray) -> Action:
    """``action_mapper(world)(action)``, for one call."""
    return action_mapper(world)(action)


def action_to_quotes(world, action: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Map actions ``(..., legs)`` to ``(bid_offset, ask_offset, bid_quoted, ask_quoted)``, each ``(..., d)``.

    Offsets are in price units; finite actions outside [−1, 1] are clipped; NaN or inf raises ``ValueError``. The
    hedge legs, if any, are ``action_to_hedge``'s.
    """
    legs = len(action_names(world))
    action = np.asarray(action, dtype=np.float64)
    mapped = action_quotes(world, action.reshape(-1, legs))  # (2, d, n)
    if mapped.per_size is not None:  # (l, 2, d, n) → each side (..., d, l), +inf where pulled
        per_size = np.moveaxis(mapped.per_size, (0, 1), (-1, 0))  # (2, d, n, l)
        shape = action.shape[:-1] + (per_size.shape[1], per_size.shape[3])
        sides = [np.moveaxis(per_size[side], 1, 0).reshape(shape) for side in (0, 1)]
        quoted = [np.isfinite(side) for side in sides]
        return sides[0], sides[1], quoted[0], quoted[1]
    shape = action.shape[:-1] + (mapped.offset.shape[1],)
    offset, quoted = np.moveaxis(mapped.offset, -1, 1), np.moveaxis(mapped.quoted, -1, 1)  # (2, n, d)
    return offset[0].reshape(shape), offset[1].reshape(shape), quoted[0].reshape(shape), quoted[1].reshape(shape)


def action_to_hedge(world, action: np.ndarray) -> np.ndarray:
    """The hedge trades [lots, int64] that actions ``(..., legs)`` ask for, ``(..., m)`` (``m = 0``: no hedges)."""
    legs = len(action_names(world))
    action = np.asarray(action, dtype=np.float64)
    mapped = action_quotes(world, action.reshape(-1, legs))
    m = interface_of(world).market.n_hedges
    trade = mapped.hedge.T if m else np.zeros((action.size // legs, 0), dtype=np.int64)
    return trade.reshape(action.shape[:-1] + (m,))


def quotes_to_action(
    world, bid_offset: np.ndarray, ask_offset: np.ndarray, hedge_trade: np.ndarray | None = None
) -> np.ndarray:
    """Inverse of ``action_to_quotes`` (and ``action_to_hedge``): offsets ``(..., d)`` [price] (per size ``(..., d, l)``
    under the per-size rule) and hedge trades ``(..., m)`` [lots] to float32 actions ``(..., legs)``.

    An offset of ``+inf`` (or at least the range's top) pulls the side; offsets below the range's bottom are clipped
    to it. A hedge entry is ``trade / U``, clipped to ±1 (no trade when ``hedge_trade`` is ``None``); a market without
    hedges refuses a non-zero trade.
    """
    view = interface_of(world)
    market = view.market
    ranges = np.array(view.offset_range, dtype=np.float64)
    bid, ask = np.broadcast_arrays(np.asarray(bid_offset, np.float64), np.asarray(ask_offset, np.float64))
    d, buckets = market.n_assets, market.quote_buckets
    if buckets == 1:  # per side (..., d): one size
        if bid.shape[-1:] != (d,):
            raise ValueError(f"offsets must have a last dimension of {d} (one per asset); got {bid.shape}")
        bid, ask = bid[..., None], ask[..., None]
    elif bid.shape[-2:] == (d, 1):  # per size (..., d, l); a quote per side, (..., d, 1) or (..., d), every size alike
        bid, ask = (np.repeat(side, buckets, axis=-1) for side in (bid, ask))
    elif bid.shape[-2:] != (d, buckets) and bid.shape[-1:] == (d,):
        bid, ask = (np.repeat(side[..., None], buckets, axis=-1) for side in (bid, ask))
    if bid.shape[-2:] != (d, buckets):
        raise ValueError(
            f"per-size offsets must have last dimensions ({d}, {buckets}) (per asset, per size), or ({d}, 1) or {d} "
            f"(per asset, every size alike); got {bid.shape}"
        )
    offsets = np.minimum(np.stack([bid, ask], axis=-1), ranges[:, 1, None, None])  # (..., d, l, 2); +inf maps to +1
    low, high = ranges[:, 0, None, None], ranges[:, 1, None, None]
    action = np.clip(2.0 * (offsets - low) / (high - low) - 1.0, -1.0, 1.0).reshape(bid.shape[:-2] + (-1,))
    if not market.n_hedges:
        if hedge_trade is not None and np.any(np.asarray(hedge_trade) != 0):
            raise ValueError("hedge_trade must be zero in a market without hedge instruments")
        return action.astype(np.float32)
    most = market.hedge_column("max_trade").astype(np.float64)
    trade = np.zeros(most.shape) if hedge_trade is None else np.asarray(hedge_trade, dtype=np.float64)
    hedge = np.clip(np.divide(trade, most, out=np.zeros(np.broadcast(trade, most).shape), where=most > 0), -1.0, 1.0)
    hedge = np.broadcast_to(hedge, action.shape[:-1] + most.shape)
    return np.concatenate([action, hedge], axis=-1).astype(np.float32)
