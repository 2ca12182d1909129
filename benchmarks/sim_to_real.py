"""The sim-to-real loop over training seeds: ``python -m train.sim_to_real DATA --seed S --out DIR/seedS`` for each
seed (calibrate on the capture's first half, train the shipped recipe on the calibrated market, score the learned
policy and the ladder in the calibrated simulator and replayed on the held-out half), then one table.

Per policy: its optimality score in simulation and on the replayed real flow (0 symmetric, 1 the calibrated market's
optimum; mean over the seeds' evaluations) and the reward gap real − simulated with its 95 % interval; the learned
policy per seed, with its worst seed. The first table is in the training-quality layout that
``benchmarks/results_table.py`` reads for the README: the learned policy's score on real flow, its worst seed, and its
mean reward per session minus each baseline's, on the same replayed sessions.

Run: ``.venv/bin/python benchmarks/sim_to_real.py [DATA] [--seeds 0-2] [--dir DIR] [--timesteps N]`` (each seed
trains for tens of minutes on 2 cores; re-running resumes the seeds' runs and redoes their scoring).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from train.seeds import parse_seeds

ROOT = Path(__file__).resolve().parents[1]
LEARNED = "learned"
COMPARED = ("avellaneda_stoikov", "glft", "linear_skew_calibrated", "optimal")


def run_seed(data: Path, out: Path, seed: int, timesteps: int) -> dict:
    """One seed's loop (``train.sim_to_real``); its ``gap/metrics.json``."""
    command = [sys.executable, "-m", "train.sim_to_real", str(data), "--out", str(out), "--seed", str(seed)]
    subprocess.run([*command, "--timesteps", str(timesteps)], cwd=ROOT, check=True)
    return json.loads((out / "gap" / "metrics.json").read_text())


def learned_entry(document: dict) -> dict:
    """The learned policy's entry (the ``run:`` policy) of one seed's document."""
    return next(entry for label, entry in document["policies"].items() if label.startswith("run:"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=ROOT / "examples" / "data" / "binance_spot_ethusdt")
    parser.add_argument("--seeds", default="0-2")
    parser.add_argument("--dir", type=Path, default=ROOT / "sweeps" / "sim_to_real")
    parser.add_argument("--timesteps", type=int, default=4_000_000)
    args = parser.parse_args()
    seeds = parse_seeds(args.seeds)
    documents = {seed: run_seed(args.data, args.dir / f"seed{seed}", seed, args.timesteps) for seed in seeds}
    name = f"sim_to_real_{args.data.name.split('.')[0]}"

    learned = {seed: learned_entry(document) for seed, document in documents.items()}
    real_scores = [learned[seed]["score"]["replayed"] for seed in seeds]
    first = documents[seeds[0]]
    print(f"## {args.data.name}: {first['replayed_sessions']} replayed sessions, fill rule `{first['fill_rule']}`\n")
    gaps = []
    for baseline in COMPARED:
        if baseline not in first["policies"]:
            continue
        differences = [
            learned[seed]["replayed"]["reward_mean"] - documents[seed]["policies"][baseline]["replayed"]["reward_mean"]
            for seed in seeds
        ]
        gaps.append((baseline, float(np.mean(differences))))
    header = "| config | seeds | optimality score: mean | worst seed | " + " | ".join(f"learned − {b}" for b, _ in gaps)
    print(header + " |")
    print("|---|---:|---:|---:|" + "---:|" * len(gaps))
    cells = " | ".join(f"{gap:+.3g}" for _, gap in gaps)
    print(f"| {name} | {len(seeds)} | {np.mean(real_scores):.3f} | {min(real_scores):.3f} | {cells} |")
    print(
        "\nScores on the replayed real flow; learned − baseline: mean reward per session [price], the same sessions.\n"
    )

    print("## Per policy: simulated against real\n")
    print("| policy | score sim | score real | reward sim | reward real | gap real − sim [95 % CI] |")
    print("|---|---:|---:|---:|---:|---|")
    rows = [(f"{LEARNED} seed {seed}", learned[seed]) for seed in seeds]
    rows += [(f"`{label}`", entry) for label, entry in first["policies"].items() if not label.startswith("run:")]
    undecided = []
    for label, entry in rows:
        scores = ["—" if value is None else f"{value:.3f}" for value in entry["score"].values()]
        gap = entry["gap"]
        print(
            f"| {label} | {scores[0]} | {scores[1]} | {entry['simulated']['reward_mean']:.4g} | "
            f"{entry['replayed']['reward_mean']:.4g} | {gap['mean']:+.4g} [{gap['ci95'][0]:+.4g}, {gap['ci95'][1]:+.4g}] |"
        )
        if gap["ci95"][0] <= 0.0 <= gap["ci95"][1]:
            undecided.append(label)
    worst = seeds[int(np.argmin(real_scores))]
    print(f"\nWorst seed on real flow: {worst} (score {min(real_scores):.3f}).")
    if undecided:
        print(
            f"Too short to conclude: for {', '.join(undecided)} the gap's interval holds zero "
            f"({first['replayed_sessions']} replayed sessions)."
        )


if __name__ == "__main__":
    main()
