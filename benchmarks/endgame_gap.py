"""How much of a learned policy's gap to the optimum is the close: the run's policy scored as trained, and again
with the exact optimum's quotes substituted in the last K steps of each session (K = 1, 2, 5, 10, 20 by default),
on the same paired episodes of the run's own recorded world; then both policies' quotes at inventories −1, 0 and
+1 over the last steps and further from the close.

A score that jumps to near 1 within a few steps says the policy quotes well through the session and loses its
gap at the close, where the optimum flattens the book (crossing quotes, the far side pulled); a score that
barely moves says the gap is spread over the session.

Run: ``.venv/bin/python benchmarks/endgame_gap.py RUN_DIR [--steps 1 2 5] [--episodes 2000] [--quote-steps 1 100
300]`` (RUN_DIR a training run folder, e.g. ``sweeps/recipe_robustness/runs/w5-seed0`` after ``make
bench-robustness``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from baselines import make_policy
from envs import World, action_to_quotes, decode_observation, observation_at
from eval.evaluate import evaluate_policies
from eval.learned import load_learned
from eval.run_folder import load_world
from eval.specs import PolicySpec


class OptimalAtTheClose:
    """``policy``'s quotes, except in the last ``steps`` steps of a session, where ``optimal`` quotes."""

    def __init__(self, world: World, policy, optimal, steps: int) -> None:
        self.world, self.policy, self.optimal, self.steps = world, policy, optimal, steps

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        observation = np.atleast_2d(observation)
        own, _ = self.policy.predict(observation)
        best, _ = self.optimal.predict(observation)
        steps_left = np.rint(decode_observation(self.world, observation)["time_to_close"] / self.world.dt)
        return np.where((steps_left <= self.steps)[:, None], best, own), state


def quote_table(world: World, policies: dict, steps_left: tuple[int, ...] = (1, 2, 3, 5, 20, 100)) -> list[str]:
    """Each policy's bid/ask offsets [price] ("pull" for a pulled side) at inventories −1, 0, +1 by steps left."""
    lines = []
    for left in steps_left:
        if left > world.n_steps:
            continue
        cells = []
        for inventory in (-1, 0, 1):
            observation = observation_at(world, np.array([[inventory]]), np.array([left]))
            quotes = []
            for policy in policies.values():
                bid, ask, bid_quoted, ask_quoted = action_to_quotes(world, policy.predict(observation)[0])
                sides = (
                    f"{offset[0, 0]:+.2f}" if quoted[0, 0] else "pull"
                    for offset, quoted in ((bid, bid_quoted), (ask, ask_quoted))
                )
                quotes.append("/".join(sides))
            cells.append(f"q {inventory:+d}: " + "  ".join(quotes))
        lines.append(f"  {left:>4} left | " + " | ".join(cells))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--steps", type=int, nargs="+", default=[1, 2, 5, 10, 20])
    parser.add_argument("--episodes", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--quote-steps", type=int, nargs="+", default=[1, 2, 3, 5, 20, 100], help="steps left of the quote table"
    )
    args = parser.parse_args()
    world = load_world(args.run_dir / "world.json")
    if not isinstance(world, World):
        parser.error("the run's world is a dealer; this benchmark scores single-asset worlds")
    learned = load_learned(args.run_dir, world)
    optimal = make_policy("optimal", world)
    policies = {name: make_policy(name, world) for name in ("symmetric",)}
    policies.update(optimal=optimal, learned=learned)
    for steps in args.steps:
        policies[f"optimal_last_{steps}"] = OptimalAtTheClose(world, learned, optimal, steps)
    results = evaluate_policies(
        world, {name: (PolicySpec(name, name, {}), p) for name, p in policies.items()}, args.episodes, args.seed
    )
    print(f"{args.run_dir}: optimality score over {args.episodes:,} paired episodes (seed {args.seed})")
    for name, result in results.items():
        if name in ("symmetric", "optimal"):
            continue
        score = result.metrics.get("optimality_score", float("nan"))
        label = "learned, as trained" if name == "learned" else f"learned, optimum in the last {name.split('_')[-1]}"
        print(f"  {label:<36} {score:.3f}")
    print("bid/ask offsets [price], learned then optimal, by steps left to the close:")
    print("\n".join(quote_table(world, {"learned": learned, "optimal": optimal}, tuple(args.quote_steps))))


if __name__ == "__main__":
    main()
