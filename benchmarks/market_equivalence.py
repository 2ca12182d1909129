"""Does the multi-asset core (``envs.dealer_core``) simulate a single-asset world as the single-asset core does?

For every single-asset preset, the world's one-asset ``Market`` (``World.market``) in the multi-asset core and the
world in its own core (``envs.rollout``), each on its own independent episodes, under the same policies (``symmetric``
and ``optimal``, their quotes passed through the env's float32 action mapping in both): the mean reward, fills and
P&L per session with 95 % intervals, and the difference's z-score (multi − single over its standard error). The
step toward one core for every market (issue "One market") needs |z| small everywhere.

Run: ``.venv/bin/python benchmarks/market_equivalence.py [--episodes 4000] [--presets default toxic ...]``.
"""

from __future__ import annotations

import argparse

import numpy as np

from baselines import make_policy
from envs import dealer_core, list_presets, make_world, market_keys
from envs.rollout import rollout
from envs.spaces import action_to_hedge, action_to_quotes, quotes_to_action

POLICIES = ("symmetric", "optimal")


def dealing_rule(world, policy):
    """A single-asset policy as the multi-asset core's rule: its quotes and hedge trade, through the env's action."""

    def rule(inventory, hedge_position, time_to_close, regime):
        decoded = {
            "inventory": inventory[:, 0],
            "hedge_position": hedge_position[:, 0] if world.hedged else np.zeros(len(inventory), dtype=np.int64),
            "time_to_close": time_to_close,
            "volatility": world.sigma_levels[regime],
        }
        bid, ask, trade = policy.act(decoded)
        action = quotes_to_action(world, bid, ask, trade)
        bid, ask, bid_quoted, ask_quoted = action_to_quotes(world, action)
        bid, ask = np.where(bid_quoted, bid, np.inf), np.where(ask_quoted, ask, np.inf)
        hedge = action_to_hedge(world, action)[:, None] if world.hedged else None
        return bid[:, None], ask[:, None], hedge

    return rule


def compare(world, name: str, episodes: int) -> list[tuple[str, float, float, float, float, float]]:
    policy = make_policy(name, world)
    single = rollout(world, lambda o: policy.predict(o, deterministic=True)[0], episodes, seed=0)
    multi = dealer_core.rollout(world.market, dealing_rule(world, policy), market_keys(10**6, episodes))
    rows = []
    for label, a, b in (
        ("reward", single.reward, multi.reward),
        ("fills", single.bid_fills + single.ask_fills, multi.fills[:, 0]),
        ("pnl", single.pnl, multi.pnl),
    ):
        error = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
        z = (b.mean() - a.mean()) / error if error > 0 else 0.0
        half_a, half_b = 1.96 * a.std(ddof=1) / np.sqrt(a.size), 1.96 * b.std(ddof=1) / np.sqrt(b.size)
        rows.append((label, a.mean(), half_a, b.mean(), half_b, z))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=4000)
    parser.add_argument("--presets", nargs="+", default=list_presets())
    args = parser.parse_args()
    print(f"{args.episodes} episodes per core and policy; z = (multi − single) / its standard error")
    print(f"{'preset':<15} {'policy':<10} {'metric':<7} {'single-asset core':>22} {'multi-asset core':>22} {'z':>6}")
    worst = 0.0
    for preset in args.presets:
        world = make_world(preset)
        for name in POLICIES:
            for label, a, half_a, b, half_b, z in compare(world, name, args.episodes):
                worst = max(worst, abs(z))
                print(
                    f"{preset:<15} {name:<10} {label:<7} {a:12.3f} ± {half_a:7.3f} {b:12.3f} ± {half_b:7.3f} {z:6.2f}"
                )
    print(f"largest |z|: {worst:.2f} over {len(args.presets) * len(POLICIES) * 3} comparisons")


if __name__ == "__main__":
    main()
