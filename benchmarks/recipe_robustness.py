"""The default recipe on worlds nobody tuned for: sample worlds from documented ranges (fixed seed), train
each with 3 seeds through the seeds-and-sweeps runner (Ray), and report per world its parameters, the
optimality score (mean, worst seed, 95 % CI), the gaps to A–S and to the calibrated linear skew, and the
wall time, plus the share of worlds at ≥ 0.95.

Ranges (each world draws every continuous value log-uniformly; the categorical ones rotate so that 8
worlds cover them all):

- σ in [0.01, 2] price/√time; A in [1, 200] per time; k in [0.3, 100] per price;
- Q in [3, 100] lots (every other world far above the inventory the optimum visits);
- 100 to 1,000 steps a session; the session long enough for 50 to 400 arrivals per side (T = fills / A);
- fill rule and mid process alternate; opening inventory alternates between 0 and a random range;
- running penalty φ set through the optimal skew per lot it implies, c·k = √(φk/λ) in [0.02, 1]
  (small to large), terminal penalty α = φ·T·m with m in [0.1, 10] (none in a quarter of the worlds);
- worlds 2 and 6 have an adverse jump ξ, 3 and 7 a fee, 4 and 8 two volatility regimes.

Worlds where the score is undefined (symmetric quoting optimal) are skipped and listed.

Run: ``.venv/bin/python benchmarks/recipe_robustness.py`` (about an hour on 2 cores), or ``--quick``
(3 worlds, 1 seed, 1M steps). Results: printed, and ``benchmarks/results/recipe_robustness[-quick].md``.
``--set KEY=VALUE`` (repeatable) measures a change to the recipe on every run (e.g.
``--set env.close_starts=0.2``), ``--only w3 w5`` trains only those worlds; with either, the table goes to
``<dir>/robustness.md`` instead, so that the shipped recipe's whole suite stays.
"""

from __future__ import annotations

import argparse
import json
import math
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from baselines import make_policy
from envs import make_world
from eval.evaluate import evaluate_policies
from eval.specs import PolicySpec, parse_set
from train.sweep import launcher
from train.sweep.aggregate import summarize_sweep
from train.sweep.cli import record
from train.sweep.runs import stored_result
from train.sweep.spec import Run, spec_from_dict

ROOT = Path(__file__).resolve().parents[1]
SEED = 2026


def log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def sample_worlds(count: int, seed: int = SEED) -> dict[str, dict[str, Any]]:
    """World overrides of the default preset, from the documented ranges."""
    rng = np.random.default_rng(seed)
    worlds = {}
    for index in range(count):
        k = log_uniform(rng, 0.3, 100.0)
        arrival = log_uniform(rng, 1.0, 200.0)
        sigma = log_uniform(rng, 0.01, 2.0)
        steps = int(rng.integers(100, 1001))
        horizon = float(np.round(log_uniform(rng, 50.0, 400.0) / arrival, 4))
        fill_rate = arrival * math.exp(-1.0)
        skew_times_k = log_uniform(rng, 0.02, 1.0)
        running = skew_times_k**2 * fill_rate / k
        terminal = 0.0 if index % 4 == 3 else running * horizon * log_uniform(rng, 0.1, 10.0)
        natural = math.sqrt(1.0 / (2.0 * k * skew_times_k / k))  # the inventory's natural spread [lots]
        limit = int(np.clip(round(3 * natural) if index % 2 == 0 else log_uniform(rng, 30.0, 100.0), 3, 100))
        world = {
            "sigma": round(sigma, 4),
            "arrival_intensity": round(arrival, 3),
            "fill_decay": round(k, 4),
            "max_inventory": limit,
            "horizon": horizon,
            "dt": horizon / steps,
            "fill_rule": "as2008" if index % 2 else "poisson",
            "mid_process": "binomial" if index % 4 in (1, 2) else "gaussian",
            "initial_inventory": [-(limit // 3), limit // 3] if index % 2 else 0,
            "running_penalty": float(f"{running:.4g}"),
            "terminal_penalty": float(f"{terminal:.4g}"),
        }
        if index % 4 == 1:
            world["adverse_jump"] = round(0.2 / k, 5)
        if index % 4 == 2:
            world["fee"] = round(0.1 / k, 5)
        if index % 4 == 3:
            world.update(
                regime_scales=[0.5, 2.0],
                regime_switch_rates=[[-2.0 / horizon, 2.0 / horizon], [4.0 / horizon, -4.0 / horizon]],
                volatility_scaled_penalty=True,
                running_penalty=float(f"{running / 4:.4g}"),
            )
        worlds[f"w{index + 1}"] = world
    return worlds


def score_defined(overrides: dict[str, Any]) -> bool:
    """Whether the optimality score is defined: the optimum beats symmetric quoting by more than rounding."""
    world = make_world("default", **overrides)
    policies = {name: (PolicySpec(name, name, {}), make_policy(name, world)) for name in ("symmetric", "optimal")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = evaluate_policies(world, policies, 200, 0)
    return np.isfinite(results["optimal"].metrics.get("optimality_score", float("nan")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 worlds, 1 seed, 1M steps")
    parser.add_argument("--worlds", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=4_000_000)
    parser.add_argument("--dir", type=Path, default=ROOT / "sweeps" / "recipe_robustness")
    parser.add_argument("--address", help="Ray cluster address (default: a private Ray on this machine)")
    parser.add_argument("--only", nargs="+", metavar="WORLD", help="train only these of the sampled worlds (w1 …)")
    parser.add_argument(
        "--set", dest="sets", action="append", default=[], metavar="KEY=VALUE", help="a config change for every run"
    )
    parser.add_argument("--list", action="store_true", help="print each world's time unit and features; train nothing")
    args = parser.parse_args()
    try:
        recipe = parse_set(args.sets)
    except ValueError as error:
        parser.error(str(error))
    if args.quick:
        args.worlds, args.seeds, args.steps = 3, 1, 1_000_000
        args.dir = args.dir.with_name(args.dir.name + "-quick")
    worlds = sample_worlds(args.worlds)
    if args.only:
        unknown = sorted(set(args.only) - set(worlds))
        if unknown:
            parser.error(f"--only: {unknown[0]} is not a sampled world; accepted: {list(worlds)}")
        worlds = {name: overrides for name, overrides in worlds.items() if name in args.only}
    if args.list:
        for name, overrides in worlds.items():
            world = make_world("default", **overrides)
            unit = "the session" if world.time_unit == world.horizon else f"{world.time_unit / world.dt:.0f} steps"
            print(f"{name}: {world.n_steps} steps, time unit {unit}, features {list(world.observed_features)}")
        return
    skipped = [name for name, overrides in worlds.items() if not score_defined(overrides)]
    kept = {name: overrides for name, overrides in worlds.items() if name not in skipped}
    sweep_dir = args.dir.absolute()
    seeds = list(range(args.seeds))
    try:
        spec = spec_from_dict(
            {
                "name": sweep_dir.name,
                "base": str(ROOT / "configs" / "default.yaml"),
                "seeds": seeds,
                "overrides": {**recipe, "total_timesteps": args.steps, "experiment": "robustness"},
            },
            ROOT,
            json.dumps({"worlds": kept, "seeds": seeds, "steps": args.steps, "recipe": recipe}, sort_keys=True),
        )
    except ValueError as error:
        parser.error(f"--set: {error}")
    runs = []
    for name, overrides in kept.items():
        assignments = {**spec.overrides, **{f"world.overrides.{k}": v for k, v in overrides.items()}}
        for seed in seeds:
            run_dir = sweep_dir / "runs" / f"{name}-seed{seed}"
            runs.append(Run(name, seed, assignments, str(spec.base), str(run_dir)))
    record(spec, sweep_dir, runs)
    launcher.require_ray()
    print(launcher.connect(args.address, None), flush=True)
    started = time.perf_counter()
    launcher.launch_runs(spec, sweep_dir, runs)
    wall = time.perf_counter() - started
    import ray

    ray.shutdown()
    table = report(sweep_dir, kept, skipped, runs, wall, args, recipe)
    print(table)
    shipped = ROOT / "benchmarks" / "results" / f"recipe_robustness{'-quick' if args.quick else ''}.md"
    out = sweep_dir / "robustness.md" if recipe or args.only else shipped
    out.parent.mkdir(exist_ok=True)
    out.write_text(table + "\n")
    print(f"written: {out}")


def report(
    sweep_dir: Path, worlds: dict, skipped: list[str], runs: list[Run], wall: float, args, recipe: dict[str, Any]
) -> str:
    from train.sweep.aggregate import collect

    summary = summarize_sweep(collect(sweep_dir))
    changes = [f"{key}={value}" for key, value in recipe.items()]
    command = "python benchmarks/recipe_robustness.py" + " --quick" * args.quick
    command += f" --only {' '.join(args.only)}" if args.only else ""
    command += "".join(f" --set {change}" for change in changes)
    lines = [
        f"Recipe robustness: {len(worlds)} world{'s' * (len(worlds) != 1)} × {args.seeds} seeds × "
        f"{args.steps:,} env steps, default config {'with ' + ', '.join(changes) if changes else 'unchanged'} "
        f"(`{command}`); {wall / 60:.0f} min wall on this machine.",
        "",
        "| world | σ | A | k | Q | steps | T | rule | mid | q₀ | φ | α | extra | score mean | worst seed | 95 % CI | "
        "gap to A–S | gap to linear_skew_calibrated | wall per run |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|---|---:|---:|---|---:|---:|---|---:|---:|---:|",
    ]
    at_target = 0
    for name, overrides in worlds.items():
        entry = summary["configurations"].get(name)
        results = [stored_result(Path(r.run_dir)) for r in runs if r.config_id == name and entry]
        scores = [r["metrics"]["optimality_score"] for r in results if r["metrics"].get("optimality_score") is not None]
        if not scores:
            lines.append(f"| {name} | (not finished) |")
            continue
        at_target += float(np.mean(scores)) >= 0.95
        baselines = results[0]["baselines"]
        extra = ", ".join(f"{key}={overrides[key]}" for key in ("adverse_jump", "fee") if key in overrides) + (
            "regimes ×0.5/×2" if "regime_scales" in overrides else ""
        )
        low, high = entry["mean_ci95"]
        wall_run = np.mean([r["timing"]["wall_seconds"] for r in results])
        steps = round(overrides["horizon"] / overrides["dt"])
        lines.append(
            f"| {name} | {overrides['sigma']:.3g} | {overrides['arrival_intensity']:.3g} | "
            f"{overrides['fill_decay']:.3g} | {overrides['max_inventory']} | {steps} | {overrides['horizon']:.3g} | "
            f"{overrides['fill_rule']} | {overrides['mid_process']} | {overrides['initial_inventory']} | "
            f"{overrides['running_penalty']:.3g} | {overrides['terminal_penalty']:.3g} | {extra or '—'} | "
            f"{np.mean(scores):.3f} | {min(scores):.3f} | [{low:.3f}, {high:.3f}] | "
            f"{np.mean(scores) - baselines['avellaneda_stoikov']['optimality_score']:+.3f} | "
            f"{np.mean(scores) - baselines['linear_skew_calibrated']['optimality_score']:+.3f} | {wall_run:.0f} s |"
        )
    lines += [
        "",
        f"Worlds at ≥ 0.95 (mean over seeds): {at_target} of {len(worlds)}.",
        f"Skipped (score undefined, symmetric quoting optimal): {', '.join(skipped) or 'none'}.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
