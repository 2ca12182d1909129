"""Training quality: train each shipped config once and report what a researcher needs to trust it.

For each config: wall time, env-steps per second of the whole training loop, the final optimality
score with its bootstrap 95 % CI, and the paired reward gaps (learned − baseline, bootstrap 95 % CI) to
avellaneda_stoikov and to the calibrated linear skew, from a final evaluation on the config's
evaluation seeds with ``--episodes`` episodes.

Run: ``.venv/bin/python benchmarks/train_quality.py [--configs default as2008 toxic regimes] [--episodes 2000]``.
Runs go to ``runs/benchmark/<config>-<time>``; run alone on the machine for honest timings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

import numpy as np

from eval.metrics import bootstrap_indices, paired_difference
from train.config import load_config
from train.trainer import REPORT_DIR, train


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--configs", nargs="+", default=["default", "as2008", "toxic", "regimes"])
    parser.add_argument("--episodes", type=int, default=2000, help="episodes of the final evaluation")
    args = parser.parse_args()
    rows = []
    for name in args.configs:
        config = load_config(Path("configs") / f"{name}.yaml", [f"evaluation.episodes={args.episodes}"])
        run_dir = Path("runs") / "benchmark" / f"{name}-{dt.datetime.now():%Y%m%d-%H%M%S}"
        train(config, run_dir)
        timing = json.loads((run_dir / "training.json").read_text())
        metrics = json.loads((run_dir / REPORT_DIR / "metrics.json").read_text())["policies"]
        learned = metrics["learned"]
        rows.append((name, run_dir, timing, learned))
    print(
        "\n| config | wall time | env-steps/s | steps | optimality score (95 % CI) | − A–S (95 % CI) | − calibrated linear skew (95 % CI) |"
    )
    print("|---|---:|---:|---:|---|---|---|")
    for name, run_dir, timing, learned in rows:
        score = learned.get("optimality_score")
        score_text = (
            f"{score:.3f} [{learned['optimality_score_ci95'][0]:.3f}, {learned['optimality_score_ci95'][1]:.3f}]"
            if score is not None
            else "—"
        )
        gaps = [_gap(run_dir, baseline) for baseline in ("avellaneda_stoikov", "linear_skew_calibrated")]
        print(
            f"| {name} | {timing['wall_seconds']:.0f} s | {timing['env_steps_per_second']:,.0f} | "
            f"{timing['num_timesteps']:,} | {score_text} | {gaps[0]} | {gaps[1]} |"
        )


def _gap(run_dir: Path, baseline: str) -> str:
    """Paired learned − baseline reward from the final evaluation's per-episode rewards."""
    rewards = json.loads((run_dir / REPORT_DIR / "episode_rewards.json").read_text())
    if baseline not in rewards:
        return "—"
    learned, other = np.asarray(rewards["learned"]), np.asarray(rewards[baseline])
    paired = paired_difference(learned, other, bootstrap_indices(learned.size, 0))
    return f"{paired['mean']:+.2f} [{paired['ci95'][0]:+.2f}, {paired['ci95'][1]:+.2f}]"


if __name__ == "__main__":
    main()
