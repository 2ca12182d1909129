"""Vectorized evaluation rollouts over the one runner, for every market: one batch per policy, every episode a column,
common random numbers.

A policy drives a rollout either on observations (``predict``: observations → the env's normalized actions, what a
learned policy does) or on positions in price units (``rule``: a dealing rule, e.g. any ``baselines.Policy`` called
on inventories ``(n, d)`` [lots], hedge positions ``(n, m)`` [lots], time to the close ``(n,)`` [time] and regimes
``(n,)``, and with informed flow the maker's filtered beliefs ``(n, S)`` and the hidden flow states ``(n,)``,
returning quotes ``(n, d)`` [price, ``+inf`` pulled] and hedge trades ``(n, m)`` [lots] or ``None``).

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

Predict = Callable[[np.ndarray], np.ndarray]
# A dealing rule: (inventory (n, d), hedge_position (n, m), time_to_close (n,), regime (n,)) → (bid (n, d),
# ask (n, d), hedge trade (n, m) or None); every ``baselines.Policy``, called, is one.
DealingRule = Callable[
    [np.ndarray, np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray | None]
]


@dataclasses.dataclass(frozen=True)
class Rollout:
    """Per-episode results of one policy: arrays ``(episodes,)`` [price] unless noted; per asset ``(episodes, d)``;
    per hedge ``(episodes, m)``.

    ``reward`` is the env's own objective summed over the session; ``pnl`` the change in wealth marked
    to the mids; ``flows`` each of the market's ``cash_flows`` summed over the session, which add up to ``reward``
    with their signs. Per asset: ``bid_fills`` and ``ask_fills`` [lots], ``spread_by_asset`` (spread captured
    [price]), ``final_inventory``, ``mean_abs_inventory`` and ``max_abs_inventory`` [lots], and counts of steps out
    of ``n_steps`` (``steps_at_limit``, ``steps_two_sided``) with ``spread_sum`` (Σ ``δ_b + δ_a`` over two-sided
    steps [price]). ``mean_net_risk``: ``√(xᵀRx)`` over every position averaged over the session [lots of the first
    asset]; ``mean_abs_hedge`` and ``hedge_volume`` (Σ|u| [lots]) per hedge. With one asset and one hedge,
    ``hedge_cross`` Σq₁·q₂ and ``inventory_square`` Σq₁² [lots², over the steps]: their ratio is the realized hedge
    ratio. ``inventory_paths`` (``(n_steps + 1, episodes, d)``, lots) is kept only when asked for.
    """

    reward: np.ndarray
    pnl: np.ndarray
    flows: dict[str, np.ndarray]
    bid_fills: np.ndarray
    ask_fills: np.ndarray
    spread_by_asset: np.ndarray
    final_inventory: np.ndarray
    mean_abs_inventory: np.ndarray
    max_abs_inventory: np.ndarray
    steps_at_limit: np.ndarray
    steps_two_sided: np.ndarray
    spread_sum: np.ndarray
    mean_net_risk: np.ndarray
    mean_abs_hedge: np.ndarray
    hedge_volume: np.ndarray
    hedge_cross: np.ndarray
    inventory_square: np.ndarray
    inventory_paths: np.ndarray | None = None


def rollout(world, predict: Predict, episodes: int, seed: int, keep_paths: bool = False, copies: int = 1) -> Rollout:
    """Run ``episodes`` sessions of ``world`` (a ``World``, ``Market`` or ``Interface``) at once under ``predict``
    (observations → actions).

    ``predict`` receives float32 observations ``(copies·episodes, obs_dim)`` and returns actions of
    shape ``(copies·episodes, legs)`` in the env's normalized action space. ``copies`` repeats the same
    ``episodes`` random streams in consecutive blocks, so ``predict`` can run several policies, one
    per block, under common random numbers in one batch; results are then ``(copies·episodes,)``.
    """
    return _rollout(world, np.tile(market_keys(seed, episodes), copies), predict, None, keep_paths)


def rule_rollout(world, rule: DealingRule, keys: np.ndarray, keep_paths: bool = False) -> Rollout:
    """One session in each book (``keys``, uint64 stream keys: ``market_keys``), dealing by ``rule(inventory,
    hedge_position, time_to_close, regime)`` in price units (see the module docstring)."""
    return _rollout(world, np.asarray(keys, dtype=np.uint64), None, rule, keep_paths)


def _rollout(world, keys: np.ndarray, predict: Predict | None, rule: DealingRule | None, keep_paths: bool) -> Rollout:
    # The closing state stays for the sums; a dealing rule may read the maker's filtered belief.
    batch = MarketBatch(world, len(keys), autoreset=False, track_belief=rule is not None)
    market = batch.market
    observation = batch.reset(keys=keys)
    state = batch.state
    start_wealth = state.wealth.copy()
    n, d, m = batch.n, market.n_assets, market.n_hedges
    risk = core.risk_form(market.risk_matrix)
    limit = market.column("max_inventory")[:, None]
    flows = {name: np.zeros(n) for name in cash_flows(market)}
    per_asset = {name: np.zeros((d, n)) for name in ("bid", "ask", "spread", "two_sided", "spread_sum", "abs", "limit")}
    net_risk, abs_hedge, volume = np.zeros(n), np.zeros((m, n)), np.zeros((m, n))
    cross, square = np.zeros(n), np.zeros(n)
    max_abs = np.abs(state.inventory).astype(np.float64)
    paths = [state.inventory.T.copy()] if keep_paths else None
    for index in range(market.n_steps):
        if rule is None:
            action = np.asarray(predict(observation))
        else:
            time_to_close = np.full(n, market.horizon - index * market.dt)
            flow = () if state.belief is None else (state.belief.T, state.flow)
            bid, ask, trade = rule(state.inventory.T, state.hedge_position.T, time_to_close, state.regime, *flow)
            action = core.policy_action(market, bid, ask, trade)
        result = batch.step(action)
        observation, state, outcome, quotes = result.observation, batch.state, result.outcome, result.quotes
        for name in flows:
            flows[name] += getattr(outcome, name)
        offset = quotes.offset
        quoted = quotes.quoted if quotes.quoted is not None else np.ones(offset.shape, dtype=bool)
        two_sided = quoted[0] & quoted[1]
        per_asset["bid"] += outcome.bid_fills
        per_asset["ask"] += outcome.ask_fills
        paid = outcome.fill_offset
        per_asset["spread"] += outcome.bid_fills * paid[0] + outcome.ask_fills * paid[1]
        per_asset["two_sided"] += two_sided
        per_asset["spread_sum"] += np.where(two_sided, offset[0] + offset[1], 0.0)
        magnitude = np.abs(state.inventory)
        per_asset["abs"] += magnitude
        per_asset["limit"] += magnitude >= limit
        np.maximum(max_abs, magnitude, out=max_abs)
        net_risk += np.sqrt(np.maximum(risk(*state.positions), 0.0))
        if m:
            abs_hedge += np.abs(state.hedge_position)
            volume += np.abs(outcome.hedge_trade)
            cross += state.inventory[0] * state.hedge_position[0]
            square += state.inventory[0] * state.inventory[0]
        if keep_paths:
            paths.append(state.inventory.T.copy())
    steps = market.n_steps
    return Rollout(
        reward=result.finished.episode["objective"],
        pnl=state.wealth - start_wealth,
        flows=flows,
        bid_fills=per_asset["bid"].T,
        ask_fills=per_asset["ask"].T,
        spread_by_asset=per_asset["spread"].T,
        final_inventory=state.inventory.T.astype(np.float64),
        mean_abs_inventory=per_asset["abs"].T / steps,
        max_abs_inventory=max_abs.T,
        steps_at_limit=per_asset["limit"].T,
        steps_two_sided=per_asset["two_sided"].T,
        spread_sum=per_asset["spread_sum"].T,
        mean_net_risk=net_risk / steps,
        mean_abs_hedge=abs_hedge.T / steps,
        hedge_volume=volume.T,
        hedge_cross=cross,
        inventory_square=square,
        inventory_paths=np.array(paths) if keep_paths else None,
    )
