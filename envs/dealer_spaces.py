"""The dealer's observation and action layouts, and the maps between normalized actions and quotes.

Observation, float32 ``(d + 1,)``: each asset's inventory in units of its
``Dealer.inventory_unit`` (three times its natural standard deviation, between 1 and Q; bounds ``±Q/unit``),
then the time to close as a fraction of the session.

Action, ``Box([−1, 1]^(2·d), float32)``, in the core's column order: each asset's bid, then each asset's ask.
Entry a of asset i maps linearly onto the asset's offset range (``Dealer.offset_range``, derived from its
scales, ``envs.dealer.dealer_scales``): ``δ = low + (a + 1)/2 · (high − low)`` [price per lot, every size];
``a = +1`` (the far end, where finite actions beyond the box are clipped) pulls the side. NaN or inf is an error.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from envs.dealer import Dealer
from envs.dealer_core import DealerState


def observation_names(dealer: Dealer) -> tuple[str, ...]:
    """``inventory_0 … inventory_{d−1}, time_to_close``."""
    return (*(f"inventory_{i}" for i in range(dealer.n_assets)), "time_to_close")


def action_names(dealer: Dealer) -> tuple[str, ...]:
    """``bid_0 … bid_{d−1}, ask_0 … ask_{d−1}`` (the core's columns)."""
    d = dealer.n_assets
    return (*(f"bid_{i}" for i in range(d)), *(f"ask_{i}" for i in range(d)))


def dealer_observation_space(dealer: Dealer) -> gym.spaces.Box:
    """Finite float32 box over ``observation_names``."""
    reach = dealer.column("max_inventory") / dealer.inventory_unit
    low = np.append(-reach, 0.0).astype(np.float32)
    high = np.append(reach, 1.0).astype(np.float32)
    return gym.spaces.Box(low, high, dtype=np.float32)


def dealer_action_space(dealer: Dealer) -> gym.spaces.Box:
    """``Box(−1, 1, (2·d,), float32)``."""
    return gym.spaces.Box(-1.0, 1.0, shape=(2 * dealer.n_assets,), dtype=np.float32)


def observation_at(dealer: Dealer, inventory: np.ndarray, time_to_close: np.ndarray) -> np.ndarray:
    """Observations ``(n, d + 1)`` of books at ``inventory`` ``(n, d)`` [lots] and ``time_to_close`` ``(n,)`` [time]."""
    inventory = np.asarray(inventory, dtype=np.float64)
    observation = np.empty((inventory.shape[0], dealer.n_assets + 1), dtype=np.float32)
    observation[:, :-1] = inventory / dealer.inventory_unit
    observation[:, -1] = np.asarray(time_to_close, dtype=np.float64) / dealer.horizon
    return observation


def observe(dealer: Dealer, state: DealerState) -> np.ndarray:
    """The books' observations, ``(n, d + 1)``."""
    return observation_at(dealer, state.inventory, (dealer.n_steps - state.step) * dealer.dt)


def action_to_quotes(dealer: Dealer, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(bid_offset, ask_offset)``, each ``(n, d)`` [price, ``+inf`` pulled], from actions ``(n, 2·d)``."""
    action = np.asarray(action, dtype=np.float64)
    d = dealer.n_assets
    if action.ndim != 2 or action.shape[1] != 2 * d:
        raise ValueError(f"action must have shape (n, {2 * d}) {action_names(dealer)}; got {action.shape}")
    if not np.isfinite(action).all():
        raise ValueError(
            "action must be finite (no NaN or inf); accepted: values in [-1, 1], finite values outside are clipped"
        )
    action = np.clip(action, -1.0, 1.0)
    low, high = _column_ranges(dealer)
    offset = np.where(action < 1.0, low + 0.5 * (high - low) * (action + 1.0), np.inf)
    return offset[:, :d], offset[:, d:]


def quotes_to_action(dealer: Dealer, bid_offset: np.ndarray, ask_offset: np.ndarray) -> np.ndarray:
    """Inverse of ``action_to_quotes``: offsets ``(n, d)`` [price] to float32 actions ``(n, 2·d)``; an offset
    at or beyond the range's top (``+inf`` included) pulls, one below its bottom is clipped to it."""
    offset = np.concatenate([np.asarray(bid_offset, np.float64), np.asarray(ask_offset, np.float64)], axis=-1)
    low, high = _column_ranges(dealer)
    return np.clip(2.0 * (np.minimum(offset, high) - low) / (high - low) - 1.0, -1.0, 1.0).astype(np.float32)


def _column_ranges(dealer: Dealer) -> tuple[np.ndarray, np.ndarray]:
    """Each action column's offset range [price], ``(2·d,)`` each: the bids' assets, then the asks'."""
    return np.tile(dealer.offset_range[:, 0], 2), np.tile(dealer.offset_range[:, 1], 2)
