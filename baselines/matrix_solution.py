"""Quotes from the linear ODE systems of the closed-form inventory models, solved by matrix exponential.

Both Guéant–Lehalle–Fernandez-Tapia (2013) and Cartea–Jaimungal–Penalva (2015, ch. 10) reduce the HJB
equation to ``w(τ) = expm(G·τ)·w(0)`` over inventories ``q ∈ [−Q, Q]``, τ the time to close; the
optimal depths are ``(1/k)·ln(w_q / w_{q±1})`` plus a constant. The solution is tabulated on the
env's step grid with ``scipy.linalg.expm`` and kept as logarithms, so it neither overflows nor
underflows over the session.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from envs import World


def tridiagonal(diagonal: np.ndarray, upper: float, lower: float) -> np.ndarray:
    """Matrix with ``diagonal``, ``upper`` on the super-diagonal (row q, column q+1) and ``lower`` below."""
    n = diagonal.shape[0]
    return np.diag(diagonal) + upper * np.eye(n, k=1) + lower * np.eye(n, k=-1)


def log_solution(generator: np.ndarray, terminal: np.ndarray, world: World) -> np.ndarray:
    """``ln(expm(G·τ)·w(0))`` up to a constant per τ, for τ = 0, dt, …, horizon: shape ``(n_steps + 1, 2Q+1)``."""
    step = scipy.linalg.expm(generator * world.dt)
    rows = np.empty((world.n_steps + 1, terminal.shape[0]))
    w = terminal / terminal.max()
    with np.errstate(divide="ignore"):
        rows[0] = np.log(w)
        for steps_left in range(1, world.n_steps + 1):  # sequential in time, vectorized over inventory
            w = step @ w
            w /= w.max()
            rows[steps_left] = np.log(w)
    return rows


class TabulatedQuotes:
    """Depth tables on (steps to close, inventory) with lookups for arrays of states."""

    def __init__(self, world: World, log_w: np.ndarray, constant: float, fill_decay: float) -> None:
        self.world = world
        q = world.max_inventory
        with np.errstate(invalid="ignore"):
            bid = np.full_like(log_w, np.inf)
            ask = np.full_like(log_w, np.inf)
            bid[:, :-1] = constant + (log_w[:, :-1] - log_w[:, 1:]) / fill_decay  # no bid at q = Q
            ask[:, 1:] = constant + (log_w[:, 1:] - log_w[:, :-1]) / fill_decay  # no ask at q = −Q
        # ln(0) − ln(0) where the solution underflows: a state so costly the side is never quoted.
        self.bid = np.where(np.isnan(bid), np.inf, bid)
        self.ask = np.where(np.isnan(ask), np.inf, ask)
        self.limit = q

    def lookup(self, inventory: np.ndarray, time_to_close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        steps_left = np.clip(np.rint(np.asarray(time_to_close) / self.world.dt), 0, self.world.n_steps).astype(np.int64)
        index = np.clip(np.asarray(inventory), -self.limit, self.limit).astype(np.int64) + self.limit
        steps_left, index = np.broadcast_arrays(steps_left, index)
        return self.bid[steps_left, index], self.ask[steps_left, index]


def lookup_by_regime(
    world: World, tables: list[TabulatedQuotes], inventory, time_to_close, volatility
) -> tuple[np.ndarray, np.ndarray]:
    """Quotes from the table of each state's regime (the one nearest its observed σ), vectorized per regime."""
    regime = world.regime_of(volatility)
    inventory, time_to_close, regime = np.broadcast_arrays(inventory, time_to_close, regime)
    bid, ask = np.empty(regime.shape), np.empty(regime.shape)
    for index, table in enumerate(tables):  # one pass per regime, vectorized over the batch
        mask = regime == index
        bid[mask], ask[mask] = table.lookup(inventory[mask], time_to_close[mask])
    return bid, ask
