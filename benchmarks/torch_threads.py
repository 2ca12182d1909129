"""Wall time of short training runs with 1 and 2 torch threads, on a quiet machine and on a busy one.

"Busy" is one extra process spinning on a core for the whole measurement, as an evaluation, TensorBoard
or a second run would. Each case trains ``--runs`` runs one after another through ``train.train``, in
one process, on the default world with the default recipe; the figure is their total wall time.

Run: ``.venv/bin/python benchmarks/torch_threads.py [--runs 4] [--steps 200000]`` on an otherwise idle
machine (it prints one line per case and the busy/quiet slowdowns).
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
import warnings
from pathlib import Path

from train import load_config, train


def spin(stop: multiprocessing.Event) -> None:
    while not stop.is_set():
        sum(range(10_000))


def runs_wall_time(threads: int, runs: int, steps: int, root: Path) -> float:
    config = load_config(
        None,
        [
            f"torch_threads={threads}",
            f"total_timesteps={steps}",
            f"checkpoint_frequency={steps}",
            f"evaluation.frequency={steps}",
            "evaluation.episodes=100",
            "evaluation.baselines=[symmetric]",
        ],
    )
    start = time.perf_counter()
    for run in range(runs):
        train(config, root / f"threads{threads}-{time.monotonic_ns()}-{run}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--steps", type=int, default=200_000)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for load in ("quiet", "busy"):
            stop = multiprocessing.Event()
            burner = multiprocessing.Process(target=spin, args=(stop,)) if load == "busy" else None
            if burner is not None:
                burner.start()
            try:
                for threads in (1, 2):
                    results[load, threads] = runs_wall_time(threads, args.runs, args.steps, Path(folder))
                    print(
                        f"{load:>5} machine, torch_threads={threads}: {args.runs} runs of {args.steps:,} steps "
                        f"in {results[load, threads]:.1f} s",
                        flush=True,
                    )
            finally:
                stop.set()
                if burner is not None:
                    burner.join()
    for threads in (1, 2):
        print(f"torch_threads={threads}: busy/quiet = {results['busy', threads] / results['quiet', threads]:.2f}×")
    print(f"quiet: 2 threads / 1 thread = {results['quiet', 2] / results['quiet', 1]:.2f}×")
    print(f"busy:  2 threads / 1 thread = {results['busy', 2] / results['busy', 1]:.2f}×")


if __name__ == "__main__":
    main()
