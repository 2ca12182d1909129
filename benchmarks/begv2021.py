"""Bergault, Evangelista, Guéant & Vieira (2021) §6, reproduced from its setting (``begv2021`` preset): the exact
optimum and the closed form, both quoting per request size, over the paper's 4,000 Monte-Carlo paths on common
random numbers; the P&L marked to the mids (mean and standard deviation with 95 % intervals), Sharpe, the objective
and the optimum's exact value; the optimum's build time and memory on the paper's inventory grid (25 × 97); and
the step's convergence: each strategy's mean P&L at the preset's dt and at dt/2, which should differ by less than a
standard error of the mean P&L. Paths at two steps share no draws, so the change is measured on a control-variate
estimator of the mean P&L with the same expectation and a far smaller spread: each step's P&L less the positions'
diffusive revaluation and the fills' cash less its expectation given the quotes (both of mean zero given the past;
``envs.core.StepOutcome.diffusion_pnl`` and ``fill_noise``).

Run: ``.venv/bin/python benchmarks/begv2021.py [--paths N] [--seed S]`` (about 15 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from baselines.closed_form import ClosedForm
from baselines.joint_optimal import JointOptimal
from envs import core, market_keys
from envs.presets import make_market

_BOOTSTRAP = 2000


def interval(values: np.ndarray, statistic, rng: np.random.Generator) -> tuple[float, float]:
    """Percentile bootstrap 95 % interval of ``statistic`` over resampled paths."""
    draws = rng.integers(0, len(values), size=(_BOOTSTRAP, len(values)))
    samples = np.array([statistic(values[row]) for row in draws])
    return float(np.quantile(samples, 0.025)), float(np.quantile(samples, 0.975))


def simulate(market, policy, keys: np.ndarray) -> dict[str, np.ndarray]:
    """One session per key under ``policy`` (a dealing rule): per path the P&L marked to the mids [€], the objective
    (the environment's reward: P&L less the running penalty) [€] and the control-variate P&L (module docstring)."""
    state = core.reset(market, keys, np.zeros(len(keys), dtype=np.uint64))
    pnl, objective, controlled = (np.zeros(len(keys)) for _ in range(3))
    for index in range(market.n_steps):
        time_to_close = np.full(len(keys), market.horizon - index * market.dt)
        bid, ask, _ = policy(state.inventory.T, None, time_to_close, state.regime)
        state, outcome = core.step(market, state, core.policy_action(market, bid, ask))
        step_pnl = outcome.reward + outcome.penalty
        pnl += step_pnl
        objective += outcome.reward
        controlled += step_pnl - outcome.diffusion_pnl - outcome.fill_noise
    return {"pnl": pnl, "objective": objective, "controlled": controlled}


def build(market) -> tuple[JointOptimal, float, float]:
    tracemalloc.start()
    start = time.perf_counter()
    optimum = JointOptimal(market)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return optimum, seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paths", type=int, default=4000, help="Monte-Carlo paths per strategy (the paper's 4,000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    preset = make_market("begv2021")
    keys = market_keys(args.seed, args.paths)
    runs, builds = {}, []
    for market in (preset, preset.replace(dt=preset.dt / 2)):
        optimum, seconds, peak = build(market)
        builds.append((market, optimum, seconds, peak))
        for name, policy in (("optimal", optimum), ("closed_form", ClosedForm(market))):
            runs[name, market.dt] = simulate(market, policy, keys)
        if market is not preset:
            del optimum, builds[-1]  # the half step's table is only for the convergence check
            builds.append((market, None, seconds, peak))
    market, optimum = builds[0][0], builds[0][1]
    value = optimum.expected_reward()
    root = np.sqrt(args.paths)

    print(f"## BEGV 2021 §6: the two strategies over {args.paths:,} paths (dt = {market.dt} day)\n")
    print("P&L = X_T + q_T·S_T − X_0 − q_0·S_0 marked to the mids [€]; objective = P&L − (γ/2)·∫qᵀΣq dt [€]; Sharpe =")
    print(
        "mean/std of the P&L over the 7-day session. Intervals: 95 %, mean ±1.96 standard errors, std by bootstrap.\n"
    )
    print("| strategy | mean P&L [€] | std P&L [€] | Sharpe | objective [€] | exact value [€] |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in ("optimal", "closed_form"):
        run = runs[name, market.dt]
        pnl, objective = run["pnl"], run["objective"]
        low, high = interval(pnl, np.std, rng)
        exact = f"{value:,.0f}" if name == "optimal" else "—"
        print(
            f"| `{name}` | {pnl.mean():,.0f} ± {1.96 * pnl.std() / root:,.0f} | {pnl.std():,.0f} [{low:,.0f}, "
            f"{high:,.0f}] | {pnl.mean() / pnl.std():.3f} | {objective.mean():,.0f} ± {1.96 * objective.std() / root:,.0f}"
            f" | {exact} |"
        )
    gap = runs["optimal", market.dt]["objective"] - runs["closed_form", market.dt]["objective"]
    print(
        f"\nPaired, optimal − closed_form: objective {gap.mean():+,.0f} ± {1.96 * gap.std() / root:,.0f} €; "
        f"the optimum's Monte-Carlo objective minus its exact value: "
        f"{runs['optimal', market.dt]['objective'].mean() - value:+,.0f} ± "
        f"{1.96 * runs['optimal', market.dt]['objective'].std() / root:,.0f} €.\n"
    )

    print("## The step: halving dt\n")
    print("Mean P&L by the control-variate estimator (± its standard error); the change on halving dt, with its 95 %")
    print("interval, against the standard error of the plain mean P&L in the first table.\n")
    print(
        "| strategy | at dt [€] | at dt/2 [€] | change [€] | change's 95 % interval | SE of mean P&L [€] | within it? |"
    )
    print("|---|---:|---:|---:|---|---:|---|")
    half = preset.dt / 2
    for name in ("optimal", "closed_form"):
        coarse, fine = runs[name, preset.dt]["controlled"], runs[name, half]["controlled"]
        change = fine.mean() - coarse.mean()
        error = np.sqrt(coarse.var() / len(coarse) + fine.var() / len(fine))
        plain = runs[name, preset.dt]["pnl"].std() / root
        print(
            f"| `{name}` | {coarse.mean():,.0f} ± {coarse.std() / root:,.0f} | {fine.mean():,.0f} ± "
            f"{fine.std() / root:,.0f} | {change:+,.0f} | [{change - 1.96 * error:+,.0f}, {change + 1.96 * error:+,.0f}] "
            f"| {plain:,.0f} | {'yes' if abs(change) + 1.96 * error <= plain else 'no'} |"
        )
    print("\n## The exact optimum's build (25 × 97 inventories, 4 sizes per side)\n")
    print("| dt [day] | steps | seconds | peak memory [MiB] |")
    print("|---:|---:|---:|---:|")
    for market, _, seconds, peak in builds:
        print(f"| {market.dt} | {market.n_steps:,} | {seconds:.0f} | {peak:,.0f} |")


if __name__ == "__main__":
    main()
