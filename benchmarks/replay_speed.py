"""Replay speed: recorded market orders replayed per second through ``eval.replay`` (every session at once, a
policy's quotes each step), against a plain loop over the same orders that only checks each against fixed quotes
and keeps the inventory (the limit: no policy, no accounting).

Run: ``.venv/bin/python benchmarks/replay_speed.py [--data PATH] [--repeats 5]`` (default data: the shared Binance
USDⓈ-M BTCUSDT capture where present, else the shipped ETHUSDT one). Prints medians over the repeats, in one run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from baselines import make_policy
from eval.calibrate import calibrate, market_orders
from eval.replay import replay_rollout, session_flow
from eval.tape import read_tape

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "binance" / "usdm" / "btcusdt_20240808.gz"
SHIPPED = ROOT / "examples" / "data" / "binance_spot_ethusdt"


def plain_loop(times, prices, sides, mids, step: float, half_spread: float) -> int:
    """One pass over the orders in Python: the step each falls in, the fixed quotes around that step's mid, a fill
    where the order prints through, the inventory kept. Returns the inventory (so the work is not skipped)."""
    inventory = 0
    for when, price, side in zip(times.tolist(), prices.tolist(), sides.tolist(), strict=True):
        mid = mids[int(when // step)]
        if side < 0 and price < mid - half_spread:
            inventory += 1
        elif side > 0 and price > mid + half_spread:
            inventory -= 1
    return inventory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=SHARED if SHARED.is_file() else SHIPPED)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    tape = read_tape(args.data)
    result = calibrate(tape, time_unit=60.0, horizon=0.25, dt=0.01, single_size=True)
    world = result.market
    started = time.perf_counter()
    flow = session_flow(tape, world, 60.0, result.lot)
    cut = time.perf_counter() - started
    orders = market_orders(tape)
    span = flow.sessions * world.n_steps * world.dt * 60.0
    events = int(np.count_nonzero(orders.time - tape.quote_time[0] < span))
    policy = make_policy("symmetric", world)
    replay, loop = [], []
    step = world.dt * 60.0
    mids = flow.mid[:, :-1].reshape(-1)
    kept = orders.time - tape.quote_time[0] < span
    times, prices, sides = orders.time[kept] - tape.quote_time[0], orders.price[kept], orders.side[kept]
    for _ in range(args.repeats):
        started = time.perf_counter()
        replay_rollout(world, flow, lambda o: policy.predict(o)[0])
        replay.append(time.perf_counter() - started)
        started = time.perf_counter()
        plain_loop(times, prices, sides, mids, step, float(policy.half_spread[0]))
        loop.append(time.perf_counter() - started)
    replay_rate, loop_rate = events / statistics.median(replay), events / statistics.median(loop)
    print(f"data: {args.data} ({tape.duration:.0f} s, {orders.depth.size:,} orders)")
    print(f"{flow.sessions} sessions of {world.n_steps} steps ({world.horizon * 60:g} s), {events:,} orders replayed")
    print(f"cutting the tape into sessions: {cut * 1e3:.1f} ms")
    print(f"replay (symmetric, every session at once): {replay_rate:,.0f} orders/s")
    print(f"plain loop over the same orders (the limit): {loop_rate:,.0f} orders/s")
    print(f"replay / plain loop: {replay_rate / loop_rate:.2f}")


if __name__ == "__main__":
    main()
