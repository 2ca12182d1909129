"""The dealer in numbers: the two-asset core's speed against the single-asset core's (env-steps per second,
measured in one run, interleaved), what the closed form and the exact optimum cost to build (seconds, peak
memory), the ladder in the ``two_assets``, ``dealer`` and ``two_assets_regimes`` presets on common random numbers, and in
``two_assets_hedged`` (one hedge-only index: no optimum, gaps to the closed form) with its core's speed.

Run: ``.venv/bin/python benchmarks/dealer.py [--markets N] [--episodes N]``.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
from env_speed import core_rate  # this folder's sibling script: the single-asset core timed the same way

from baselines.closed_form import ClosedForm
from baselines.joint_optimal import JointOptimal
from envs import market_keys
from envs.core import Action, reset, step
from envs.market import Asset, Market
from envs.presets import make_market, mean_variance_market
from eval.evaluate import build_baselines, evaluate_policies
from eval.evaluate import ladder as market_ladder

_STEPS = 200
_ROUNDS = 5


def market_core_rate(dealer: Market, n: int, steps: int) -> float:
    """``envs.core.step`` alone on a market of any size, as ``env_speed.core_rate`` times it on a single-asset
    world: quotes in price units."""
    state = reset(dealer, market_keys(0, n), 0)
    quote = np.full((n, dealer.n_assets), 0.7)
    trade = np.where(np.arange(n)[:, None] % 2, 1, -1) * np.ones((1, dealer.n_hedges), dtype=np.int64)
    start = time.perf_counter()
    for _ in range(steps):
        if state.step[0] >= dealer.n_steps:
            state = reset(dealer, state.key, state.episode + np.uint64(1))
        state, _ = step(dealer, state, Action.quotes(quote, quote, trade if dealer.n_hedges else None))
    return n * steps / (time.perf_counter() - start)


def speed(markets: int) -> None:
    """Best of ``_ROUNDS`` interleaved rounds for each core."""
    two = make_market("two_assets")
    one = mean_variance_market(assets=two.assets[:1], risk_aversion=two.risk_aversion, dt=two.dt)
    hedged = make_market("two_assets_hedged")
    best = {name: 0.0 for name in ("single-asset core", "one-asset dealer core", "two-asset dealer core")}
    best["two assets + a hedge"] = 0.0  # a one-lot hedge trade every step
    for _ in range(_ROUNDS):
        best["single-asset core"] = max(best["single-asset core"], core_rate(markets, _STEPS))
        best["one-asset dealer core"] = max(best["one-asset dealer core"], market_core_rate(one, markets, _STEPS))
        best["two-asset dealer core"] = max(best["two-asset dealer core"], market_core_rate(two, markets, _STEPS))
        best["two assets + a hedge"] = max(best["two assets + a hedge"], market_core_rate(hedged, markets, _STEPS))
    reference = best["single-asset core"]
    for name, rate in best.items():
        print(
            f"{name:<22} {rate / 1e6:6.2f} M env-steps/s at {markets:,} markets  ({rate / reference:.2f}× single-asset)"
        )


def build_costs() -> None:
    for label, dealer in (
        ("two_assets", make_market("two_assets")),
        ("dealer", make_market("dealer")),
        (
            "5 assets",
            mean_variance_market(0.5, assets=(Asset(),) * 5, correlation=np.full((5, 5), 0.4) + 0.6 * np.eye(5)),
        ),
    ):
        start = time.perf_counter()
        for _ in range(100):
            ClosedForm(dealer)
        closed = (time.perf_counter() - start) / 100
        line = f"{label}: closed form built in {closed * 1e3:.2f} ms"
        if dealer.n_assets == 2:
            start = time.perf_counter()
            JointOptimal(dealer)
            seconds = time.perf_counter() - start
            tracemalloc.start()
            optimal = JointOptimal(dealer)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            line += (
                f"; optimal over {optimal.value[:-1].size:,} (step, regime, q1, q2) states in {seconds:.2f} s, "
                f"peak {peak / 2**20:.0f} MiB"
            )
        print(line)


def evaluated(preset: str, episodes: int) -> tuple[dict, dict]:
    """The preset's ladder (``eval.evaluate.ladder``) on paired episodes from seed 0: metrics and policies by name."""
    market = make_market(preset)
    policies, _ = build_baselines(market, market_ladder(market), warn=False)
    results = evaluate_policies(market, policies, episodes, 0, warn=False)
    return {name: result.metrics for name, result in results.items()}, policies


def ladder(episodes: int) -> None:
    for preset in ("two_assets", "dealer", "two_assets_regimes"):
        metrics, policies = evaluated(preset, episodes)
        print(f"{preset}: {episodes} paired episodes")
        print(f"  {'policy':<18} {'reward':>8} {'± 95 %':>7} {'score':>6} {'net risk':>8}")
        for name, entry in metrics.items():
            print(
                f"  {name:<18} {entry['reward_mean']:8.3f} {entry['reward_ci95'][1] - entry['reward_mean']:7.3f} "
                f"{entry['optimality_score']:6.3f} {entry['net_risk_mean']:8.3f}"
            )
        print(f"  optimal's exact expected reward {policies['optimal'][1].expected_reward():.3f}")
    metrics, _ = evaluated("two_assets_hedged", episodes)
    print(f"two_assets_hedged: {episodes} paired episodes (no optimum with hedges: policy − closed_form per episode)")
    print(f"  {'policy':<18} {'reward':>8} {'gap':>7} {'95 % CI':>17} {'hedge cost':>10} {'net risk':>8}")
    for name, entry in metrics.items():
        gap = entry.get("vs_closed_form", {"mean": 0.0, "ci95": [0.0, 0.0]})  # closed_form itself
        print(
            f"  {name:<18} {entry['reward_mean']:8.3f} {gap['mean']:7.3f} "
            f"[{gap['ci95'][0]:7.3f}, {gap['ci95'][1]:7.3f}] {entry['hedge_cost']:10.3f} {entry['net_risk_mean']:8.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--markets", type=int, default=10_000)
    parser.add_argument("--episodes", type=int, default=4000)
    args = parser.parse_args()
    speed(args.markets)
    build_costs()
    ladder(args.episodes)


if __name__ == "__main__":
    main()
