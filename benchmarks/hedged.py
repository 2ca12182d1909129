"""Rung 3 in numbers: what the exact optimum with a hedge leg costs to build (seconds, peak memory), and the
ladder of hedgers in the ``hedged`` and ``externalize`` presets (reward, optimality score, realized hedge
ratio, hedge volume), every policy on the same episodes.

Run: ``.venv/bin/python benchmarks/hedged.py [--episodes N]``.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from baselines import make_policy
from envs import make_world
from envs.rollout import rollout
from eval.metrics import bootstrap_indices, optimality_score, rollout_metrics

LADDER = ("symmetric", "no_hedge", "full_hedge", "band_hedge", "closed_form", "optimal")


def build_cost(preset: str) -> tuple[float, float, int]:
    """Seconds (best of three) and peak traced memory [MiB] to build ``optimal`` for a preset, and the states
    it tabulates."""
    world = make_world(preset)
    seconds = []
    for _ in range(3):
        start = time.perf_counter()
        make_policy("optimal", world)
        seconds.append(time.perf_counter() - start)
    tracemalloc.start()
    policy = make_policy("optimal", world)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return min(seconds), peak / 2**20, policy.value[:-1].size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=4000)
    episodes = parser.parse_args().episodes
    for preset in ("hedged", "externalize"):
        world = make_world(preset)
        seconds, mebibytes, states = build_cost(preset)
        print(
            f"{preset}: optimal over {states:,} (step, regime, q1, q2) states built in {seconds:.2f} s, "
            f"peak {mebibytes:.0f} MiB"
        )
        rewards = {}
        for name in LADDER:
            policy = make_policy(name, world)
            result = rollout(world, lambda o, p=policy: p.predict(o)[0], episodes, 0)
            rewards[name] = (result.reward, rollout_metrics(result, world, 0.1))
        symmetric, optimal = rewards["symmetric"][0], rewards["optimal"][0]
        indices = bootstrap_indices(episodes, 0)
        print(
            f"  {'policy':<11} {'reward':>8} {'± s.e.':>6} {'score':>6} {'hedge ratio':>11} {'hedge lots/episode':>18}"
        )
        for name, (reward, hedge) in rewards.items():
            score = optimality_score(reward, symmetric, optimal, indices)["score"]
            print(
                f"  {name:<11} {reward.mean():8.3f} {reward.std(ddof=1) / np.sqrt(episodes):6.3f} {score:6.3f} "
                f"{hedge['hedge_ratio']:11.3f} {hedge['hedge_volume']:18.1f}"
            )
        print(f"  minimum-variance hedge ratio −ρσ₁/σ₂ = {world.hedge_ratio:.3f}")


if __name__ == "__main__":
    main()
