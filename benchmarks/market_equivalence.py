"""Does this checkout simulate every preset as an earlier revision did? Mean reward, fills and P&L per session.

For every preset, one-asset and multi-asset, under ``symmetric`` and the exact optimum (``optimal``; the closed form
in ``two_assets_hedged``, which has no optimum), each tree (this checkout, and the revision exported with ``git
archive``) runs the same episodes (the same keys) in its own process: the single-asset presets through
``envs.rollout.rollout``, the multi-asset ones through the dealing-rule rollout (``envs.rollout.rule_rollout``,
``envs.dealer_core.rollout`` in earlier trees). Printed: each tree's mean with
its 95 % interval and the difference's z-score (checkout − revision over the standard error of two independent
samples, which is conservative where the draws are shared). The one core (issue "One market") must keep |z| small
everywhere; where a tree's random-stream layout changed, the draws differ and agreement is in distribution.

Run: ``.venv/bin/python benchmarks/market_equivalence.py [REVISION] [--episodes 4000]`` (default: 02aed36, the
last commit before the one core).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from revision import ROOT, exported, head  # this folder's sibling module

# Runs inside each tree: every (preset, policy, metric)'s per-episode values, summarized as mean, std and count.
MEASURE = """
import json, sys
import numpy as np
from baselines import make_policy
try:
    from baselines.dealer import DEALER_POLICIES
    market_policy = lambda name, market: DEALER_POLICIES[name](market)
except ImportError:  # a tree with one registry for every market
    market_policy = make_policy
try:
    from baselines.joint_optimal import JointOptimal as DealerOptimal
except ImportError:  # a tree before the one vocabulary
    from baselines.dealer_optimal import DealerOptimal
from envs import list_presets, make_world, market_keys
from envs.presets import make_market
try:
    from envs.presets import MARKET_PRESETS
except ImportError:  # a tree before the flow markets
    from envs.presets import MULTI_ASSET_PRESETS as MARKET_PRESETS
from envs.rollout import rollout
try:
    from envs.rollout import rule_rollout
except ImportError:  # a tree before the one runner
    from envs.dealer_core import rollout as rule_rollout

episodes = int(sys.argv[1])
out = {}
def record(preset, policy, metric, values):
    values = np.asarray(values, dtype=np.float64)
    out[f"{preset}/{policy}/{metric}"] = [values.mean(), values.std(ddof=1), values.size]
for preset in list_presets():
    world = make_world(preset)
    for name in ("symmetric", "optimal"):
        policy = make_policy(name, world)
        result = rollout(world, lambda o: policy.predict(o, deterministic=True)[0], episodes, seed=0)
        record(preset, name, "reward", result.reward)
        record(preset, name, "fills", result.bid_fills + result.ask_fills)
        record(preset, name, "pnl", result.pnl)
for preset in MARKET_PRESETS:
    market = make_market(preset)
    if getattr(market, "flow", None) is not None and market.flow.count > 1:
        continue  # informed flow: no earlier tree has it
    for name in ("symmetric", "optimal"):
        if name == "optimal":
            policy, name = (DealerOptimal(market), name) if not market.hedges else (market_policy("closed_form", market), "closed_form")
        else:
            policy = market_policy(name, market)
        rule = policy.act if policy.act.__code__.co_argcount > 2 else policy  # act(state): the one protocol
        result = rule_rollout(market, rule, market_keys(0, episodes))
        record(preset, name, "reward", result.reward)
        fills = result.fills if hasattr(result, "fills") else result.bid_fills + result.ask_fills  # the one rollout
        record(preset, name, "fills", fills.sum(axis=1))
        record(preset, name, "pnl", result.pnl)
print(json.dumps(out))
"""


def measure(tree: Path, episodes: int) -> dict[str, list[float]]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(episodes)], cwd=tree, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("revision", nargs="?", default="02aed36")
    parser.add_argument("--episodes", type=int, default=4000)
    args = parser.parse_args()
    with exported(args.revision) as tree:
        before, now = measure(tree, args.episodes), measure(ROOT, args.episodes)
    commit = head()
    print(f"{args.episodes} episodes per tree, the same keys; checkout at {commit} against {args.revision}")
    print(f"{'preset/policy/metric':<38} {args.revision:>22} {'this checkout':>22} {'z':>6}")
    worst = 0.0
    for label, (mean_a, std_a, n_a) in before.items():
        mean_b, std_b, n_b = now[label]
        error = np.sqrt(std_a**2 / n_a + std_b**2 / n_b)
        z = (mean_b - mean_a) / error if error > 0 else 0.0
        worst = max(worst, abs(z))
        half_a, half_b = 1.96 * std_a / np.sqrt(n_a), 1.96 * std_b / np.sqrt(n_b)
        print(f"{label:<38} {mean_a:12.3f} ± {half_a:7.3f} {mean_b:12.3f} ± {half_b:7.3f} {z:6.2f}")
    print(f"largest |z|: {worst:.2f} over {len(before)} comparisons")


if __name__ == "__main__":
    main()
