"""Env-steps per second: the single env through ``gymnasium.make`` (and unwrapped) in the ``default`` world and
the ``hedged`` one, and at 1, 1 000 and 10 000 markets both the
batched core alone and ``MarketBatch`` (the runner under the vector adapters), each in the single-asset
``default`` world and the ``hedged`` one (a hedge trade every step), with the hedged/single-asset ratio
measured in the same run; then ``MarketBatch`` drawing its noise ahead in blocks (its default) against
step by step (``DRAW_AHEAD_BYTES = 0``), interleaved in one run; then ``MarketBatch`` with close starts
(``close_starts=0.2``, each market on its own clock, so the core draws its noise step by step) against without.

Run: ``.venv/bin/python benchmarks/env_speed.py`` (prints one line per case; best of three repeats);
``--single``: the single env's lines only; ``--close-starts``: the close starts' lines only.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import envs
import envs.batch
from envs import MarketBatch, core, make_world, market_keys


def single_env_rate(steps: int = 20_000, unwrapped: bool = False, preset: str = "default") -> float:
    """The single env, through ``gymnasium.make`` with its default wrappers, or the bare env under them; in a
    hedged world the action asks for a hedge trade every step."""
    env = gym.make(envs.ENV_ID, world=preset)
    env = env.unwrapped if unwrapped else env
    env.reset(seed=0)
    action = np.zeros(len(env.unwrapped.world.action_names), dtype=np.float32)
    action[2:] = 0.5
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, _, _ = env.step(action)
        if terminated:
            env.reset()
    return steps / (time.perf_counter() - start)


def vector_rate(n: int, steps: int, preset: str = "default", close_starts: float = 0.0) -> float:
    world = make_world(preset)
    batch = MarketBatch(world, n, close_starts=close_starts)
    batch.reset(seed=0)
    action = np.zeros((n, len(world.action_names)), dtype=np.float32)
    if world.hedged:
        action[:, 2] = np.where(np.arange(n) % 2, 0.5, -0.5)  # a one-lot trade each step, alternating sides
    start = time.perf_counter()
    for _ in range(steps):
        batch.step(action)
    return n * steps / (time.perf_counter() - start)


def core_rate(n: int, steps: int, preset: str = "default") -> float:
    """``envs.core.step`` alone: quotes in price units, no action mapping, info or autoreset."""
    world = make_world(preset)
    market = world.market
    state = core.reset(market, market_keys(0, n), np.zeros(n, dtype=np.uint64))
    hedge = np.where(np.arange(n) % 2, 1, -1)[:, None] if world.hedged else None
    quotes = core.Action.quotes(np.full((n, 1), 0.7), np.full((n, 1), 0.7), hedge)
    start = time.perf_counter()
    for _ in range(steps):
        if state.step[0] >= world.n_steps:
            state = core.reset(market, state.key, state.episode + np.uint64(1))
        state, _ = core.step(market, state, quotes)
    return n * steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--single", action="store_true", help="the single env's lines only")
    parser.add_argument("--close-starts", action="store_true", help="the close starts' lines only")
    args = parser.parse_args()
    if args.close_starts:
        close_start_lines()
        return
    single_env_lines()
    if not args.single:
        batch_lines()
        close_start_lines()


def single_env_lines() -> None:
    for preset in ("default", "hedged"):
        wrapped = max(single_env_rate(preset=preset) for _ in range(3))
        bare = max(single_env_rate(unwrapped=True, preset=preset) for _ in range(3))
        print(f"single env, {preset:<7}: {wrapped:,.0f} env-steps/s via gymnasium.make, {bare:,.0f} unwrapped")


def batch_lines() -> None:
    """The core and ``MarketBatch`` in both worlds, then ``MarketBatch`` drawing ahead against step by step."""
    for n, steps in ((1, 20_000), (1_000, 2_000), (10_000, 1_000)):
        rates = {preset: [0.0, 0.0] for preset in ("default", "hedged")}
        for _ in range(3):  # interleaved repeats, so both see the same machine load
            for preset in ("default", "hedged"):
                rates[preset][0] = max(rates[preset][0], core_rate(n, steps, preset))
                rates[preset][1] = max(rates[preset][1], vector_rate(n, steps, preset))
        for preset, (alone, batch) in rates.items():
            print(
                f"{n:>6,} markets, {preset:<7}: core.step {alone:>12,.0f} env-steps/s; "
                f"MarketBatch (actions, info, autoreset) {batch:>12,.0f} env-steps/s"
            )
        core_ratio = rates["hedged"][0] / rates["default"][0]
        batch_ratio = rates["hedged"][1] / rates["default"][1]
        print(f"{n:>6,} markets, hedged / single-asset: core.step {core_ratio:.2f}, MarketBatch {batch_ratio:.2f}")
    default_ahead = envs.batch.DRAW_AHEAD_BYTES
    for n, steps in ((1, 20_000), (128, 2_000), (10_000, 300)):
        rates = {default_ahead: 0.0, 0: 0.0}
        for _ in range(3):
            for ahead in rates:
                envs.batch.DRAW_AHEAD_BYTES = ahead
                rates[ahead] = max(rates[ahead], vector_rate(n, steps))
        envs.batch.DRAW_AHEAD_BYTES = default_ahead
        print(
            f"{n:>6,} markets, MarketBatch drawing ahead {rates[default_ahead]:>12,.0f}, step by step "
            f"{rates[0]:>12,.0f} env-steps/s: {rates[default_ahead] / rates[0]:.2f}×"
        )


def close_start_lines() -> None:
    """``MarketBatch`` with close starts at a share of 0.2 against without, interleaved."""
    for n, steps in ((128, 4_000), (10_000, 300)):
        rates = {0.0: 0.0, 0.2: 0.0}
        for _ in range(3):
            for share in rates:
                rates[share] = max(rates[share], vector_rate(n, steps, close_starts=share))
        print(
            f"{n:>6,} markets, MarketBatch without close starts {rates[0.0]:>12,.0f}, with close_starts=0.2 "
            f"{rates[0.2]:>12,.0f} env-steps/s: {rates[0.2] / rates[0.0]:.2f}×"
        )


if __name__ == "__main__":
    main()
