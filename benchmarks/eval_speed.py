"""Evaluation throughput: 10 000 episodes of the default world for five baselines, common random numbers.

Run: ``.venv/bin/python benchmarks/eval_speed.py``.
"""

from __future__ import annotations

import time

from baselines import make_policy
from envs import make_world
from eval.evaluate import evaluate_policies
from eval.specs import parse_spec

EPISODES = 10_000
SPECS = ("symmetric", "linear_skew", "avellaneda_stoikov", "glft", "optimal")


def main() -> None:
    world = make_world("default")
    start = time.perf_counter()
    policies = {text: (parse_spec(text), make_policy(text, world)) for text in SPECS}
    results = evaluate_policies(world, policies, EPISODES, seed=0)
    seconds = time.perf_counter() - start
    episodes = EPISODES * len(SPECS)
    print(
        f"{EPISODES:,} episodes × {len(SPECS)} baselines of the default world ({world.n_steps} steps each), "
        f"with the optimality-score anchors and bootstrap CIs: {seconds:.1f} s, {episodes / seconds:,.0f} episodes/s"
    )
    for text, result in results.items():
        print(
            f"  {text:<20} reward {result.metrics['reward_mean']:8.3f}  score {result.metrics['optimality_score']:.3f}"
        )


if __name__ == "__main__":
    main()
