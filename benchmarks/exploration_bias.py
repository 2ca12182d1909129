"""How much of a learned policy's gap to the optimum is its exploration noise: PPO maximizes the return averaged
over the noise, and with fills at rate A·e^(−kδ), noise of std s [price] on an offset moves that average's best
quote out by k·s² (``train.exploration.noise_widening``). For each run folder: the policy's final std on the quote legs (in
action units and as s·k), the spread it quotes against the optimum's, and its optimality score as trained and
with every quoted offset moved in by k·s², on the same paired episodes of the run's own recorded world.

A score that rises when the offsets move in says the evaluated (deterministic) policy is the optimum of the
noisy objective rather than of the deterministic one; ``algorithm.final_quote_std`` bounds that bias in training.

Run: ``.venv/bin/python benchmarks/exploration_bias.py RUN_DIR [RUN_DIR ...] [--episodes 1000]`` (training run
folders, e.g. ``sweeps/recipe_robustness/runs/w4-seed0`` after ``make bench-robustness``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from baselines import make_policy
from envs import World, action_to_quotes, quotes_to_action
from eval.evaluate import evaluate_policies
from eval.learned import load_learned
from eval.run_folder import load_world
from eval.specs import PolicySpec
from train.exploration import noise_widening, quote_legs, quote_noise


class OffsetsMovedIn:
    """``policy``'s quotes with each quoted offset moved toward the mid by ``shift`` ``(bid, ask)`` [price]."""

    def __init__(self, world: World, policy, shift: np.ndarray) -> None:
        self.world, self.policy, self.shift = world, policy, shift

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        action, _ = self.policy.predict(observation)
        bid, ask, bid_quoted, ask_quoted = action_to_quotes(self.world, action)
        bid = np.where(bid_quoted, bid - self.shift[0], np.inf)
        ask = np.where(ask_quoted, ask - self.shift[1], np.inf)
        return quotes_to_action(self.world, bid, ask), state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dirs", type=Path, nargs="+")
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(f"optimality score over {args.episodes:,} paired episodes (seed {args.seed}) of each run's recorded world")
    print("run | action std (bid, ask) | s·k | (s·k)² of 1/k | spread learned / optimal | as trained | moved in")
    for run_dir in args.run_dirs:
        world = load_world(run_dir / "world.json")
        if not isinstance(world, World):
            parser.error(
                f"{run_dir}: the run's world is a multi-asset market; this benchmark scores single-asset worlds"
            )
        learned = load_learned(run_dir, world)
        action_std = np.exp(learned.model.policy.log_std.detach().numpy()[: quote_legs(world)])
        quote_std = quote_noise(world, action_std)
        noise = quote_std * world.fill_decay
        policies = {
            "symmetric": make_policy("symmetric", world),
            "optimal": make_policy("optimal", world),
            "learned": learned,
            "moved_in": OffsetsMovedIn(world, learned, noise_widening(world.fill_decay, quote_std)),
        }
        results = evaluate_policies(
            world, {name: (PolicySpec(name, name, {}), p) for name, p in policies.items()}, args.episodes, args.seed
        )
        spread = results["learned"].metrics["spread_mean"] / results["optimal"].metrics["spread_mean"]
        scores = [results[name].metrics.get("optimality_score", float("nan")) for name in ("learned", "moved_in")]
        print(
            f"{run_dir} | {action_std[0]:.3f}, {action_std[1]:.3f} | {noise.mean():.3f} | {np.mean(noise**2):.1%} | "
            f"{spread:.3f} | {scores[0]:.3f} | {scores[1]:.3f}"
        )


if __name__ == "__main__":
    main()
