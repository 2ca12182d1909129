"""Sessions of any ``envs.market.Market`` dealt by a rule over the core (``envs.core``), summed per episode: the
evaluation rollout of the multi-asset policies (``baselines.dealer``).

A rule sees each book's inventories ``(n, d)`` [lots], hedge positions ``(n, m)`` [lots], time to the close
``(n,)`` [time] and regime ``(n,)``, and returns its quotes ``(n, d)`` [price, ``+inf`` pulled] and the hedge
trades it asks for ``(n, m)`` [lots] or ``None``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from envs import core
from envs.market import Market

# A dealer's rule: (inventory (n, d), hedge_position (n, m), time_to_close (n,), regime (n,)) → (bid (n, d), ask (n, d),
# hedge trade (n, m) or None); ``baselines.dealer.DealerPolicy.act`` is one.
DealingRule = Callable[
    [np.ndarray, np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray | None]
]


@dataclasses.dataclass(frozen=True)
class DealerEpisodes:
    """Per-episode sums of a batch of sessions: ``(n,)`` [price] unless noted; per-asset ``(n, d)``."""

    reward: np.ndarray
    pnl: np.ndarray  # the change in wealth marked to the mids over the session [price]
    spread_captured: np.ndarray
    inventory_pnl: np.ndarray
    penalty: np.ndarray
    fees: np.ndarray
    hedge_pnl: np.ndarray
    hedge_cost: np.ndarray
    spread_by_asset: np.ndarray  # spread captured per asset [price]
    fills: np.ndarray  # lots filled per asset, both sides
    mean_abs_inventory: np.ndarray  # per asset [lots]
    mean_net_risk: np.ndarray  # √(xᵀRx) over every position, averaged over the session [lots of the first asset]
    max_abs_inventory: np.ndarray  # per asset [lots]
    mean_abs_hedge: np.ndarray  # per hedge instrument [lots], (n, m)


FLOWS = ("reward", "spread_captured", "inventory_pnl", "penalty", "fees", "hedge_pnl", "hedge_cost")


def rollout(dealer: Market, policy: DealingRule, keys: np.ndarray, episode: int = 0) -> DealerEpisodes:
    """One session in each book (``keys``), dealing by ``policy(inventory, hedge_position, time_to_close, regime)``."""
    state = core.reset(dealer, keys, np.full(len(keys), episode, dtype=np.uint64))
    opening = state.wealth
    d, n = state.inventory.shape
    zeros = np.zeros(n)
    sums = {name: np.zeros(n) for name in (*FLOWS, "risk")}
    fills, abs_inventory, spread_by_asset = np.zeros((n, d)), np.zeros((n, d)), np.zeros((n, d))
    abs_hedge = np.zeros((n, dealer.n_hedges))
    max_abs = np.abs(state.inventory.T).astype(np.float64)
    for index in range(dealer.n_steps):
        time_to_close = np.full(n, dealer.horizon - index * dealer.dt)
        bid, ask, trade = policy(state.inventory.T, state.hedge_position.T, time_to_close, state.regime)
        state, outcome = core.step(dealer, state, core.Action.quotes(bid, ask, trade))
        for name in FLOWS:
            flow = getattr(outcome, name)
            sums[name] += zeros if flow is None else flow
        positions = state.positions
        sums["risk"] += np.sqrt(np.einsum("in,ij,jn->n", positions, dealer.risk_matrix, positions))
        abs_hedge += np.abs(state.hedge_position.T)
        bid_lots, ask_lots = outcome.bid_fills.T, outcome.ask_fills.T
        fills += bid_lots + ask_lots
        for quote, lots in ((bid, bid_lots), (ask, ask_lots)):
            spread_by_asset += lots * np.where(lots > 0, quote, 0.0)
        abs_inventory += np.abs(state.inventory.T)
        max_abs = np.maximum(max_abs, np.abs(state.inventory.T))
    return DealerEpisodes(
        reward=sums["reward"],
        pnl=state.wealth - opening,
        spread_captured=sums["spread_captured"],
        inventory_pnl=sums["inventory_pnl"],
        penalty=sums["penalty"],
        fees=sums["fees"],
        hedge_pnl=sums["hedge_pnl"],
        hedge_cost=sums["hedge_cost"],
        spread_by_asset=spread_by_asset,
        fills=fills,
        mean_abs_inventory=abs_inventory / dealer.n_steps,
        mean_net_risk=sums["risk"] / dealer.n_steps,
        max_abs_inventory=max_abs,
        mean_abs_hedge=abs_hedge / dealer.n_steps,
    )
