"""Vectorized rollouts: one batched market per policy, every episode a column, common random numbers.

Episode ``i`` of a rollout seeded ``seed`` runs on the stream key of market ``seed + i``, so every
policy rolled out with the same seed faces the same order arrivals and mid shocks wherever its own
quotes allow, and two policies that quote identically get identical results.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from envs.batch import MarketBatch, cash_flows, market_keys
from envs.core import net_risk
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
