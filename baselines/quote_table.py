"""Quotes tabulated on a grid of states, looked up for arrays of states: the form every solved model takes."""

from __future__ import annotations

import numpy as np

from envs import World, nearest_regime
from envs.market import Market


def steps_to_close(world: World | Market, time_to_close: np.ndarray) -> np.ndarray:
    """Time to close [time] as a whole number of steps, 0 … n_steps (int64): a table's time axis (of a world's
    tables or a dealer's)."""
    return np.clip(np.rint(np.asarray(time_to_close) / world.dt), 0, world.n_steps).astype(np.int64)


def inventory_index(world: World, inventory: np.ndarray) -> np.ndarray:
    """Inventory [lots] clipped to ±Q as an index 0 … 2Q (int64): a table's inventory axis."""
    limit = world.max_inventory
    return np.clip(np.asarray(inventory), -limit, limit).astype(np.int64) + limit


class QuoteTable:
    """Bid and ask offsets [price] on (steps to close 0 … n_steps, inventory −Q … Q); ``+inf`` = not quoted."""

    def __init__(self, world: World, bid: np.ndarray, ask: np.ndarray) -> None:
        expected = (world.n_steps + 1, 2 * world.max_inventory + 1)
        if bid.shape != expected or ask.shape != expected:
            raise ValueError(f"quote tables must have shape {expected}; got {bid.shape} and {ask.shape}")
        self.world = world
        self.bid = bid
        self.ask = ask

    def lookup(self, inventory: np.ndarray, time_to_close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Quotes at inventory [lots] and time to close [time], both rounded to the grid and clipped to it."""
        steps_left = steps_to_close(self.world, time_to_close)
        steps_left, index = np.broadcast_arrays(steps_left, inventory_index(self.world, inventory))
        return self.bid[steps_left, index], self.ask[steps_left, index]


def lookup_by_regime(
    world: World, tables: list[QuoteTable], inventory, time_to_close, volatility
) -> tuple[np.ndarray, np.ndarray]:
    """Quotes from the table of each state's regime (the one nearest its observed σ), vectorized per regime."""
    regime = nearest_regime(world, volatility)
    inventory, time_to_close, regime = np.broadcast_arrays(inventory, time_to_close, regime)
    bid, ask = np.empty(regime.shape), np.empty(regime.shape)
    for index, table in enumerate(tables):  # one pass per regime, vectorized over the batch
        mask = regime == index
        bid[mask], ask[mask] = table.lookup(inventory[mask], time_to_close[mask])
    return bid, ask
