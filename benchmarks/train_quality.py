"""Training quality over seeds: train each shipped config on several seeds (through the seeds-and-sweeps
runner, in parallel up to the cores) and report what a researcher needs to trust it.

For each config: the final optimality score over seeds (mean, worst seed, IQM with its 95 % stratified
bootstrap CI), the mean paired reward gaps (learned − baseline, per episode: the difference of the means on
the report's common episodes) to avellaneda_stoikov and to the calibrated linear skew (for a dealer: to the
closed form and to the per-asset ladder; with informed flow, to the filter's closed form and the closed form), and
the wall time and env-steps per second of one run; then, per seed, the paired gap to the first of those baselines
with its bootstrap 95 % interval (whether the learned policy beats it, seed by seed).

Run: ``.venv/bin/python benchmarks/train_quality.py [--configs default toxic regimes demo hedged two_assets]
[--seeds 0-2]`` (the default list: the shipped single-asset configs with a defined score, and the dealer's
``two_assets``; ``as2008``'s score is undefined, symmetric quoting being its optimum, and it says so when named).
Runs go to ``sweeps/train_quality/runs/<config>-seed<k>`` (re-running resumes); run it alone on the machine
for honest timings.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from eval.metrics import bootstrap_indices, paired_difference
from train.seeds import parse_seeds
from train.sweep import launcher
from train.sweep.cli import record
from train.sweep.runs import stored_result
from train.sweep.spec import Run, spec_from_dict
from train.sweep.statistics import iqm, stratified_bootstrap_ci

ROOT = Path(__file__).resolve().parents[1]
# The comparators of the gap columns: a market with informed flow's, a market of several assets', a hedged world's,
# else a single-asset world's.
COMPARED = (  # the first group whose baselines a run has
    ("filtered_closed_form", "closed_form"),
    ("closed_form", "per_asset"),
    ("closed_form", "no_hedge"),
    ("avellaneda_stoikov", "linear_skew_calibrated"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=["default", "toxic", "regimes", "demo", "hedged", "two_assets"])
    parser.add_argument("--seeds", default="0-2")
    parser.add_argument("--dir", type=Path, default=ROOT / "sweeps" / "train_quality")
    args = parser.parse_args()
    seeds = parse_seeds(args.seeds)
    sweep_dir = args.dir.absolute()
    source = json.dumps({"configs": args.configs, "seeds": seeds})
    spec = spec_from_dict({"name": "train_quality", "seeds": seeds}, ROOT, source)
    runs = [
        Run(name, seed, {}, str(ROOT / "configs" / f"{name}.yaml"), str(sweep_dir / "runs" / f"{name}-seed{seed}"))
        for name in args.configs
        for seed in seeds
    ]
    record(spec, sweep_dir, runs)
    launcher.require_ray()
    print(launcher.connect(None, None), flush=True)
    launcher.launch_runs(spec, sweep_dir, runs)
    print(
        "\n| config | seeds | optimality score: mean | worst seed | IQM [95 % CI] | learned − baseline per episode | "
        "wall per run | env-steps/s |"
    )
    print("|---|---:|---:|---:|---|---|---:|---:|")
    for name in args.configs:
        results = [(Path(r.run_dir), stored_result(Path(r.run_dir))) for r in runs if r.config_id == name]
        scores = np.array([r["metrics"].get("optimality_score") or np.nan for _, r in results], dtype=float)
        compared = next((group for group in COMPARED if set(group) <= set(results[0][1]["baselines"])), ())
        gaps = (
            ", ".join(
                f"{baseline} {np.mean([_gap(result, baseline) for _, result in results]):+.3g}" for baseline in compared
            )
            or "—"
        )
        wall = np.mean([r["timing"]["wall_seconds"] for _, r in results])
        rate = np.mean([r["timing"]["env_steps_per_second"] for _, r in results])
        if np.all(np.isfinite(scores)):
            low, high = stratified_bootstrap_ci({name: scores}, iqm)
            score_text = f"{scores.mean():.3f} | {scores.min():.3f} | {iqm(scores):.3f} [{low:.3f}, {high:.3f}]"
        elif "optimal" in results[0][1]["baselines"]:
            score_text = "— | — | — (undefined: symmetric quoting is optimal)"
        elif compared:
            worst = min(_gap(result, compared[0]) for _, result in results)
            score_text = f"— | learned − {compared[0]} {worst:+.3g} | — (no optimum for this world: see the gaps)"
        else:
            score_text = "— | — | — (no optimum and no comparator)"
        print(f"| {name} | {len(results)} | {score_text} | {gaps} | {wall:.0f} s | {rate:,.0f} |")
    print()
    for name in args.configs:
        results = [(Path(r.run_dir), stored_result(Path(r.run_dir)), r.seed) for r in runs if r.config_id == name]
        compared = next((group for group in COMPARED if set(group) <= set(results[0][1]["baselines"])), ())
        for baseline in compared[:1]:
            paired = [f"seed {seed} {_paired(run_dir, baseline)}" for run_dir, _, seed in results]
            print(f"- {name}: learned − {baseline} per episode, paired bootstrap 95 % CI: {'; '.join(paired)}")


def _paired(run_dir: Path, baseline: str) -> str:
    """The final evaluation's learned − ``baseline`` over its common episodes with its bootstrap 95 % CI (from the
    report's per-episode rewards, resampled as the report resamples)."""
    rewards = json.loads((run_dir / "report" / "episode_rewards.json").read_text())
    learned, other = np.asarray(rewards["learned"]), np.asarray(rewards[baseline])
    seed = json.loads((run_dir / "report" / "metrics.json").read_text())["seed"]
    paired = paired_difference(learned, other, bootstrap_indices(learned.size, seed))
    low, high = paired["ci95"]
    return f"{paired['mean']:+.3g} [{low:+.3g}, {high:+.3g}]"


def _gap(result: dict, baseline: str) -> float:
    """Mean paired learned − baseline reward over the final evaluation's common episodes."""
    return float(result["metrics"]["reward_mean"] - result["baselines"][baseline]["reward_mean"])


if __name__ == "__main__":
    main()
