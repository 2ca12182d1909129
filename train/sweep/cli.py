"""``python -m train.sweep``: seeds and hyperparameter sweeps on Ray Tune.

  run --spec FILE [--dir DIR] [--dry-run]   expand, validate and run a sweep (re-running resumes it)
  run --resume DIR                          resume an interrupted sweep
  status DIR                                runs done, started, pending and failed, from the run folders
  report DIR                                report.md, summary.json, results.csv, plots, hparams
  confirm DIR --top K --seeds SEEDS         re-run the K best configurations on fresh seeds

Exit codes: 0 done; 1 some runs failed twice (listed); 2 bad input; 130 interrupted (every run resumable).
``--address`` (or ``RAY_ADDRESS``, set by ``ray job submit``) runs on a Ray cluster instead of a private one.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from eval.files import atomic_write_json
from train.seeds import parse_seeds
from train.sweep.aggregate import SWEEP_FILE, collect, load_sweep, summarize_sweep, write_report
from train.sweep.runs import DONE, FAILED
from train.sweep.spec import Run, SweepSpec, expand, load_spec, spec_from_dict

FAILED_RUNS, BAD_INPUT, INTERRUPTED = 1, 2, 130


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m train.sweep", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = p.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run (or resume) a sweep")
    run.add_argument("--spec", type=Path, help="sweep spec YAML (e.g. configs/sweeps/demo.yaml)")
    run.add_argument("--dir", type=Path, help="sweep folder (default sweeps/<name>)")
    run.add_argument("--resume", type=Path, metavar="DIR", help="resume the sweep in DIR")
    run.add_argument("--dry-run", action="store_true", help="print the expanded runs and exit")
    for command in (run, commands.add_parser("confirm", help="re-run the best configurations on fresh seeds")):
        command.add_argument("--address", help="Ray cluster address (default: RAY_ADDRESS, else a private Ray)")
        command.add_argument("--num-cpus", type=int, help="CPUs of the private Ray (default: all cores)")
    commands.choices["confirm"].add_argument("dir", type=Path)
    commands.choices["confirm"].add_argument("--top", type=int, default=3)
    commands.choices["confirm"].add_argument("--seeds", required=True, help="fresh seeds, e.g. 100-104")
    commands.add_parser("status", help="progress from the run folders").add_argument("dir", type=Path)
    commands.add_parser("report", help="write the sweep's report").add_argument("dir", type=Path)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "status":
            print_status(args.dir)
            return 0
        if args.command == "report":
            summary = write_report(args.dir)
            print_table(summary)
            print(f"report: {args.dir / 'report' / 'report.md'}")
            return 0
        if args.command == "confirm":
            spec, sweep_dir, runs = prepare_confirm(args.dir, args.top, parse_seeds(args.seeds))
            return launch(spec, sweep_dir, runs, args.address, args.num_cpus)
        spec, sweep_dir = prepare_run(args)
        runs = expand(spec, sweep_dir) if spec.searcher != "optuna" else []
        if args.dry_run:
            print_runs(spec, runs)
            return 0
        record(spec, sweep_dir, runs)
        return launch(spec, sweep_dir, runs, args.address, args.num_cpus)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return BAD_INPUT


def prepare_run(args: argparse.Namespace) -> tuple[SweepSpec, Path]:
    """The spec and folder of ``run``; ``ValueError`` if a folder's recorded spec differs from the one given."""
    if args.resume is not None:
        if args.spec is not None or args.dir is not None:
            raise ValueError("--resume DIR takes the sweep's own spec; do not pass --spec or --dir")
        sweep = load_sweep(args.resume)
        spec = spec_from_dict(_yaml(sweep["spec_source"]), Path(sweep["spec_folder"]), sweep["spec_source"])
        return spec, args.resume.absolute()
    if args.spec is None:
        raise ValueError("run needs --spec FILE (or --resume DIR)")
    spec = load_spec(args.spec)
    sweep_dir = (args.dir or Path("sweeps") / spec.name).absolute()
    if (sweep_dir / SWEEP_FILE).is_file():
        recorded = load_sweep(sweep_dir)
        if recorded.get("spec_digest") != spec.digest:
            raise ValueError(
                f"{sweep_dir} holds a sweep of a different spec (its content changed); resuming would mix "
                "configurations: pass a new --dir, or restore the spec"
            )
        print(f"resuming the sweep in {sweep_dir}")
    return spec, sweep_dir


def _yaml(text: str) -> Any:
    import yaml

    return yaml.safe_load(text) or {}


def record(spec: SweepSpec, sweep_dir: Path, runs: list[Run]) -> None:
    """Write ``sweep.json`` (the spec's text and digest, and every planned run) once."""
    if (sweep_dir / SWEEP_FILE).is_file():
        return
    atomic_write_json(
        sweep_dir / SWEEP_FILE,
        {
            "name": spec.name,
            "spec_digest": spec.digest,
            "spec_source": spec.source,
            "spec_folder": str(spec.folder),
            "searcher": spec.searcher,
            "seeds": spec.seeds,
            "samples": spec.samples,
            "objective": dataclasses.asdict(spec.objective),
            "runs": [
                {
                    "config_id": run.config_id,
                    "seed": run.seed,
                    "axes": {k: v for k, v in run.overrides.items() if k not in spec.overrides},
                    "run_dir": run.run_dir,
                }
                for run in runs
            ],
        },
    )


def launch(spec: SweepSpec, sweep_dir: Path, runs: list[Run], address: str | None, num_cpus: int | None) -> int:
    """Run through Ray, then count completion from the run folders and write the report."""
    from train.sweep import launcher

    launcher.require_ray()
    where = launcher.connect(address, num_cpus)
    print(f"sweep {spec.name}: {len(runs) or spec.samples * len(spec.seeds)} runs on {where}; folder {sweep_dir}")
    interrupted = False
    try:
        if spec.searcher == "optuna":
            launcher.launch_optuna(spec, sweep_dir)
        else:
            launcher.launch_runs(spec, sweep_dir, runs)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        import ray

        ray.shutdown()
    summary = write_report(sweep_dir)
    print_table(summary)
    states = summary["runs"]
    incomplete = states["planned"] - states["done"] - states["failed"]
    if interrupted or incomplete:
        print(f"\ninterrupted: {incomplete} runs not finished; every run is resumable.")
        print(f"resume with: python -m train.sweep run --resume {sweep_dir}")
        return INTERRUPTED
    print(f"report: {sweep_dir / 'report' / 'report.md'}")
    print(f"tensorboard --logdir {sweep_dir}")
    return FAILED_RUNS if states["failed"] else 0


def prepare_confirm(sweep_dir: Path, top: int, seeds: list[int]) -> tuple[SweepSpec, Path, list[Run]]:
    """The K best configurations of a sweep, as a new sweep on fresh seeds in ``<sweep>/confirm-...``."""
    if top < 1:
        raise ValueError(f"--top must be ≥ 1; got {top}")
    sweep = load_sweep(sweep_dir)
    summary = summarize_sweep(collect(sweep_dir))
    chosen = summary["ranking"][:top]
    if not chosen:
        raise ValueError(f"{sweep_dir} has no finished configuration to confirm")
    used = set(sweep["seeds"])
    if used & set(seeds):
        raise ValueError(f"--seeds must be fresh: {sorted(used & set(seeds))} already chose the configurations")
    original = spec_from_dict(_yaml(sweep["spec_source"]), Path(sweep["spec_folder"]), sweep["spec_source"])
    name = f"confirm-top{top}-seeds{seeds[0]}-{seeds[-1]}"
    confirm_dir = (sweep_dir / name).absolute()
    runs = []
    for identifier in chosen:
        axes = summary["configurations"][identifier]["axes"]
        for seed in seeds:
            run_dir = confirm_dir / "runs" / f"{identifier}-seed{seed}"
            base = None if original.base is None else str(original.base)
            runs.append(Run(identifier, seed, {**original.overrides, **axes}, base, str(run_dir)))
    source = json.dumps({"confirm": sweep["spec_digest"], "top": chosen, "seeds": seeds})
    spec = dataclasses.replace(original, name=name, seeds=seeds, searcher="grid", source=source)
    record(spec, confirm_dir, runs)
    return spec, confirm_dir, runs


def print_runs(spec: SweepSpec, runs: list[Run]) -> None:
    if spec.searcher == "optuna":
        print(f"optuna: {spec.samples} configurations suggested from results, each × seeds {spec.seeds}")
        print("sampled axes: " + ", ".join(f"{k} {v}" for k, v in spec.sample.items()))
        return
    print(f"{len(runs)} runs ({len(runs) // len(spec.seeds)} configurations × {len(spec.seeds)} seeds):")
    for run in runs:
        axes = {k: v for k, v in run.overrides.items() if k not in spec.overrides}
        print(f"  {run.run_id}: {json.dumps(axes)}")


def print_status(sweep_dir: Path) -> None:
    collected = collect(sweep_dir)
    rows = collected["rows"]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    print(f"sweep {collected['sweep']['name']} in {sweep_dir}: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    for row in rows:
        if row["state"] == FAILED:
            print(f"  failed: {row['config_id']} seed {row['seed']}: {row.get('error')}")
    for row in rows:
        if row["state"] not in (DONE, FAILED) and row["run_dir"]:
            print(f"  {row['state']}: {row['config_id']} seed {row['seed']}")


def print_table(summary: dict[str, Any]) -> None:
    objective = summary["objective"]
    print(
        f"\n{'configuration':<22} {'n':>7} {'IQM':>7} {'95% CI':>17} {'mean':>7} {'worst':>7}  ({objective['metric']})"
    )
    for identifier in summary["ranking"] + [c for c in summary["configurations"] if c not in summary["ranking"]]:
        entry = summary["configurations"][identifier]
        seeds = [v for v in entry["per_seed"].values() if isinstance(v, (int, float))]
        low, high = entry["iqm_ci95"]
        worst = min(seeds) if seeds else float("nan")
        print(
            f"{identifier:<22} {entry['done']:>3}/{entry['planned']:<3} {entry['iqm']:>7.3f} "
            f"[{low:>6.3f}, {high:>6.3f}] {entry['mean']:>7.3f} {worst:>7.3f}"
        )
