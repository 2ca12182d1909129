"""Action and observation spaces, and the maps between normalized actions and quotes.

Action: ``Box([−1, 1]^legs, float32)`` over ``World.action_names``: entry 0 the bid, entry 1 the ask,
and in a world with a hedge instrument entry 2 the hedge. Each quote entry maps linearly onto the
world's offset range (``World.offset_range``, set or derived), ``δ = min_offset + (a + 1)/2 ·
(max_offset − min_offset)`` [price]; ``a = +1`` (the far end, where finite actions beyond the box are
clipped) pulls that side. The hedge entry asks for a trade of ``round(a·U_max/h)·h`` lots (positive
buys; the core clips it to ``|q₂| ≤ Q₂``). NaN or inf is an error.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from envs.core import Action, round_to_hedge_lot
from envs.observation import observation_bounds
from envs.world import World

# ±1 as 0-d arrays: an array operand spares numpy converting a Python float on each call (a third of the
# call's cost at one market); the values are the same.
_MINUS_ONE, _ONE = np.array(-1.0), np.array(1.0)


def action_space(world: World) -> gym.spaces.Box:
    """``Box(−1, 1, (len(world.action_names),), float32)``: the world's action legs, normalized."""
    return gym.spaces.Box(-1.0, 1.0, shape=(len(world.action_names),), dtype=np.float32)


def observation_space(world: World) -> gym.spaces.Box:
    """Finite float32 box over ``world.observation_names``."""
    low, high = observation_bounds(world)
    return gym.spaces.Box(low, high, dtype=np.float32)


def action_to_quotes(world: World, action: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Map actions of shape ``(..., legs)`` to ``(bid_offset, ask_offset, bid_quoted, ask_quoted)``.

    Offsets are in price units; finite actions outside [−1, 1] are clipped; NaN or inf raises
    ``ValueError``. The hedge leg, if any, is ``action_to_hedge``'s.
    """
    legs = len(world.action_names)
    mapped = action_quotes(world, np.asarray(action, dtype=np.float64).reshape(-1, legs))
    shape = np.shape(action)[:-1]
    offset, quoted = mapped.offset.reshape(2, *shape), mapped.quoted.reshape(2, *shape)
    return offset[0], offset[1], quoted[0], quoted[1]


def action_to_hedge(world: World, action: np.ndarray) -> np.ndarray:
    """The hedge trade [lots, int64] that actions of shape ``(..., legs)`` ask for (zeros without a hedge leg)."""
    action = np.asarray(action, dtype=np.float64)
    if not world.hedged:
        return np.zeros(action.shape[:-1], dtype=np.int64)
    return action_quotes(world, action.reshape(-1, 3)).hedge.reshape(action.shape[:-1])


def action_quotes(world: World, action: np.ndarray) -> Action:
    """The core's ``Action`` from a batch of actions ``(n, legs)``, or one unbatched market's ``(legs,)``; see
    ``action_to_quotes``."""
    action = np.asarray(action, dtype=np.float64)
    legs = world.action_names
    if action.ndim not in (1, 2) or action.shape[-1] != len(legs):
        raise ValueError(f"action must have a last dimension of {len(legs)} {legs}; got shape {action.shape}")
    if np.count_nonzero(np.isfinite(action)) != action.size:  # .all() costs twice as much at one market
        raise ValueError(
            "action must be finite (no NaN or inf); accepted: values in [-1, 1], finite values outside are clipped"
        )
    action = np.minimum(np.maximum(action, _MINUS_ONE), _ONE)  # np.clip's dispatch costs twice as much at one market
    low = world.offset_range[0]
    # The core's layout, (2, 1, n) or (2, 1) unbatched: the sides' rows, contiguous over the markets.
    legs = action[:2, None] if action.ndim == 1 else np.ascontiguousarray(action[:, :2].T)[:, None]
    trade = round_to_hedge_lot(world, action[..., 2:].T * world.hedge_max_trade) if world.hedged else None
    return Action(low + world.offset_per_action * (legs + _ONE), legs < _ONE, trade)


def quotes_to_action(
    world: World, bid_offset: np.ndarray, ask_offset: np.ndarray, hedge_trade: np.ndarray | None = None
) -> np.ndarray:
    """Inverse of ``action_to_quotes`` (and ``action_to_hedge``): offsets [price] and a hedge trade [lots]
    to float32 actions of shape ``(..., legs)``.

    An offset of ``+inf`` (or at least ``max_offset``) pulls the side; offsets below ``min_offset``
    are clipped to it. The hedge entry is ``trade / U_max`` (no trade when ``hedge_trade`` is ``None``);
    a world without a hedge instrument refuses a non-zero trade.
    """
    offsets = np.stack(np.broadcast_arrays(np.asarray(bid_offset, float), np.asarray(ask_offset, float)), axis=-1)
    low, high = world.offset_range
    offsets = np.minimum(offsets, high)  # +inf (pulled) maps to +1
    action = np.clip(2.0 * (offsets - low) / (high - low) - 1.0, -1.0, 1.0)
    if not world.hedged:
        if hedge_trade is not None and np.any(np.asarray(hedge_trade) != 0):
            raise ValueError("hedge_trade must be zero in a world without a hedge instrument (hedge_sigma unset)")
        return action.astype(np.float32)
    trade = np.zeros(action.shape[:-1]) if hedge_trade is None else np.asarray(hedge_trade, dtype=np.float64)
    hedge = np.clip(trade / world.hedge_max_trade, -1.0, 1.0) if world.hedge_max_trade else np.zeros_like(trade)
    hedge = np.broadcast_to(hedge, action.shape[:-1])
    return np.concatenate([action, hedge[..., None]], axis=-1).astype(np.float32)
