"""Replay: policies quote against recorded flow. A tape (``eval.tape``) is cut into sessions of the market's
horizon; in each step every policy quotes from the recorded mid at the step's start (the last quote before it), and
the step's recorded market orders fill its quotes by an explicit rule:

- ``through``: a sell order whose deepest price is below the bid by more than half a tick fills the bid, a buy order
  above the ask likewise (a trade printing through the quote: conservative, no queue);
- ``at_quote``: as ``through``, and an order reaching the quote's price within half a tick fills it with probability
  ``at_quote_probability`` (the queue ahead of the maker, unknown, in one number).

One order per side per step can fill (the step's deepest; as the simulator fills at most one request per side and
step), for its size in lots, refused where it would take |q| past the limit. Cash, inventory, fees and the penalty
are accounted as in the simulator (``envs.core``): the reward's parts are the spread captured at the quoted offsets,
the inventory's revaluation to the next step's recorded mid, the fees and ``φ·dt·q²`` each step with ``α·q²`` at the
close; the result is a ``Rollout`` (``envs.rollout``), so the metrics, report and plots are a simulation's, paired over
the sessions (every policy sees the same orders, and the same draws of the ``at_quote`` rule).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from collections.abc import Callable

import numpy as np

from envs import action_to_quotes, interface_of, observation_at
from envs.rollout import Rollout
from eval.calibrate import market_orders
from eval.tape import Tape

FILL_RULES = ("through", "at_quote")
# Observation features a replay cannot build yet (they read the simulated history).
HISTORY_FEATURES = ("mid_return", "last_fills", "fill_imbalance")


@dataclasses.dataclass(frozen=True)
class Flow:
    """A tape cut into sessions of ``n_steps`` steps: the mid at each step boundary ``(sessions, n_steps + 1)``
    [price]; per step the deepest sell and buy order's price [price, ``nan`` if none] and size [lots]; the tick
    [price]; the draws of the ``at_quote`` rule ``(sessions, n_steps, 2)``."""

    mid: np.ndarray
    sell_price: np.ndarray
    sell_size: np.ndarray
    buy_price: np.ndarray
    buy_size: np.ndarray
    tick: float
    draws: np.ndarray

    @property
    def sessions(self) -> int:
        return self.mid.shape[0]


def replay_arguments(p: argparse.ArgumentParser) -> None:
    """The replay's flags, for every command that replays: ``--fill-rule``, ``--at-quote-probability``, ``--tick``."""
    p.add_argument("--fill-rule", choices=FILL_RULES, default="through", help="replay's fill rule (default through)")
    p.add_argument(
        "--at-quote-probability",
        type=float,
        default=0.5,
        help="replay's chance an order reaching the quote's price fills it, with --fill-rule at_quote (default 0.5)",
    )
    p.add_argument(
        "--tick", type=float, help="the venue's tick [price] (default: the smallest price step the trades show)"
    )


def check_replay_arguments(args: argparse.Namespace) -> None:
    """``ValueError`` naming a bad replay flag and what it accepts."""
    if not 0.0 <= args.at_quote_probability <= 1.0:
        raise ValueError(f"--at-quote-probability must be in [0, 1]; got {args.at_quote_probability}")
    if args.tick is not None and not (math.isfinite(args.tick) and args.tick > 0):
        raise ValueError(f"--tick must be a price step > 0; got {args.tick}")


def session_flow(tape: Tape, world, time_unit: float, lot: float, seed: int = 0, tick: float | None = None) -> Flow:
    """The tape's recorded flow in sessions of ``world``'s horizon (``time_unit`` seconds per unit of its time),
    sizes in lots of ``lot`` [the venue's quantity]; ``tick`` defaults to the smallest price step the trades show.
    ``ValueError`` if the tape holds no whole session."""
    market = interface_of(world).market
    step, steps = market.dt * time_unit, market.n_steps
    session = steps * step
    sessions = int((tape.duration - tape.quote_time[0]) // session)
    if sessions < 1:
        raise ValueError(
            f"the tape spans {tape.duration:.0f} s, shorter than one session of {session:g} s (horizon "
            f"{market.horizon:g} × {time_unit:g} s): choose a shorter horizon or a longer tape"
        )
    start = tape.quote_time[0]
    boundaries = start + session * np.arange(sessions)[:, None] + step * np.arange(steps + 1)[None, :]
    mid = tape.mid_at(boundaries)
    orders = market_orders(tape)
    slot = np.floor((orders.time - start) / step).astype(np.int64)  # the step each order falls in, over sessions
    inside = (slot >= 0) & (slot < sessions * steps)
    sells, buys = inside & (orders.side < 0), inside & (orders.side > 0)
    count = sessions * steps
    sell_price, sell_size = _deepest(slot[sells], orders.price[sells], orders.size[sells], count, lowest=True)
    buy_price, buy_size = _deepest(slot[buys], orders.price[buys], orders.size[buys], count, lowest=False)
    if tick is None:
        steps_seen = np.diff(np.unique(np.round(tape.trade_price, 10)))
        tick = float(steps_seen.min()) if steps_seen.size else 0.0
    shape = (sessions, steps)
    lots = lambda size: np.maximum(np.rint(size / lot), 1).reshape(shape)  # noqa: E731
    return Flow(
        mid,
        sell_price.reshape(shape),
        lots(sell_size),
        buy_price.reshape(shape),
        lots(buy_size),
        tick,
        np.random.default_rng(seed).uniform(size=(*shape, 2)),
    )


def _deepest(slot, prices, sizes, count: int, lowest: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per slot (0 … count − 1) the deepest order's price (the lowest for sells, the highest for buys; ``nan``
    where none) and size."""
    price, size = np.full(count, np.nan), np.zeros(count)
    if slot.size:
        order = np.lexsort((prices if lowest else -prices, slot))  # by slot, deepest first
        chosen = order[np.r_[True, np.diff(slot[order]) != 0]]
        price[slot[chosen]], size[slot[chosen]] = prices[chosen], sizes[chosen]
    return price, size


def replay_rollout(
    world,
    flow: Flow,
    predict: Callable[[np.ndarray], np.ndarray],
    rule: str = "through",
    at_quote_probability: float = 0.5,
) -> Rollout:
    """Every session of ``flow`` at once under ``predict`` (observations → the env's normalized actions), filled by
    ``rule`` (module docstring); the results as the simulator's ``Rollout``, one episode per session."""
    view = interface_of(world)
    market = view.market
    if market.n_assets != 1 or market.n_hedges:
        raise ValueError("replay quotes one asset without hedges (a tape records one instrument)")
    if market.quote_buckets > 1:
        raise ValueError(
            "replay quotes one offset per side; this market's quote_rule is 'per_size' (accepted: 'per_side')"
        )
    history = sorted(set(view.features) & set(HISTORY_FEATURES))
    if history:
        raise ValueError(f"replay builds no history features yet; the policy observes {history}")
    if rule not in FILL_RULES:
        raise ValueError(f"fill rule must be one of {list(FILL_RULES)}; got {rule!r}")
    if not 0.0 <= at_quote_probability <= 1.0:
        raise ValueError(f"at_quote_probability must be in [0, 1]; got {at_quote_probability}")
    asset, n, steps = market.assets[0], flow.sessions, market.n_steps
    limit, fee, half_tick = asset.max_inventory, asset.fee, 0.5 * flow.tick
    running, terminal = market.running_penalty_levels[0] * market.dt, market.penalty.terminal
    inventory = np.zeros(n, dtype=np.int64)
    flows = {name: np.zeros(n) for name in ("spread_captured", "inventory_pnl", "fees", "penalty")}
    counts = {name: np.zeros(n) for name in ("bid", "ask", "two_sided", "spread_sum", "abs", "limit", "square")}
    max_abs = np.zeros(n)
    paths = [inventory.copy()]
    for step in range(steps):
        action = np.asarray(predict(observation_at(world, inventory[:, None], steps - step)))
        bid, ask, bid_quoted, ask_quoted = (side[:, 0] for side in action_to_quotes(world, action))
        mid = flow.mid[:, step]
        filled = []
        for price, size, quote, quoted, direction, draw in (
            (flow.sell_price[:, step], flow.sell_size[:, step], mid - bid, bid_quoted, 1, flow.draws[:, step, 0]),
            (flow.buy_price[:, step], flow.buy_size[:, step], mid + ask, ask_quoted, -1, flow.draws[:, step, 1]),
        ):
            gap = direction * (quote - price)  # how far the order went past the quote [price]
            fills = quoted & np.isfinite(price) & (gap > half_tick)
            if rule == "at_quote":
                fills |= quoted & np.isfinite(price) & (np.abs(gap) <= half_tick) & (draw < at_quote_probability)
            lots = np.where(fills, size, 0).astype(np.int64)
            lots = np.where(np.abs(inventory + direction * lots) <= limit, lots, 0)  # refused past the limit
            inventory = inventory + direction * lots
            filled.append(lots)
        bid_lots, ask_lots = filled
        two_sided = bid_quoted & ask_quoted
        flows["spread_captured"] += bid_lots * bid + ask_lots * ask
        flows["fees"] += fee * (bid_lots + ask_lots)
        flows["inventory_pnl"] += inventory * (flow.mid[:, step + 1] - mid)
        flows["penalty"] += running * inventory.astype(np.float64) ** 2
        counts["bid"] += bid_lots
        counts["ask"] += ask_lots
        counts["two_sided"] += two_sided
        counts["spread_sum"] += np.where(two_sided, bid + ask, 0.0)
        counts["abs"] += np.abs(inventory)
        counts["limit"] += np.abs(inventory) >= limit
        counts["square"] += inventory.astype(np.float64) ** 2
        np.maximum(max_abs, np.abs(inventory), out=max_abs)
        paths.append(inventory.copy())
    flows["penalty"] += terminal * inventory.astype(np.float64) ** 2
    pnl = flows["spread_captured"] + flows["inventory_pnl"] - flows["fees"]
    column = lambda values: np.asarray(values, dtype=np.float64)[:, None]  # noqa: E731
    return Rollout(
        reward=pnl - flows["penalty"],
        pnl=pnl,
        flows=flows,
        bid_fills=column(counts["bid"]),
        ask_fills=column(counts["ask"]),
        spread_by_asset=column(flows["spread_captured"]),
        final_inventory=column(inventory),
        mean_abs_inventory=column(counts["abs"] / steps),
        max_abs_inventory=column(max_abs),
        steps_at_limit=column(counts["limit"]),
        steps_two_sided=column(counts["two_sided"]),
        spread_sum=column(counts["spread_sum"]),
        mean_net_risk=counts["abs"] / steps,
        mean_abs_hedge=np.zeros((n, 0)),
        hedge_volume=np.zeros((n, 0)),
        hedge_cross=np.zeros(n),
        inventory_square=counts["square"],
        inventory_paths=np.array(paths)[:, :, None],
    )


def replay_runner(flow: Flow, rule: str, at_quote_probability: float):
    """A runner for ``eval.evaluate.evaluate_policies``: each policy replayed on ``flow`` (episodes and seed are the
    flow's sessions and draws)."""

    def run(world, predict, episodes, seed, keep_paths=False):
        return replay_rollout(world, flow, predict, rule, at_quote_probability)

    return run


def replay_units(path) -> tuple[float, float]:
    """``(time_unit [s], lot [the venue's quantity])`` a market file was calibrated with (its ``provenance``, as
    ``python -m eval.calibrate`` writes it); ``ValueError`` naming the file if it holds none."""
    import yaml

    try:
        choices = yaml.safe_load(open(path))["provenance"]["choices"]
        return float(choices["time_unit"]), float(choices["lot"])
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError):
        raise ValueError(
            f"market file {path}: no provenance.choices with time_unit and lot (a replay needs the units the market "
            "was calibrated in: write it with python -m eval.calibrate)"
        ) from None
