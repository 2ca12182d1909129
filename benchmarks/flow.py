"""Informed flow: the core's cost of the hidden flow state and the maker's filter, and the belief optimum's cost,
value and Monte-Carlo check by grid size.

1. The batched core (``envs.core.step``, fixed quotes, the core drawing its own noise) at ``--markets`` books on
   ``informed_flow`` with the hidden state alone (what training on the public observations runs) and with the
   maker's filter as well (what a belief observation or a belief rule needs), against the same market without its
   flow state (``Market.without_flow``: the plain one-asset core under the same fill rule) and the ``default``
   preset's market (the Poisson fill rule), timed in one run, alternating, ``--repeats`` sessions each: the median
   session's steps per second and its ratio to the plain core's.
2. ``optimal`` (``baselines.flow_optimal.FlowOptimal``) on each preset for each ``--grids`` belief resolution: its
   build time, peak memory (``tracemalloc``: numpy's allocations), exact value, the value's change from the
   previous grid, and its Monte-Carlo evaluation over ``--episodes`` paired episodes with the standard error that a
   grid refinement must stay within. The full-information bound and the filter's closed form are printed beside.

Run: ``.venv/bin/python benchmarks/flow.py [--markets 10000] [--repeats 7] [--grids 12 24 36 48] [--episodes 4000]``.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from baselines import make_policy
from baselines.flow_optimal import FlowOptimal
from envs import core, market_keys
from envs.presets import make_market
from envs.rollout import rule_rollout


def session_seconds(market, markets: int, belief: bool) -> float:
    """Seconds for one session of ``markets`` books under fixed quotes (``belief``: the filter runs)."""
    state = core.reset(market, market_keys(0, markets), np.zeros(markets, dtype=np.uint64), belief=belief)
    action = core.Action.quotes(np.full((markets, 1), 0.7), np.full((markets, 1), 0.7))
    start = time.perf_counter()
    for _ in range(market.n_steps):
        state, _ = core.step(market, state, action)
    return time.perf_counter() - start


def core_speed(markets: int, repeats: int) -> None:
    flow = make_market("informed_flow")
    cores = {
        "informed_flow, hidden state": (flow, False),
        "informed_flow, hidden state and filter": (flow, True),
        "informed_flow without its flow (the plain core)": (flow.without_flow(), False),
        "default": (make_market("default"), False),
    }
    times = {name: [] for name in cores}
    for market, belief in cores.values():  # warm-up
        session_seconds(market, 100, belief)
    for _ in range(repeats):
        for name, (market, belief) in cores.items():
            times[name].append(session_seconds(market, markets, belief))
    rate = {name: markets * cores[name][0].n_steps / np.median(values) for name, values in times.items()}
    plain = rate["informed_flow without its flow (the plain core)"]
    print(f"\nThe core at {markets:,} markets, {repeats} sessions each, alternating (median session):\n")
    print("| core | steps/s | ÷ the plain core |\n|---|---:|---:|")
    for name, value in rate.items():
        print(f"| {name} | {value:,.0f} | {value / plain:.2f} |")


def evaluated(market, policy, episodes: int) -> tuple[float, float]:
    reward = rule_rollout(market, policy, market_keys(0, episodes)).reward
    return float(reward.mean()), float(reward.std(ddof=1) / np.sqrt(reward.size))


def belief_optimum(preset: str, grids: list[int], episodes: int) -> None:
    market = make_market(preset)
    print(f"\n`{preset}`: the belief optimum by grid ({episodes:,} paired episodes):\n")
    print("| belief grid | grid beliefs | build [s] | peak memory [MiB] | exact value | change | Monte Carlo ± s.e. |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    previous = None
    for grid in grids:
        tracemalloc.start()
        start = time.perf_counter()
        policy = FlowOptimal(market, belief_grid=grid)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        value = policy.expected_reward()
        mean, error = evaluated(market, policy, episodes)
        change = "—" if previous is None else f"{value - previous:+.3f}"
        print(
            f"| {grid} | {len(policy.grid)} | {seconds:.1f} | {peak:.0f} | {value:.3f} | {change} | {mean:.3f} ± {error:.3f} |"
        )
        previous = value
    for name in ("full_information", "filtered_closed_form", "closed_form"):
        policy = make_policy(name, market)
        mean, error = evaluated(market, policy, episodes)
        exact = f", exact {policy.expected_reward():.3f}" if name == "full_information" else ""
        print(f"\n{name}: Monte Carlo {mean:.3f} ± {error:.3f}{exact}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--markets", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--grids", type=int, nargs="+", default=[12, 24, 36, 48])
    parser.add_argument("--episodes", type=int, default=4000)
    args = parser.parse_args()
    core_speed(args.markets, args.repeats)
    for preset in ("informed_flow", "informed_flow_weak"):
        belief_optimum(preset, args.grids, args.episodes)


if __name__ == "__main__":
    main()
