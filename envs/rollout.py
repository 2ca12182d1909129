"""Vectorized evaluation rollouts: one batch per policy, every episode a column, common random numbers.

``rollout`` runs a single-asset world's policy on observations (the env's normalized actions, through the runner);
``rule_rollout`` runs a dealing rule on any ``Market`` straight over the core, in price units: it sees each book's
inventories ``(n, d)`` [lots], hedge positions ``(n, m)`` [lots], time to the close ``(n,)`` [time] and regime
``(n,)``, and returns its quotes ``(n, d)`` [price, ``+inf`` pulled] and the hedge trades it asks for ``(n, m)``
[lots] or ``None`` (every ``baselines.Policy`` is one, called).

Episode ``i`` of a rollout seeded ``seed`` runs on the stream key of market ``seed + i``, so every
policy rolled out with the same seed faces the same order arrivals and mid shocks wherever its own
quotes allow, and two policies that quote identically get identical results.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from envs import core
from envs.batch import MarketBatch, cash_flows, market_keys
from envs.core import net_risk
from envs.market import Market
from envs.world import World

Predict = Callable[[np.ndarray], np.ndarray]


@dataclasses.dataclass(frozen=True)
class Rollout:
    """Per-episode results of one policy (arrays of shape ``(episodes,)``), price units unless noted.

    ``reward`` is the env's own objective summed over the session; ``pnl`` the change in wealth marked
    to the mids; ``flows`` each of the world's ``cash_flows`` summed over the session, which add up to ``reward``
    with their signs. Counts of steps (``steps_at_limit``, ``steps_two_sided``) are out of ``world.n_steps``.
    ``inventory_paths`` (``(n_steps + 1, episodes)``, lots) is kept only when asked for.
    ``hedge`` (worlds with a hedge instrument, else ``None``) holds per-episode sums over the session's
    steps: ``volume`` Σ|u| [lots], ``abs_position`` Σ|q₂|, ``net_risk`` Σ√(qᵀRq) [lots of the quoted
    asset], ``cross`` Σq₁·q₂ and ``square`` Σq₁² [lots²] (their ratio is the realized hedge ratio).
    """

    reward: np.ndarray
    pnl: np.ndarray
    final_inventory: np.ndarray
    mean_abs_inventory: np.ndarray
    max_abs_inventory: np.ndarray
    steps_at_limit: np.ndarray
    steps_two_sided: np.ndarray
    spread_sum: np.ndarray
    bid_fills: np.ndarray
    ask_fills: np.ndarray
    flows: dict[str, np.ndarray]
    inventory_paths: np.ndarray | None = None
    hedge: dict[str, np.ndarray] | None = None


HEDGE_SUMS = ("volume", "abs_position", "net_risk", "cross", "square")


def rollout(
    world: World, predict: Predict, episodes: int, seed: int, keep_paths: bool = False, copies: int = 1
) -> Rollout:
    """Run ``episodes`` sessions of ``world`` at once under ``predict`` (observations → actions).

    ``predict`` receives float32 observations ``(copies·episodes, obs_dim)`` and returns actions of
    shape ``(copies·episodes, legs)`` in the env's normalized action space. ``copies`` repeats the same
    ``episodes`` random streams in consecutive blocks, so ``predict`` can run several policies, one
    per block, under common random numbers in one batch; results are then ``(copies·episodes,)``.
    """
    batch = MarketBatch(world, episodes * copies)
    observation = batch.reset(keys=np.tile(market_keys(seed, episodes), copies))
    start_wealth = batch.state.wealth.copy()
    inventory = batch.state.inventory[0]
    zeros = np.zeros(batch.n)
    flows = cash_flows(world)
    hedge = {name: zeros.copy() for name in HEDGE_SUMS} if world.hedged else None
    totals = {
        name: zeros.copy()
        for name in (
            *flows,
            "bid_fills",
            "ask_fills",
            "spread_sum",
            "two_sided",
            "abs_inventory",
            "at_limit",
        )
    }
    max_abs = np.abs(inventory).astype(np.float64)
    paths = [inventory.copy()] if keep_paths else None
    for _ in range(world.n_steps):
        result = batch.step(np.asarray(predict(observation)))
        observation, info = result.observation, result.info
        two_sided = info["bid_quoted"] & info["ask_quoted"]
        for name in (*flows, "bid_fills", "ask_fills"):
            totals[name] += info[name]
        if hedge is not None:
            _add_hedge_sums(world, hedge, info)
        totals["two_sided"] += two_sided
        totals["spread_sum"] += np.where(two_sided, info["bid_offset"] + info["ask_offset"], 0.0)
        inventory = info["inventory"]
        totals["abs_inventory"] += np.abs(inventory)
        totals["at_limit"] += np.abs(inventory) >= world.max_inventory
        np.maximum(max_abs, np.abs(inventory), out=max_abs)
        if keep_paths:
            paths.append(inventory.copy())
        final_wealth = info["wealth"]
    return Rollout(
        reward=result.finished.episode["objective"],
        pnl=final_wealth - start_wealth,
        final_inventory=inventory.astype(np.float64),
        mean_abs_inventory=totals["abs_inventory"] / world.n_steps,
        max_abs_inventory=max_abs,
        steps_at_limit=totals["at_limit"],
        steps_two_sided=totals["two_sided"],
        spread_sum=totals["spread_sum"],
        bid_fills=totals["bid_fills"],
        ask_fills=totals["ask_fills"],
        flows={name: totals[name] for name in flows},
        inventory_paths=np.array(paths) if keep_paths else None,
        hedge=hedge,
    )


def _add_hedge_sums(world: World, sums: dict[str, np.ndarray], info: dict[str, np.ndarray]) -> None:
    inventory, position = info["inventory"], info["hedge_position"]
    sums["volume"] += np.abs(info["hedge_trade"])
    sums["abs_position"] += np.abs(position)
    sums["net_risk"] += np.sqrt(np.maximum(net_risk(world, inventory, position), 0.0))
    sums["cross"] += inventory * position
    sums["square"] += inventory * inventory


# A dealer's rule: (inventory (n, d), hedge_position (n, m), time_to_close (n,), regime (n,)) → (bid (n, d), ask (n, d),
# hedge trade (n, m) or None); every ``baselines.Policy`` is one, called.
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


def rule_rollout(dealer: Market, policy: DealingRule, keys: np.ndarray, episode: int = 0) -> DealerEpisodes:
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
