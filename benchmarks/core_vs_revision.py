"""This checkout's speed against an earlier revision's, in the same minutes: env-steps per second.

Each tree (the revision exported with ``git archive``) is timed in its own process, in turns (revision, checkout,
revision, checkout, …); each figure is a process's best of three repeats, and each ratio (checkout / revision) is the
median over the rounds of the ratio to the adjacent revision run, so a drift of the machine's speed cancels. Timed:

- ``core.step`` alone at 1, 1,000 and 10,000 markets (as2008, quotes in price units);
- the one-asset vector runner (``MarketBatch``, behind the vector envs) at 10,000 markets (``default``, ``hedged``);
- the single env through ``gymnasium.make`` (``default``, ``hedged``);
- the two-asset core against the one-asset core at 10,000 markets, within each tree (``two_assets`` and its first
  asset alone), with the two-asset core's minor page faults per step (the process's, over its timed steps, a
  session's reset included where one falls among them: glibc faulting a step's temporaries back in after trimming
  its heap, ``envs.heap``).

Both the first wave's four-array ``core.step``, the single-asset ``core.Action`` and the one core's
``core.Action.quotes`` are understood.

Run: ``.venv/bin/python benchmarks/core_vs_revision.py [REV] [--rounds 3]`` (default: 02aed36, the last commit
before the one core).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from revision import ROOT, exported, head  # this folder's sibling module

TIMING = """
import resource, time, numpy as np, gymnasium as gym
import envs
from envs import core, make_world, market_keys, MarketBatch
ONE_CORE = hasattr(core.Action, "quotes")

FAULTS_PER_STEP = []  # each timed core run's minor page faults per step, in order

def minor_faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

def best(rate):
    return max(rate() for _ in range(3))

def core_rate(market, n, steps, assets=1):
    state = core.reset(market, market_keys(0, n), np.zeros(n, dtype=np.uint64))
    if ONE_CORE:
        action = core.Action.quotes(np.full((n, assets), 0.7), np.full((n, assets), 0.7))
        advance = lambda state: core.step(market, state, action)
    elif hasattr(core, "Action"):
        action = core.Action(np.full((n, 2), 0.7), np.ones((n, 2), dtype=bool))
        advance = lambda state: core.step(market, state, action)
    else:
        offset, quoted = np.full(n, 0.7), np.ones(n, dtype=bool)
        advance = lambda state: core.step(market, state, offset, offset, quoted, quoted)
    faults, start = minor_faults(), time.perf_counter()
    for _ in range(steps):
        if state.step[0] >= market.n_steps:
            state = core.reset(market, state.key, state.episode + np.uint64(1))
        state, _ = advance(state)
    rate = n * steps / (time.perf_counter() - start)
    FAULTS_PER_STEP.append((minor_faults() - faults) / steps)
    return rate

def dealer_rate(market, n, steps):
    if ONE_CORE:
        return core_rate(market, n, steps, market.n_assets)
    from envs import dealer_core
    state = dealer_core.reset(market, market_keys(0, n), np.zeros(n, dtype=np.uint64))
    quote = np.full((n, market.n_assets), 0.7)
    faults, start = minor_faults(), time.perf_counter()
    for _ in range(steps):
        if state.step[0] >= market.n_steps:
            state = dealer_core.reset(market, state.key, state.episode + np.uint64(1))
        state, _ = dealer_core.step(market, state, quote, quote)
    rate = n * steps / (time.perf_counter() - start)
    FAULTS_PER_STEP.append((minor_faults() - faults) / steps)
    return rate

def vector_rate(preset, n=10_000, steps=200):
    world = make_world(preset)
    batch = MarketBatch(world, n)
    batch.reset(seed=0)
    action = np.zeros((n, len(world.action_names)), dtype=np.float32)
    if world.hedged:
        action[:, 2] = np.where(np.arange(n) % 2, 0.5, -0.5)
    start = time.perf_counter()
    for _ in range(steps):
        batch.step(action)
    return n * steps / (time.perf_counter() - start)

def single_rate(preset, steps=20_000):
    env = gym.make(envs.ENV_ID, world=preset)
    env.reset(seed=0)
    action = np.zeros(len(env.unwrapped.world.action_names), dtype=np.float32)
    action[2:] = 0.5
    start = time.perf_counter()
    for _ in range(steps):
        if env.step(action)[2]:
            env.reset()
    return steps / (time.perf_counter() - start)

world = make_world("as2008")
market = world.market if ONE_CORE else world
for n, steps in ((1, 20_000), (1_000, 2_000), (10_000, 300)):
    print(f"core.step at {n:,} markets", best(lambda: core_rate(market, n, steps)))
for preset in ("default", "hedged"):
    print(f"vector runner at 10,000 markets, {preset}", best(lambda: vector_rate(preset)))
    print(f"single env via gymnasium.make, {preset}", best(lambda: single_rate(preset)))
from envs.presets import make_market, mean_variance_market
two = make_market("two_assets")
one = mean_variance_market(assets=two.assets[:1], risk_aversion=two.risk_aversion, dt=two.dt)
ratios, faults = [], []
for _ in range(3):
    two_rate = dealer_rate(two, 10_000, 200)
    faults.append(FAULTS_PER_STEP[-1])
    ratios.append(two_rate / dealer_rate(one, 10_000, 200))
print("two-asset / one-asset core at 10,000 markets (ratio)", sorted(ratios)[1])
print("two-asset core's minor page faults per step (count)", sorted(faults)[1])
"""


def timed(tree: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, "-c", TIMING], cwd=tree, env=env, capture_output=True, text=True, check=True)
    return {label: float(value) for label, value in (line.rsplit(" ", 1) for line in out.stdout.splitlines() if line)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("revision", nargs="?", default="02aed36")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with exported(args.revision) as tree:
        runs = [timed(tree)]
        for _ in range(args.rounds):
            runs += [timed(ROOT), timed(tree)]
    revision_runs, checkout_runs = runs[0::2], runs[1::2]
    print(f"checkout at {head()} against {args.revision}, {args.rounds} rounds (medians)")
    for label in checkout_runs[0]:
        if label.endswith(("(ratio)", "(count)")):
            old = statistics.median(run[label] for run in revision_runs)
            new = statistics.median(run[label] for run in checkout_runs)
            print(f"{label}: {args.revision} {old:.3f}, this checkout {new:.3f}")
            continue
        ratios = [
            checkout[label] / max(revision_runs[i][label], revision_runs[i + 1][label])
            for i, checkout in enumerate(checkout_runs)
        ]
        old = statistics.median(run[label] for run in revision_runs)
        new = statistics.median(run[label] for run in checkout_runs)
        print(f"{label}: {args.revision} {old:,.0f}, this checkout {new:,.0f}, ratio {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
