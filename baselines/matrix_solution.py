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

from baselines.quote_table import QuoteTable
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


def depth_table(world: World, log_w: np.ndarray, constant: float, fill_decay: float) -> QuoteTable:
    """Depths ``constant + (1/k)·ln(w_q / w_{q±1})`` from ``log_solution``: bid towards q + 1, ask towards
    q − 1; no bid at ``q = Q``, no ask at ``q = −Q``."""
    with np.errstate(invalid="ignore"):
        bid = np.full_like(log_w, np.inf)
        ask = np.full_like(log_w, np.inf)
        bid[:, :-1] = constant + (log_w[:, :-1] - log_w[:, 1:]) / fill_decay
        ask[:, 1:] = constant + (log_w[:, 1:] - log_w[:, :-1]) / fill_decay
    # ln(0) − ln(0) where the solution underflows: a state so costly the side is never quoted.
    return QuoteTable(world, np.where(np.isnan(bid), np.inf, bid), np.where(np.isnan(ask), np.inf, ask))
