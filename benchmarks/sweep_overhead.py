"""The launcher's overhead: 4 training runs through Ray Tune at 2 at a time, against the same 4 runs one
after another by direct ``train()`` calls, in one benchmark run; and whether the final scores are
bit-identical either way (each run is seeded, and torch uses one thread in both).

Run: ``.venv/bin/python benchmarks/sweep_overhead.py [--steps 1000000]`` alone on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path

from train.config import load_config
from train.sweep import launcher
from train.sweep.cli import record
from train.sweep.runs import stored_result
from train.sweep.spec import Run, spec_from_dict
from train.trainer import train

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=4)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    overrides = {"total_timesteps": args.steps, "torch_threads": 1}
    base = str(ROOT / "configs" / "default.yaml")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        start = time.perf_counter()
        direct = {}
        for seed in range(args.runs):
            config = load_config(base, [f"{k}={v}" for k, v in overrides.items()] + [f"seed={seed}"])
            direct[seed] = train(config, root / "direct" / f"seed{seed}").metrics["optimality_score"]
        sequential = time.perf_counter() - start

        spec = spec_from_dict(
            {"name": "overhead", "seeds": list(range(args.runs)), "resources": {"cpus_per_run": 1}},
            ROOT,
            json.dumps(overrides),
        )
        runs = [Run("c", s, overrides, base, str(root / "ray" / "runs" / f"seed{s}")) for s in range(args.runs)]
        record(spec, root / "ray", runs)
        start = time.perf_counter()
        launcher.connect(None, 2)
        launcher.launch_runs(spec, root / "ray", runs)
        through_ray = time.perf_counter() - start
        via_ray = {run.seed: stored_result(Path(run.run_dir))["metrics"]["optimality_score"] for run in runs}
    print(f"{args.runs} runs of {args.steps:,} steps one after another: {sequential:.0f} s")
    print(f"the same through Ray, 2 at a time (Ray start included): {through_ray:.0f} s")
    print(f"speed-up: {sequential / through_ray:.2f}×")
    identical = all(direct[s] == via_ray[s] for s in direct)
    print(f"final optimality scores bit-identical: {identical} ({direct} vs {via_ray})")


if __name__ == "__main__":
    main()
