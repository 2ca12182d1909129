"""Env-steps per second: the single env through ``gymnasium.make``, and at 1, 1 000 and 10 000 markets both the
batched core alone and ``MarketBatch`` (the runner under the vector adapters).

Run: ``.venv/bin/python benchmarks/env_speed.py`` (prints one line per case; best of three repeats).
"""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np

import envs
from envs import MarketBatch, core, make_world, market_keys


def single_env_rate(steps: int = 20_000, unwrapped: bool = False) -> float:
    """The single env, through ``gymnasium.make`` with its default wrappers, or the bare env under them."""
    env = gym.make(envs.ENV_ID, world="default")
    env = env.unwrapped if unwrapped else env
    env.reset(seed=0)
    action = np.zeros(2, dtype=np.float32)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, _, _ = env.step(action)
        if terminated:
            env.reset()
    return steps / (time.perf_counter() - start)


def vector_rate(n: int, steps: int) -> float:
    batch = MarketBatch(make_world("default"), n)
    batch.reset(seed=0)
    action = np.zeros((n, 2), dtype=np.float32)
    start = time.perf_counter()
    for _ in range(steps):
        batch.step(action)
    return n * steps / (time.perf_counter() - start)


def core_rate(n: int, steps: int) -> float:
    """``envs.core.step`` alone: quotes in price units, no action mapping, info or autoreset."""
    world = make_world("default")
    state = core.reset(world, market_keys(0, n), np.zeros(n, dtype=np.uint64))
    quotes = core.Action(np.full((n, 2), 0.7), np.ones((n, 2), dtype=bool))
    start = time.perf_counter()
    for _ in range(steps):
        if state.step[0] >= world.n_steps:
            state = core.reset(world, state.key, state.episode + np.uint64(1))
        state, _ = core.step(world, state, quotes)
    return n * steps / (time.perf_counter() - start)


def main() -> None:
    print(f"single env via gymnasium.make: {max(single_env_rate() for _ in range(3)):,.0f} env-steps/s")
    print(f"single env unwrapped: {max(single_env_rate(unwrapped=True) for _ in range(3)):,.0f} env-steps/s")
    for n, steps in ((1, 20_000), (1_000, 2_000), (10_000, 1_000)):
        batch = max(vector_rate(n, steps) for _ in range(3))
        alone = max(core_rate(n, steps) for _ in range(3))
        print(
            f"{n:>6,} markets: core.step {alone:>12,.0f} env-steps/s; "
            f"MarketBatch (actions, info, autoreset) {batch:>12,.0f} env-steps/s"
        )


if __name__ == "__main__":
    main()
