"""Which hedging closed form should stay? ``riccati`` (the single-asset stack's: quotes and trades from the quadratic
value with trading costs, Barzykin, Bergault & Guéant 2023) against ``closed_form_hedged`` (the multi-asset
stack's: the closed form for the residual risk plus a full minimum-variance hedge every step, whatever it costs),
on the same hedged one-asset markets, in the one multi-asset core, on common random numbers, scored against the
exact optimum (``baselines.optimal``) and ``no_hedge``.

Run: ``.venv/bin/python benchmarks/hedging_closed_forms.py [--episodes 4000] [--presets hedged externalize]``.
"""

from __future__ import annotations

import argparse

import numpy as np

from baselines import make_policy
from baselines.closed_form import ClosedFormHedged
from envs import make_world, market_keys
from envs.rollout import rule_rollout
from envs.spaces import action_to_hedge, action_to_quotes, quotes_to_action

POLICIES = ("optimal", "riccati", "closed_form_hedged", "no_hedge", "symmetric")


def dealing_rule(world, policy):
    """A single-asset policy as a market's dealing rule (``envs.rollout.rule_rollout``): its quotes and hedge trade,
    through the env's float32 action mapping."""

    def rule(inventory, hedge_position, time_to_close, regime):
        bid, ask, trade = policy(inventory, hedge_position, time_to_close, regime)
        action = quotes_to_action(world, bid, ask, trade)
        bid, ask, bid_quoted, ask_quoted = action_to_quotes(world, action)
        bid, ask = np.where(bid_quoted, bid, np.inf), np.where(ask_quoted, ask, np.inf)
        hedge = action_to_hedge(world, action) if world.hedged else None
        return bid, ask, hedge

    return rule


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=4000)
    parser.add_argument("--presets", nargs="+", default=["hedged", "externalize"])
    args = parser.parse_args()
    keys = market_keys(0, args.episodes)
    print(f"{args.episodes} paired episodes per preset (common random numbers); score = (J − J_sym)/(J_opt − J_sym)")
    for preset in args.presets:
        world = make_world(preset)
        rules = {
            name: dealing_rule(world, make_policy(name, world)) for name in POLICIES if name != "closed_form_hedged"
        }
        rules["closed_form_hedged"] = ClosedFormHedged(world.market)
        rewards = {name: rule_rollout(world.market, rule, keys).reward for name, rule in rules.items()}
        symmetric, optimal = rewards["symmetric"].mean(), rewards["optimal"].mean()
        print(f"{preset}: {'policy':<20} {'reward':>8} {'± 95 %':>7} {'score':>6} {'vs riccati [95 % CI]':>24}")
        for name in POLICIES:
            reward = rewards[name]
            gap = reward - rewards["riccati"]
            half = 1.96 * gap.std(ddof=1) / np.sqrt(gap.size)
            score = (reward.mean() - symmetric) / (optimal - symmetric)
            print(
                f"{'':<{len(preset) + 1}} {name:<20} {reward.mean():8.3f} {1.96 * reward.std(ddof=1) / np.sqrt(reward.size):7.3f} "
                f"{score:6.3f} {gap.mean():+8.3f} [{gap.mean() - half:+.3f}, {gap.mean() + half:+.3f}]"
            )


if __name__ == "__main__":
    main()
