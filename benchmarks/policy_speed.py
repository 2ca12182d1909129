"""Baselines: build time of each policy for the default world and its per-step ``predict`` cost.

Run: ``.venv/bin/python benchmarks/policy_speed.py``.
"""

from __future__ import annotations

import time

from baselines import list_policies, make_policy
from envs import MarketBatch, make_world


def main() -> None:
    world = make_world("default")
    batch = MarketBatch(world, 10_000)
    observation = batch.reset(seed=0)
    for name in list_policies():
        start = time.perf_counter()
        policy = make_policy(name, world)
        build = time.perf_counter() - start
        calls = 200
        start = time.perf_counter()
        for _ in range(calls):
            policy.predict(observation)
        per_call = (time.perf_counter() - start) / calls
        print(
            f"{name:<20} build {build * 1e3:8.1f} ms   predict on 10,000 observations {per_call * 1e6:8.0f} µs "
            f"({per_call / observation.shape[0] * 1e9:5.0f} ns per market)"
        )


if __name__ == "__main__":
    main()
