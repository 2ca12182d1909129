"""Exploring starts near the close, for training: sessions opened a few steps before the close, so that the close's
last quotes, a sliver of a long session's steps, are learned (``envs.batch.MarketBatch(close_starts=…)``).

Drawn from each book's own counter-based stream (``envs.core.uniforms``) at a counter no trading step or reset uses.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from envs.core import MarketState, uniform_integers, uniforms
from envs.market import Market

# Steps before the close within which ``open_near_close`` opens a session, unless told otherwise.
CLOSE_WINDOW = 10

# The inventories sessions opened near the close start at: "uniform", drawn within ±min(Q, ⌈3·inventory_unit⌉)
# lots; "visited", those the books held ``close_window`` steps before an earlier close (``envs.batch``).
# ``CLOSE_INVENTORY`` unless told otherwise.
CLOSE_INVENTORIES = ("uniform", "visited")
CLOSE_INVENTORY = "visited"


def check_close_starts(share: float, window: int, inventory: str) -> None:
    """``ValueError`` naming ``close_starts``, ``close_window`` or ``close_inventory`` unless ``share`` ∈ [0, 1],
    ``window`` is a whole number of steps ≥ 1 and ``inventory`` one of ``CLOSE_INVENTORIES``."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"close_starts must be a share in [0, 1]; got {share!r}")
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"close_window must be a whole number of steps ≥ 1; got {window!r}")
    if inventory not in CLOSE_INVENTORIES:
        raise ValueError(f"close_inventory must be one of {list(CLOSE_INVENTORIES)}; got {inventory!r}")


def close_start_probability(market: Market, share: float, window: int) -> float:
    """The probability with which ``open_near_close`` must open a session near the close for sessions so
    opened to take ``share`` of the steps: ``p = c·N / (c·N + (1 − c)·m)``, with ``c`` the share, ``N`` the
    session's steps and ``m = (w + 1)/2`` the mean length of a session opened ``1 … w`` steps before the
    close (``w = min(window, N)``).

    A share of steps means the same in every market; a share of sessions does not (at 90 % of sessions,
    one step in ten of a 1,000-step market, half of a 100-step one's)."""
    if share >= 1.0:
        return 1.0
    whole = share * market.n_steps
    return whole / (whole + (1.0 - share) * (min(window, market.n_steps) + 1) / 2)


def open_near_close(
    market: Market,
    state: MarketState,
    probability: float,
    window: int,
    inventory: np.ndarray | None = None,
    reach: np.ndarray | None = None,
) -> MarketState:
    """Exploring starts near the close, for training: each freshly opened session (at step 0) opens instead,
    with ``probability``, ``1 … window`` steps before the close, drawn uniformly, at ``inventory`` [lots,
    ``(d, *M)``] or, without it, at inventories drawn uniformly within ±``reach`` [lots, ``(d,)``]; the other
    books keep ``state``'s opening. An inventory past an asset's ``max_inventory`` raises ``ValueError``.

    Each book draws on its own stream, so a batch's books no longer share the step: every batch of samples
    mixes sessions near the close with whole ones. In a long session the close's last steps are a sliver of
    the samples (one in a thousand steps of a 1,000-step session) and their quotes, which flatten the book,
    go unlearned; short sessions that start there put them back in the batch at little cost in samples.
    Drawn at a counter ``reset`` never uses.
    """
    d = market.n_assets
    u = uniforms(state.key, state.episode, np.full(state.shape, market.n_steps + 1)[()], 2 + d)
    near = u[0] < probability
    remaining = uniform_integers(u[1], 1, min(window, market.n_steps))
    if inventory is None:
        reach = np.asarray(reach, dtype=np.int64).reshape((d,) + (1,) * len(state.shape))
        inventory = uniform_integers(u[2:], -reach, reach)
    inventory = np.where(near, inventory, state.inventory)
    limits = market.column("max_inventory")
    magnitude = np.abs(inventory).reshape(d, -1).max(axis=1)
    if np.any(magnitude > limits):  # the core keeps |q| ≤ Q, and its penalty reads whole positions within it
        raise ValueError(
            f"close starts' inventory must lie within each asset's ±max_inventory {limits}; got inventories up to "
            f"{magnitude}"
        )
    return dataclasses.replace(state, inventory=inventory, step=np.where(near, market.n_steps - remaining, state.step))
